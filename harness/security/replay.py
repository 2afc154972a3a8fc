"""FATE 2.2 HomoLR's federated training, replayed in this process, with a pluggable aggregator and attacker.

Each party trains exactly like :class:`harness.model.logreg.LocalLogisticRegression` (float32 ``Linear``,
BCE, gradient clipping to norm 1, the study's optimizer with L2 as weight decay, constant scheduler; the
replica ``tests/test_logreg.py::test_matches_fate_homolr_client`` checks against FATE's own HomoLRClient),
keeps its optimizer state between rounds as FATE's Trainer does, and after every epoch hands its
``[weights, bias]`` to the aggregator; the result replaces every party's parameters (FATE's FedAvg copies
the aggregate into the model in place). ``fedavg`` weighted by rows is FATE's own rule; with it a one-party
replay is the local trainer exactly (tested), and the full-size run compares it with a real FATE HomoLR fit.

An attacker is a function of (party, round, its honest vector, the previous global vector) returning what
it sends; the identity is an honest party.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from harness.errors import ConfigError
from harness.model.logreg import _OPTIMIZERS, _SCHEDULERS, HomoLRSettings
from harness.security import aggregators

Attack = Callable[[str, int, np.ndarray, np.ndarray], np.ndarray]


def honest(party: str, round_: int, vector: np.ndarray, previous: np.ndarray) -> np.ndarray:
    return vector


@dataclass(frozen=True)
class Model:
    """A logistic regression's weights and bias (float64 copies of FATE's float32 parameters)."""

    weight: np.ndarray
    bias: float

    def scores(self, x: np.ndarray) -> np.ndarray:
        logits = torch.from_numpy(np.asarray(x, np.float32)) @ torch.from_numpy(self.weight.astype(np.float32))
        return torch.sigmoid(logits + np.float32(self.bias)).numpy().astype(float)

    @classmethod
    def of(cls, vector: np.ndarray) -> Model:
        return cls(np.asarray(vector[:-1], float), float(vector[-1]))


def _check(settings: HomoLRSettings) -> None:
    if settings.batch_size is not None or settings.penalty == "l1" or settings.init_method == "random":
        raise ConfigError(
            "the federated replay runs full-batch HomoLR with L2/no penalty and constant init only",
            hint="use the study's model settings (batch_size null, penalty l2)",
        )


class _Party:
    def __init__(self, x: np.ndarray, y: np.ndarray, s: HomoLRSettings) -> None:
        self.x, self.y = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.float32))
        fill = {"zeros": 0.0, "ones": 1.0, "consts": float(s.init_fill_val)}[s.init_method]
        self.weight = torch.nn.Parameter(torch.full((1, self.x.shape[1]), fill, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32))
        self.params = [self.weight, self.bias]
        opt_params = {"lr": float(s.learning_rate)} | ({"weight_decay": float(s.alpha)} if s.penalty == "l2" else {})
        self.optimizer = _OPTIMIZERS[s.optimizer](self.params, **opt_params)
        self.scheduler = _SCHEDULERS[s.lr_scheduler](self.optimizer, **dict(s.lr_scheduler_params))
        self.max_grad_norm = s.max_grad_norm

    def epoch(self) -> np.ndarray:
        self.optimizer.zero_grad()
        prob = torch.sigmoid(self.x @ self.weight.T + self.bias).reshape(-1)
        torch.nn.functional.binary_cross_entropy(prob, self.y).backward()
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        return self.vector()

    def vector(self) -> np.ndarray:
        return np.concatenate([self.weight.detach().numpy().reshape(-1), self.bias.detach().numpy()]).astype(float)

    def load(self, vector: np.ndarray) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(vector[:-1].astype(np.float32)).reshape(self.weight.shape))
            self.bias.copy_(torch.from_numpy(vector[-1:].astype(np.float32)))


def federated_fit(
    xs: Mapping[str, np.ndarray],
    ys: Mapping[str, np.ndarray],
    settings: HomoLRSettings,
    *,
    aggregator: str = "fedavg",
    attack: Attack = honest,
) -> Model:
    """``settings.epochs`` rounds of local epoch + aggregation; the final global model."""
    _check(settings)
    rule = aggregators.get(aggregator)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices; one thread keeps float reductions identical run to run
    try:
        parties = {p: _Party(xs[p], ys[p], settings) for p in xs}
        weights = np.array([len(xs[p]) for p in parties], dtype=float)
        global_vector = next(iter(parties.values())).vector()
        for round_ in range(settings.epochs):
            sent = np.stack([attack(p, round_, party.epoch(), global_vector) for p, party in parties.items()])
            global_vector = rule(sent, weights)
            for party in parties.values():
                party.load(global_vector)
        return Model.of(next(iter(parties.values())).vector())
    finally:
        torch.set_num_threads(previous)
