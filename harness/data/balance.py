"""SMOTE on one party's training rows, with synthetic rows that cannot be told apart by their form.

SMOTE never sees test rows, and in the federated and local-only arms each party balances only its own
partition: no party's rows are ever interpolated with another party's. The centralised arm balances
the pooled training rows, which is the one thing only a centralised data holder can do.

The only random draw is imbalanced-learn's, seeded with ``seed``: for the same rows and seed the
output is the same to the bit (tests/test_split.py pins a digest of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE

from harness.data.checks import HINT_FEATURES, binary_columns, refuse_unlabelled, require_columns
from harness.errors import ConfigError, DataError

SYNTHETIC_GROUP = "SYNTH"
DEFAULT_K_NEIGHBORS = 5


def class_counts(labels: pd.Series) -> dict[str, int]:
    """Rows per class, keyed by the class as text, in class order (as results.json records them)."""
    counts = labels.value_counts().sort_index()
    return {str(k): int(v) for k, v in counts.items()}


def smote_balance(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    label: str = "loan_status",
    seed: int,
    k_neighbors: int = DEFAULT_K_NEIGHBORS,
    id_column: str | None = "sample_id",
    id_offset: int | None = None,
    id_prefix: str = "synth-",
    group_column: str | None = "addr_state",
    synthetic_group: str = SYNTHETIC_GROUP,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Oversample the minority class of ONE party's training rows with SMOTE, up to the majority count.

    Never pass test rows: test sets are evaluated as they are. In the federated and local-only arms
    call this once per party on that party's own partition only.

    Returns ``(balanced, info)``. ``balanced`` has the same columns; the real rows come first with their
    index unchanged, then the synthetic rows. Synthetic rows get:

    * sample IDs that cannot collide with real ones: integer IDs continue from ``id_offset`` (default:
      this frame's largest ID + 1; pass a per-party block from
      :func:`harness.data.split.synthetic_id_offsets` to keep IDs unique across parties), string IDs
      become ``id_prefix + number``;
    * ``synthetic_group`` (``"SYNTH"``) in the group column: a synthetic loan lies between two real
      ones and belongs to no state;
    * binary (one-hot/flag) features rounded and clipped to 0/1. SMOTE interpolates
      ``x + u * (neighbour - x)``, which turns one-hot columns into fractions such as
      ``home_ownership_RENT = 0.37``: values no real loan or test row can have, which an LR would be
      free to exploit to tell synthetic rows apart. Rounding yields the category of the nearer parent.
    * NaN in any other column that is not a feature, the label, the ID or the group.

    Small partitions: ``k_neighbors`` is reduced to (minority rows - 1) when needed; with fewer than 2
    minority rows, a single class, or classes already equal, the rows are returned unchanged and
    ``info["skipped"]`` says why. ``info`` has rows_before, rows_after, class_counts_before,
    class_counts_after, k_neighbors (used, or None), n_synthetic, synthetic_ids, skipped.
    """
    x = _checked_features(frame, features, label, k_neighbors, id_column)
    before = class_counts(frame[label])
    info = _unchanged_info(len(frame), before)
    skipped = _why_not_balanced(before)
    if skipped is not None:
        info["skipped"] = skipped
        return frame.copy(), info
    k = min(k_neighbors, min(before.values()) - 1)
    synth = _synthetic_rows(frame, x, features, label, seed, k)
    if id_column is not None:
        new_ids, info["synthetic_ids"] = _synthetic_ids(frame[id_column], len(synth), id_offset, id_prefix)
        synth[id_column] = new_ids
    if group_column is not None and group_column in frame.columns:
        synth[group_column] = synthetic_group
    balanced = pd.concat([frame, _laid_out_like(synth, frame)], axis=0)
    info.update(
        rows_after=len(balanced),
        class_counts_after=class_counts(balanced[label]),
        k_neighbors=k,
        n_synthetic=len(synth),
    )
    return balanced, info


def _checked_features(
    frame: pd.DataFrame, features: Sequence[str], label: str, k_neighbors: int, id_column: str | None
) -> np.ndarray:
    """The feature matrix SMOTE interpolates, after refusing input it cannot balance meaningfully."""
    require_columns(frame, [*features, label], what="SMOTE", hint=HINT_FEATURES)
    if id_column is not None:
        require_columns(frame, [id_column], what="SMOTE", hint=HINT_FEATURES)
    if not features:
        raise ConfigError("SMOTE needs at least one feature column")
    if isinstance(k_neighbors, bool) or not isinstance(k_neighbors, int) or k_neighbors < 1:
        raise ConfigError(f"k_neighbors must be a positive integer, got {k_neighbors!r}", hint="default is 5")
    x = frame[list(features)].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise DataError(
            "SMOTE input has NaN or infinite feature values",
            hint="impute missing values in data preparation before balancing",
        )
    refuse_unlabelled(frame, label)
    return x


