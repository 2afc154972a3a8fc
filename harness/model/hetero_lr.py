"""Vertical logistic regression: FATE 2.2 coordinated LR's settings and its update rule, in-process.

``fate/ml/glm/hetero/coordinated_lr/guest.py`` (``fit_single_model``) trains on the Taylor expansion of
the logistic loss around 0, so that the gradient is linear in the encrypted ``Xw``:
``d = 0.25 * Xw - 0.5 * y`` with ``y`` in {-1, +1}, gradient ``X^T d / n``, plus ``alpha * w`` for
``penalty="l2"`` (not on the intercept: ``Optimizer.add_regular_to_grad``); the arbiter decrypts and
steps a torch optimizer (``optimizer_factory``) with a torch LR scheduler. Each party's weights are
updated by a per-coordinate optimizer, so the federated fit equals one model trained in-process on the
joined columns with the same rule, up to Paillier's fixed-point encoding (``floating_point_precision``).
:func:`fit_taylor_lr` is that in-process model: the centralised and guest-only LR baselines.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from harness.errors import ConfigError

_OPTIMIZERS = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}


@dataclass(frozen=True)
class HeteroLRSettings:
    """Every parameter of FATE 2.2's coordinated_lr train, set explicitly; full batch (batch_size None)."""

    epochs: int = 10
    learning_rate: float = 0.15
    optimizer: str = "sgd"
    penalty: str = "l2"
    alpha: float = 0.01
    init_method: str = "zeros"
    fit_intercept: bool = True
    early_stop: str = "diff"
    tol: float = 0.0  # 0: run every epoch, as the baselines do
    floating_point_precision: int = 23
    he_kind: str = "paillier"
    key_length: int = 1024
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"hetero_lr.epochs must be a positive integer, got {self.epochs!r}")
        for name in ("learning_rate", "alpha", "tol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"hetero_lr.{name} must be a finite number >= 0, got {value!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ConfigError(f"hetero_lr.optimizer must be one of {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}")
        if self.penalty not in ("l2", "none"):
            raise ConfigError(f"hetero_lr.penalty must be l2 or none, got {self.penalty!r}")
        if self.init_method != "zeros":
            raise ConfigError("hetero_lr.init_method: only 'zeros' (the baselines must start where FATE starts)")
        if self.he_kind not in ("paillier", "ou"):
            raise ConfigError(f"hetero_lr.he_kind must be paillier or ou (FATE refuses mock), got {self.he_kind!r}")
        if self.early_stop not in ("diff", "abs", "weight_diff"):
            raise ConfigError(f"hetero_lr.early_stop must be diff, abs or weight_diff, got {self.early_stop!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_taylor_lr(x_train: np.ndarray, y_train: np.ndarray, s: HeteroLRSettings) -> tuple[np.ndarray, float]:
    """Coordinated LR's full-batch update rule on one table: (weights, intercept)."""
    x = torch.tensor(np.asarray(x_train, dtype=np.float64), dtype=torch.float32)
    y = torch.tensor(np.where(np.asarray(y_train) == 1, 1.0, -1.0), dtype=torch.float32).reshape(-1, 1)
    if s.fit_intercept:
        x = torch.cat([x, torch.ones((x.shape[0], 1))], dim=1)
    w = torch.nn.Parameter(torch.zeros((x.shape[1], 1)))
    optimizer = _OPTIMIZERS[s.optimizer]([w], lr=s.learning_rate)
    # FATE's LR scheduler is torch's; the study's is constant with factor 1.0 (no change over epochs).
    scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    mask = torch.ones_like(w)
    if s.fit_intercept:
        mask[-1] = 0.0
    for _ in range(s.epochs):
        with torch.no_grad():
            d = 0.25 * (x @ w) - 0.5 * y
            grad = x.T @ d / x.shape[0]
            if s.penalty == "l2":
                grad = grad + s.alpha * w * mask
        w.grad = grad
        optimizer.step()
        scheduler.step()
    weights = w.detach().numpy().ravel()
    return (weights[:-1], float(weights[-1])) if s.fit_intercept else (weights, 0.0)


def predict_lr(x: np.ndarray, weights: np.ndarray, intercept: float) -> np.ndarray:
    """sigmoid(Xw + b), the probability of class 1 (coordinated LR's predict_score)."""
    z = np.asarray(x, dtype=np.float64) @ weights + intercept
    return 1.0 / (1.0 + np.exp(-z))
