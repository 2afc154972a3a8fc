"""Server-side aggregation rules as pure functions: rows are the parties' model vectors (weights + bias).

``fedavg`` is FATE 2.2's rule (the row-weighted mean, ``fate/ml/nn/homo/fedavg.py``); the robust ones are the
textbook rules FATE 2.2 does not ship: coordinate-wise median and trimmed mean (Yin et al., ICML 2018) and
Krum (Blanchard et al., NeurIPS 2017). With three parties the trimmed mean drops the lowest and the highest
value per coordinate, which leaves the median; Krum assumes ``f`` attackers and needs ``n > 2f + 2`` for its
guarantee, which three parties cannot give for ``f = 1`` - it still picks the update closest to the others,
and the study reports what that does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check(updates: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(updates, dtype=float)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if u.ndim != 2 or len(u) == 0 or len(w) != len(u) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need a (parties, dim) matrix and one non-negative weight per party: {u.shape}, {w}")
    return u, w


def fedavg(updates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    u, w = _check(updates, weights)
    return (w[:, None] * u).sum(axis=0) / w.sum()


def median(updates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    u, _ = _check(updates, weights)
    return np.median(u, axis=0)


def trimmed_mean(updates: np.ndarray, weights: np.ndarray, trim: int = 1) -> np.ndarray:
    """Per coordinate, the mean after dropping the ``trim`` lowest and ``trim`` highest values."""
    u, _ = _check(updates, weights)
    keep = len(u) - 2 * trim
    if keep < 1:
        raise ValueError(f"cannot trim {trim} from each side of {len(u)} parties")
    return np.sort(u, axis=0)[trim : trim + keep].mean(axis=0)


def krum(updates: np.ndarray, weights: np.ndarray, attackers: int = 1) -> np.ndarray:
    """The update whose ``n - f - 2`` nearest others are closest (at least one neighbour)."""
    u, _ = _check(updates, weights)
    n = len(u)
    neighbours = max(1, n - attackers - 2)
    dist = ((u[:, None, :] - u[None, :, :]) ** 2).sum(axis=2)
    scores = [np.sort(np.delete(dist[i], i))[:neighbours].sum() for i in range(n)]
    return u[int(np.argmin(scores))].copy()


AGGREGATORS: dict[str, Aggregator] = {
    "fedavg": fedavg,
    "median": median,
    "trimmed_mean": trimmed_mean,
    "krum": krum,
}


def get(name: str) -> Aggregator:
    return AGGREGATORS[name]


def names() -> Sequence[str]:
    return tuple(AGGREGATORS)
