"""Train/test split, per-party SMOTE balancing, and a federated-fair feature scaler.

Order of operations for every arm (centralised, local-only, federated)::

    prepared -> stratified_split -> (test set kept aside, never balanced)
             -> partition train rows among parties
             -> per party: fit_scaler on its own real training rows
             -> combine scalers as the arm allows (see below), transform train and test
             -> per party: smote_balance on its own scaled training rows -> train

SMOTE never sees test rows, and in the federated and local-only arms each party balances only its own
partition: no party's rows are ever interpolated with another party's. The centralised arm balances
the pooled training rows, which is the one thing only a centralised data holder can do.

Scaling
-------
FATE 2.2's HomoLR feeds the features to a ``torch.nn.Linear`` unchanged, and RMSProp with a learning
rate around 0.01 cannot move a weight far enough for ``annual_inc`` (~1e5) in 20-30 epochs, nor
stably handle features on wildly different scales. So features are scaled in two steps:

1. Fixed, public transforms that need no data: a signed ``log1p`` for heavy-tailed money columns
   (``log_columns``, e.g. annual_inc, revol_bal). Every party applies the same function.
2. Standardisation ``(x - mean) / std`` where mean and std come from *sufficient statistics*
   ``(n, mean, M2)`` per feature. :func:`fit_scaler` computes them on one party's own rows;
   :meth:`Scaler.merge` pools several parties' statistics exactly (Chan et al.'s parallel variance),
   so the merged scaler equals one fitted on the union of the rows while only per-feature counts,
   means and variances leave a party - the aggregate a secure-aggregation round would reveal.
   Use the merged scaler for the federated arm (all parties and the shared test set then use one
   transform, so FedAvg averages weights that mean the same thing), the pooled fit for the
   centralised arm (identical numbers), and each party's own scaler for its local-only model.
   FATE 2.2 has no homo feature-scaling component, so this step runs in the harness before upload.

Binary columns (values only 0/1, e.g. one-hot) are passed through unscaled: they are already on a
unit scale, and keeping them 0/1 lets :func:`smote_balance` recognise and re-round them after scaling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

from harness.errors import ConfigError, DataError

SYNTHETIC_GROUP = "SYNTH"
DEFAULT_K_NEIGHBORS = 5


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what}: column(s) {', '.join(map(str, missing))} not in the data",
            hint="check the feature list against the prepared data's columns",
        )


def _class_counts(labels: pd.Series) -> dict[str, int]:
    counts = labels.value_counts().sort_index()
    return {str(k): int(v) for k, v in counts.items()}


def stratified_split(
    frame: pd.DataFrame, *, label: str = "loan_status", test_size: float = 0.3, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test) with the label's class mix kept in both; index preserved."""
    _require_columns(frame, [label], "stratified split")
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1, got {test_size}", hint="e.g. test_size: 0.3")
    if frame[label].isna().any():
        raise DataError(
            f"{int(frame[label].isna().sum())} rows have no {label!r}", hint="drop unlabelled rows"
        )
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


def binary_columns(frame: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """Features whose values are all 0 or 1 (one-hot and flag columns)."""
    out = []
    for col in features:
        values = frame[col].to_numpy()
        if values.dtype == bool or np.isin(values, (0, 1)).all():
            out.append(col)
    return out


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


def _synthetic_ids(
    real: pd.Series, n_new: int, id_offset: int | None, id_prefix: str
) -> tuple[np.ndarray | list[str], str]:
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
      this frame's largest ID + 1; pass a per-party block from :func:`synthetic_id_offsets` to keep
      IDs unique across parties), string IDs become ``id_prefix + number``;
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
    _require_columns(frame, [*features, label], "SMOTE")
    if id_column is not None:
        _require_columns(frame, [id_column], "SMOTE")
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
    if frame[label].isna().any():
        raise DataError(
            f"{int(frame[label].isna().sum())} rows have no {label!r}", hint="drop unlabelled rows"
        )

    before = _class_counts(frame[label])
    info: dict[str, Any] = {
        "rows_before": len(frame),
        "rows_after": len(frame),
        "class_counts_before": before,
        "class_counts_after": before,
        "k_neighbors": None,
        "n_synthetic": 0,
        "synthetic_ids": None,
        "skipped": None,
    }
    if len(before) < 2:
        only = next(iter(before), "none")
        info["skipped"] = f"only one class ({only}) in this partition; nothing to balance against"
        return frame.copy(), info
    minority = min(before.values())
    if minority == max(before.values()):
        info["skipped"] = "classes already balanced"
        return frame.copy(), info
    if minority < 2:
        info["skipped"] = f"minority class has {minority} row; SMOTE needs at least 2 to interpolate"
        return frame.copy(), info

    k = min(k_neighbors, minority - 1)
    y = frame[label].to_numpy()
    x_res, y_res = SMOTE(k_neighbors=k, random_state=seed).fit_resample(x, y)
    # imbalanced-learn appends the synthetic samples after the untouched originals.
    if not np.array_equal(x_res[: len(frame)], x):
        raise DataError("SMOTE reordered the original rows; the imbalanced-learn version is unsupported")
    n_new = len(x_res) - len(frame)
    synth = pd.DataFrame(x_res[len(frame) :], columns=list(features))
    for col in binary_columns(frame, features):
        synth[col] = np.clip(np.round(synth[col].to_numpy()), 0, 1)
    for col in features:
        original = frame[col].dtype
        if pd.api.types.is_bool_dtype(original) or pd.api.types.is_integer_dtype(original):
            values = synth[col].to_numpy()
            if np.all(values == np.round(values)):
                synth[col] = values.astype(original)
    synth[label] = pd.Series(y_res[len(frame) :]).astype(frame[label].dtype).to_numpy()
    if id_column is not None:
        new_ids, described = _synthetic_ids(frame[id_column], n_new, id_offset, id_prefix)
        synth[id_column] = new_ids
        info["synthetic_ids"] = described
    if group_column is not None and group_column in frame.columns:
        synth[group_column] = synthetic_group
    for col in frame.columns:
        if col not in synth.columns:
            synth[col] = np.nan
    synth = synth[list(frame.columns)]
    synth.index = _synthetic_index(frame.index, n_new)
    balanced = pd.concat([frame, synth], axis=0)
    info.update(
        rows_after=len(balanced),
        class_counts_after=_class_counts(balanced[label]),
        k_neighbors=k,
        n_synthetic=n_new,
    )
    return balanced, info


