"""The Lending Club study: three lenders, HomoLR, against centralised and local-only baselines.

Data: the Kaggle "Lending Club Loan Data" ``loan.csv`` layout, prepared by :mod:`harness.data.prepare`
(finished loans, the 17 study features, fixed one-hot categories); the bundled 5k-row 2011-Q4 sample by
default. Partition: ``config.partition`` (the study's 25/25/50 by size). Model: the study's HomoLR
(``config.model``); money columns (``config.log_columns``) get a signed log1p before scaling. Arms:
federated, centralized, local:<party> and the two-party distribution sweep (figures 4-2, 4-3).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness.data import prepare
from harness.errors import DataError
from harness.study.scenario import Dataset, file_sha256, say
from harness.study.tabular import TabularHomoLR

if TYPE_CHECKING:
    from harness.study.config import StudyConfig


def preparation_code_digest() -> str:
    """Prepared data is reused only while every module that shapes it is unchanged."""
    digest = hashlib.sha256()
    for module in prepare.preparation_modules():
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


class LendingClubHomoLR(TabularHomoLR):
    name = "lending-club-homolr"
    summary = "Lending Club loans, three lenders, FATE HomoLR vs centralised and local-only LR, plus the sweep"
    default_data = Path("data/loan_2011q4_head5k.csv")
    label = prepare.LABEL
    id_column = prepare.ID_COLUMN

    def load(self, config: StudyConfig) -> Dataset:
        """Prepare the input once per (input content, preparation code) and reuse it afterwards."""
        started = time.monotonic()
        if not config.data.exists():
            raise DataError(f"input file {config.data} does not exist", hint="pass --data PATH/TO/loan.csv")
        key = file_sha256(config.data)[:16] + "-" + preparation_code_digest()[:8]
        out_dir = config.work_dir / "prepared" / key
        card = prepare.prepared_card(out_dir)  # only a card that matches its prepared.csv
        if card is not None:
            say(f"prepared data reused from {out_dir}")
        else:
            say(f"preparing {config.data} ...")
            card = prepare.prepare_file(config.data, out_dir, progress=True)
        frame = pd.read_csv(out_dir / "prepared.csv")
        say(f"prepared: {card['rows_in']:,} rows in, {card['rows_out']:,} rows out, {len(card['features'])} features")
        features = tuple(prepare.feature_columns(frame.columns))
        return Dataset(frame, features, card["input"]["sha256"], card, time.monotonic() - started)

    def log_columns(self, config: StudyConfig) -> tuple[str, ...]:
        return tuple(config.log_columns)


SCENARIO = LendingClubHomoLR()