def _unchanged_info(rows: int, before: dict[str, int]) -> dict[str, Any]:
    return {
        "rows_before": rows,
        "rows_after": rows,
        "class_counts_before": before,
        "class_counts_after": before,
        "k_neighbors": None,
        "n_synthetic": 0,
        "synthetic_ids": None,
        "skipped": None,
    }


def _why_not_balanced(counts: dict[str, int]) -> str | None:
    """Why these class counts are returned as they are, or None when SMOTE applies."""
    if len(counts) < 2:
        only = next(iter(counts), "none")
        return f"only one class ({only}) in this partition; nothing to balance against"
    minority = min(counts.values())
    if minority == max(counts.values()):
        return "classes already balanced"
    if minority < 2:
        return f"minority class has {minority} row; SMOTE needs at least 2 to interpolate"
    return None


def _synthetic_rows(
    frame: pd.DataFrame, x: np.ndarray, features: Sequence[str], label: str, seed: int, k: int
) -> pd.DataFrame:
    """SMOTE's new rows only: the features (binary ones re-rounded, dtypes restored) and the label."""
    y = frame[label].to_numpy()
    x_res, y_res = SMOTE(k_neighbors=k, random_state=seed).fit_resample(x, y)
    # imbalanced-learn appends the synthetic samples after the untouched originals.
    if not np.array_equal(x_res[: len(frame)], x):
        raise DataError("SMOTE reordered the original rows; the imbalanced-learn version is unsupported")
    synth = pd.DataFrame(x_res[len(frame) :], columns=list(features))
    for col in binary_columns(frame, features):
        synth[col] = np.clip(np.round(synth[col].to_numpy()), 0, 1)
    for col in features:
        _restore_dtype(synth, col, frame[col].dtype)
    synth[label] = pd.Series(y_res[len(frame) :]).astype(frame[label].dtype).to_numpy()
    return synth


def _restore_dtype(synth: pd.DataFrame, col: str, original: Any) -> None:
    # SMOTE works in floats; an integer or flag column whose new values are whole keeps its dtype, so
    # prepared.csv's int8 one-hot columns stay int8 after balancing.
    if pd.api.types.is_bool_dtype(original) or pd.api.types.is_integer_dtype(original):
        values = synth[col].to_numpy()
        if np.all(values == np.round(values)):
            synth[col] = values.astype(original)


def _synthetic_ids(
    real: pd.Series, n_new: int, id_offset: int | None, id_prefix: str
) -> tuple[np.ndarray | list[str], str]:
    """New sample IDs and how they were made (for info["synthetic_ids"]); never a real row's ID."""
    if pd.api.types.is_integer_dtype(real.dtype):
        top = int(real.max()) if len(real) else -1
        start = top + 1 if id_offset is None else int(id_offset)
        if start <= top:
            raise DataError(
                f"id_offset {start} is not above the largest real sample ID {top}; "
                "synthetic IDs would collide",
                hint="use synthetic_id_offsets() on the whole prepared table to get per-party offsets",
            )
        return np.arange(start, start + n_new, dtype=real.dtype), f"integers from {start}"
    start = 0 if id_offset is None else int(id_offset)
    new = [f"{id_prefix}{start + i}" for i in range(n_new)]
    clash = set(new) & set(real.astype(str))
    if clash:
        raise DataError(
            f"synthetic sample IDs such as {sorted(clash)[0]!r} already exist",
            hint="pass a different id_prefix, e.g. including the party ID",
        )
    return new, f"strings {id_prefix}{start}..."


def _laid_out_like(synth: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """``synth`` with ``frame``'s columns in its order (NaN where SMOTE has no value) and a new index."""
    for col in frame.columns:
        if col not in synth.columns:
            synth[col] = np.nan
    synth = synth[list(frame.columns)]
    synth.index = _synthetic_index(frame.index, len(synth))
    return synth


def _synthetic_index(index: pd.Index, n_new: int) -> pd.Index:
    if pd.api.types.is_integer_dtype(index.dtype) and len(index):
        start = int(index.max()) + 1
        return pd.RangeIndex(start, start + n_new)
    return pd.Index([f"synthetic-{i}" for i in range(n_new)])
