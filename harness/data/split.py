"""Train/test split and the blocks of sample IDs that SMOTE's synthetic rows take.

Order of operations for every arm (centralised, local-only, federated)::

    prepared -> stratified_split -> (test set kept aside, never balanced)
             -> partition train rows among parties            (harness.data.partition)
             -> per party: fit_scaler on its own real training rows   (harness.data.scaling)
             -> combine scalers as the arm allows, transform train and test
             -> per party: smote_balance on its own scaled training rows -> train  (harness.data.balance)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from harness.data.checks import HINT_FEATURES, refuse_unlabelled, require_columns
from harness.errors import ConfigError, DataError


def stratified_split(
    frame: pd.DataFrame, *, label: str = "loan_status", test_size: float = 0.3, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test) with the label's class mix kept in both; index preserved."""
    require_columns(
        frame, [label], what="stratified split", hint=HINT_FEATURES
    )
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1, got {test_size}", hint="e.g. test_size: 0.3")
    refuse_unlabelled(frame, label)
    counts = frame[label].value_counts()
    if len(counts) < 2:
        raise DataError(
            f"{label!r} has a single class ({counts.index[0]!r}); a classifier needs both",
            hint="check the label mapping in data preparation",
        )
    if counts.min() < 2:
        raise DataError(
            f"class {counts.idxmin()!r} has only {int(counts.min())} row; a stratified split needs 2",
            hint="use more data",
        )
    try:
        train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[label])
    except ValueError as exc:
        raise DataError(f"cannot split {len(frame)} rows with test_size={test_size}: {exc}") from exc
    return train, test


def synthetic_id_offsets(sample_ids: pd.Series, party_ids: Sequence[str]) -> dict[str, int]:
    """A block of integer sample IDs per party for SMOTE's synthetic rows, above every real ID.

    Call on the whole prepared table before partitioning. Each block is ``10**d`` wide with
    ``10**d > max(max real ID, row count)``; a party can create fewer synthetic rows than there are
    rows in total, so blocks never overlap each other or the real IDs.
    """
    ids = pd.to_numeric(sample_ids, errors="coerce")
    if ids.isna().any() or (ids < 0).any() or not np.all(np.mod(ids, 1) == 0):
        raise DataError(
            "sample IDs are not non-negative integers; integer offsets do not apply",
            hint="for string IDs pass id_prefix (e.g. 'synth-9999-') to smote_balance instead",
        )
    width = 10 ** len(str(int(max(int(ids.max()), len(ids)))))
    return {str(pid): width * (k + 1) for k, pid in enumerate(party_ids)}
