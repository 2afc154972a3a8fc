"""A federated-fair feature scaler: per-party statistics that pool exactly.

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
unit scale, and keeping them 0/1 lets :func:`harness.data.balance.smote_balance` recognise and
re-round them after scaling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.data.checks import HINT_FEATURES, binary_columns, require_columns
from harness.errors import ConfigError, DataError


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
        require_columns(frame, self.features, what="scaling", hint=HINT_FEATURES)
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
    require_columns(frame, features, what="scaling", hint=HINT_FEATURES)
    if len(frame) == 0:
        raise DataError("cannot fit a scaler on zero rows", hint="check that the party has training rows")
    x = _log_transformed(frame, features, logs)
    mean = x.mean(axis=0)
    m2 = ((x - mean) ** 2).sum(axis=0)
    through = frozenset(binary_columns(frame, features) if passthrough is None else passthrough)
    stray = sorted(through - set(features))
    if stray:
        raise ConfigError(f"passthrough columns {', '.join(stray)} are not features")
    return Scaler(features, logs, through - logs, len(frame), tuple(mean.tolist()), tuple(m2.tolist()))


def _log_transformed(frame: pd.DataFrame, features: tuple[str, ...], logs: frozenset[str]) -> np.ndarray:
    """The features as a float matrix, log columns transformed; NaN or infinity is refused."""
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
    return x
