"""The security studies' data: the Lending Club scenario's own seed data, as numpy arrays per party.

Everything comes from the study's pipeline (``scenario.load`` then ``scenario.seed_data``): the same
prepared rows, 70/30 split, 25/25/50 partition, pooled scaling and per-party SMOTE as ``fatelab
experiment``, so an attack here hits the model the study trains. The cost study's growth points need more
features and parties than the data has: :func:`widen` and :func:`split_parties` make them, and say how.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.study.config import load_config
from harness.study.scenario import get_scenario
from harness.study.tables import SeedData


@dataclass(frozen=True)
class PartyArrays:
    """One seed: each data party's scaled, balanced training rows and the scaled test set."""

    seed: int
    features: tuple[str, ...]
    x: dict[str, np.ndarray]  # party id -> (rows, features) float32
    y: dict[str, np.ndarray]  # party id -> (rows,) float32 0/1
    x_test: np.ndarray
    y_test: np.ndarray
    seed_data: SeedData

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.x)

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """All parties' training rows together: the centralised model's data."""
        return np.concatenate(list(self.x.values())), np.concatenate(list(self.y.values()))


def load_seeds(data: Path, work_dir: Path, seeds: tuple[int, ...]) -> list[PartyArrays]:
    scenario = get_scenario("lending-club-homolr")
    config = load_config(data=data, work_dir=work_dir, sweep=False, seed=seeds[0])
    dataset = scenario.load(config)
    out = []
    for seed in seeds:
        seed_config = load_config(data=data, work_dir=work_dir, sweep=False, seed=seed)
        out.append(arrays_of(scenario.seed_data(dataset, seed_config)))
    return out


def arrays_of(data: SeedData) -> PartyArrays:
    cols = list(data.features)
    x = {p: data.federated[p].rows[cols].to_numpy(np.float32) for p in data.parties}
    y = {p: data.federated[p].rows[data.label].to_numpy(np.float32) for p in data.parties}
    return PartyArrays(
        seed=data.seed,
        features=data.features,
        x=x,
        y=y,
        x_test=data.test_pooled[cols].to_numpy(np.float32),
        y_test=data.test_pooled[data.label].to_numpy(np.float32),
        seed_data=data,
    )


def widen(x: np.ndarray, features: int, seed: int) -> np.ndarray:
    """``features`` columns: the real ones, then fixed random projections of them (for the cost grid only).

    The cost of protecting an update depends on how many values it has, not on what they mean; the extra
    columns are linear mixes of the real ones so that the local training step stays a real one.
    """
    d = x.shape[1]
    if features <= d:
        return x[:, :features].copy()
    rng = np.random.default_rng(seed)
    extra = x @ rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, features - d)).astype(x.dtype)
    return np.concatenate([x, extra], axis=1)


def split_parties(x: np.ndarray, y: np.ndarray, parties: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pooled training rows dealt into ``parties`` near-equal random shares (the cost grid's parties)."""
    order = np.random.default_rng(seed).permutation(len(x))
    return [(x[idx], y[idx]) for idx in np.array_split(order, parties)]