def _synthetic_index(index: pd.Index, n_new: int) -> pd.Index:
    if pd.api.types.is_integer_dtype(index.dtype) and len(index):
        start = int(index.max()) + 1
        return pd.RangeIndex(start, start + n_new)
    return pd.Index([f"synthetic-{i}" for i in range(n_new)])


# --------------------------------------------------------------------------- scaling


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


@dataclass(frozen=True)
class Scaler:
    """Fitted feature transform: signed log1p on ``log_columns``, then standardisation.

    Holds the sufficient statistics ``n``, ``mean`` and ``m2`` (sum of squared deviations) of the
    log-transformed features, so that parties' scalers can be merged exactly without sharing rows.
    Columns in ``passthrough`` (binary) are left unchanged by :meth:`transform`.
    """

    features: tuple[str, ...]
    log_columns: frozenset[str]
    passthrough: frozenset[str]
    n: int
    mean: tuple[float, ...]
    m2: tuple[float, ...]

    @property
    def std(self) -> tuple[float, ...]:
        # Population std, as scikit-learn's StandardScaler; a constant column keeps std 1 (no blow-up).
        out = []
        for m2 in self.m2:
            s = math.sqrt(m2 / self.n) if self.n else 0.0
            out.append(s if s > 1e-12 else 1.0)
        return tuple(out)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with the features scaled (float64); other columns untouched."""
        _require_columns(frame, self.features, "scaling")
        out = frame.copy()
        for col, mean, std in zip(self.features, self.mean, self.std, strict=True):
            if col in self.passthrough:
                continue
            values = frame[col].to_numpy(dtype=float)
            if col in self.log_columns:
                values = _signed_log1p(values)
            out[col] = (values - mean) / std
        return out

    @classmethod
    def merge(cls, scalers: Sequence[Scaler]) -> Scaler:
        """Pool several parties' scalers as if fitted on the union of their rows.

        A column stays pass-through only if it is binary at every party.
        """
        if not scalers:
            raise ConfigError("no scalers to merge")
        first = scalers[0]
        for other in scalers[1:]:
            if other.features != first.features or other.log_columns != first.log_columns:
                raise ConfigError(
                    "scalers to merge were fitted on different features or log columns",
                    hint="fit every party's scaler with the same features and log_columns",
                )
        n = 0
        mean = np.zeros(len(first.features))
        m2 = np.zeros(len(first.features))
        for s in scalers:
            nb, mb, m2b = s.n, np.asarray(s.mean), np.asarray(s.m2)
            total = n + nb
            if total == 0:
                continue
            delta = mb - mean
            mean = mean + delta * nb / total
            m2 = m2 + m2b + delta**2 * n * nb / total
            n = total
        passthrough = frozenset.intersection(*(s.passthrough for s in scalers))
        return cls(
            first.features, first.log_columns, passthrough, n, tuple(mean.tolist()), tuple(m2.tolist())
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, for the results record."""
        return {
            "features": list(self.features),
            "log_columns": sorted(self.log_columns),
            "passthrough": sorted(self.passthrough),
            "n": self.n,
            "mean": list(self.mean),
            "m2": list(self.m2),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scaler:
        return cls(
            tuple(data["features"]),
            frozenset(data["log_columns"]),
            frozenset(data["passthrough"]),
            int(data["n"]),
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["m2"]),
        )


def fit_scaler(
    frame: pd.DataFrame,
    features: Sequence[str],
    *,
    log_columns: Iterable[str] = (),
    passthrough: Iterable[str] | None = None,
) -> Scaler:
    """Fit a :class:`Scaler` on these rows only (one party's real training rows, before SMOTE).

    ``passthrough`` defaults to the binary columns among ``features``.
    """
    features = tuple(features)
    if not features:
        raise ConfigError("no features to scale")
    logs = frozenset(log_columns)
    unknown = sorted(logs - set(features))
    if unknown:
        raise ConfigError(
            f"log columns {', '.join(unknown)} are not features", hint="list only feature columns"
        )
    _require_columns(frame, features, "scaling")
    if len(frame) == 0:
        raise DataError("cannot fit a scaler on zero rows", hint="check that the party has training rows")
    x = frame[list(features)].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        bad = [c for c, ok in zip(features, np.isfinite(x).all(axis=0), strict=True) if not ok]
        raise DataError(
            f"features {', '.join(bad[:5])} have NaN or infinite values",
            hint="impute missing values in data preparation",
        )
    for j, col in enumerate(features):
        if col in logs:
            x[:, j] = _signed_log1p(x[:, j])
    mean = x.mean(axis=0)
    m2 = ((x - mean) ** 2).sum(axis=0)
    through = frozenset(binary_columns(frame, features) if passthrough is None else passthrough)
    stray = sorted(through - set(features))
    if stray:
        raise ConfigError(f"passthrough columns {', '.join(stray)} are not features")
    return Scaler(features, logs, through - logs, len(frame), tuple(mean.tolist()), tuple(m2.tolist()))
