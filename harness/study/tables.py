"""One seed of a tabular study: split, partition, scale and balance; each party's rows as a CSV table.

Scaling statistics are pooled from per-party summaries (count, mean, M2), never from rows; SMOTE runs
on training rows only, per party (a party sees only its own rows). The test set is never balanced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.data.balance import smote_balance
from harness.data.partition import Partitioner
from harness.data.scaling import Scaler, fit_scaler
from harness.data.split import stratified_split, synthetic_id_offsets
from harness.engines.base import UploadRequest
from harness.errors import DataError
from harness.output_pair import replace_file
from harness.study.scenario import CENTRALIZED

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

# Who draws synthetic SMOTE ids from its own block: the data parties, the centralised arm, the sweep's
# parties. The order fixes each block (synthetic_id_offsets), so it must not change between releases.
SWEEP_BLOCK = "sweep:"


@dataclass(frozen=True)
class PartyTrain:
    rows: pd.DataFrame  # scaled and balanced training rows: id, features, label
    real_rows: int
    smote: dict[str, Any]


@dataclass(frozen=True)
class SeedData:
    """Everything the arms of one seed train and score on."""

    seed: int
    label: str
    id_column: str
    features: tuple[str, ...]
    train: pd.DataFrame  # unscaled training rows, all parties
    test: pd.DataFrame  # unscaled test rows
    parts: Mapping[str, pd.DataFrame]  # unscaled training rows per data party
    scalers: Mapping[str, Scaler]  # each party's own statistics
    pooled: Scaler  # pooled from the parties' summaries
    test_pooled: pd.DataFrame
    offsets: Mapping[str, int]  # first synthetic id per block
    federated: Mapping[str, PartyTrain]  # each party's scaled, balanced rows for the federated fit

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.parts)


def balance(
    frame: pd.DataFrame, features: Sequence[str], config: StudyConfig, id_offset: int, *, label: str = "loan_status"
) -> PartyTrain:
    """SMOTE one party's (or the pooled) scaled training rows, seeded by ``config.seed``."""
    if config.balance == "none":
        info = {"skipped": "balancing disabled (balance: none)", "rows_before": len(frame), "rows_after": len(frame)}
        return PartyTrain(frame, len(frame), info)
    rows, info = smote_balance(frame, features=features, label=label, seed=config.seed, id_offset=id_offset)
    info = {k: v for k, v in info.items() if k != "synthetic_ids"}
    return PartyTrain(rows, len(frame), info)


def seed_data(
    frame: pd.DataFrame,
    features: Sequence[str],
    config: StudyConfig,
    *,
    partitioner: Partitioner,
    label: str,
    id_column: str,
    log_columns: Sequence[str],
) -> SeedData:
    """Split -> partition -> scale -> balance, all seeded by ``config.seed``."""
    parties = list(config.data_parties())
    train, test = stratified_split(frame, label=label, test_size=config.test_size, seed=config.seed)
    parts = partitioner.partition(train, config.seed)
    check_both_classes(parts, parties, label, config.seed)
    sweep = list(config.sweep.parties) if config.sweep.enabled else []
    offsets = synthetic_id_offsets(frame[id_column], [*parties, CENTRALIZED, *[SWEEP_BLOCK + p for p in sweep]])
    scalers = {p: fit_scaler(parts[p], features, log_columns=log_columns) for p in parties}
    pooled = Scaler.merge([scalers[p] for p in parties])
    federated = {p: balance(pooled.transform(parts[p]), features, config, offsets[p], label=label) for p in parties}
    return SeedData(
        seed=config.seed,
        label=label,
        id_column=id_column,
        features=tuple(features),
        train=train,
        test=test,
        parts={p: parts[p] for p in parties},
        scalers=scalers,
        pooled=pooled,
        test_pooled=pooled.transform(test),
        offsets=offsets,
        federated=federated,
    )


def check_both_classes(parts: Mapping[str, pd.DataFrame], parties: Sequence[str], label: str, seed: int) -> None:
    """A party holding one class cannot train a classifier of its own (its local-only arm, its share of the
    federated fit): a DataError naming the seed, so a multi-seed run reports the seed as excluded."""
    for p in parties:
        counts = parts[p][label].value_counts()
        if len(counts) < 2:
            only = ", ".join(f"{k!r}" for k in counts.index) or "none"
            raise DataError(
                f"seed {seed}: the partition left party {p} with one class only ({label} = {only}, "
                f"{len(parts[p]):,} rows)",
                hint="give that party a larger share, stratify the partition, or use more rows",
            )


def upload_request(
    party: str,
    frame: pd.DataFrame,
    features: Sequence[str],
    directory: Path,
    tag: str,
    *,
    label: str = "loan_status",
    id_column: str = "sample_id",
) -> UploadRequest:
    """Write id, features, label as ``<tag>_<digest>.csv`` for ``party``'s FATE.

    The name carries a digest of the content, so an unchanged table is neither rewritten nor uploaded again.
    An empty ``label`` writes no label column (a vertical fit's host holds none).
    """
    payload = frame[[id_column, *features, *([label] if label else [])]].to_csv(index=False).encode()
    digest = hashlib.sha256(payload).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{tag}_{digest[:12]}.csv"
    if not path.exists():
        replace_file(path, payload)
    return UploadRequest(
        party_id=party,
        path=path.resolve(),
        name=f"{tag}_{digest[:12]}",
        rows=len(frame),
        label=label,
        id_column=id_column,
        sha256=digest,
    )
