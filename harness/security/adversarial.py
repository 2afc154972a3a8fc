"""Adversarial examples against the deployed logistic regression: white-box FGSM/PGD, black-box transfer.

Features are standardised, so an L-infinity budget ``epsilon`` is in standard deviations per feature.
For a logistic regression the loss gradient w.r.t. the input is ``(p - y) w``: FGSM moves every feature by
``epsilon`` against the true class, which for a linear model is already the worst case in the L-infinity
ball; PGD (``steps`` signed steps of ``2.5 epsilon / steps``, projected back) is run anyway and should
match it - a check, not a second result. Transfer: the attacker is one lender that trains a surrogate on its
own rows only (the same LR settings), crafts FGSM against it and submits the result to the federated (or
centralised) model. Success rate = share of correctly classified test rows that the perturbation flips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.security.replay import Model
from harness.stats.intervals import t_interval


def input_gradient(model: Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = model.scores(x)
    return (p - y)[:, None] * model.weight[None, :]


def fgsm(model: Model, x: np.ndarray, y: np.ndarray, epsilon: float) -> np.ndarray:
    return x + epsilon * np.sign(input_gradient(model, x, y))


def pgd(model: Model, x: np.ndarray, y: np.ndarray, epsilon: float, steps: int) -> np.ndarray:
    step = 2.5 * epsilon / steps
    adv = x.copy()
    for _ in range(steps):
        adv = adv + step * np.sign(input_gradient(model, adv, y))
        adv = np.clip(adv, x - epsilon, x + epsilon)
    return adv


def success_rate(model: Model, x: np.ndarray, x_adv: np.ndarray, y: np.ndarray, threshold: float) -> float:
    correct = (model.scores(x) > threshold).astype(int) == y.astype(int)
    if not correct.any():
        return float("nan")
    flipped = (model.scores(x_adv[correct]) > threshold).astype(int) != y[correct].astype(int)
    return float(flipped.mean())


def one_seed(targets: dict[str, Model], surrogate: Model, x: np.ndarray, y: np.ndarray,
             epsilons: Sequence[float], steps: int, threshold: float) -> dict[tuple[str, str, float], float]:
    out = {}
    for eps in epsilons:
        crafted = fgsm(surrogate, x, y, eps)
        for name, model in targets.items():
            out[(name, "fgsm", eps)] = success_rate(model, x, fgsm(model, x, y, eps), y, threshold)
            out[(name, "pgd", eps)] = success_rate(model, x, pgd(model, x, y, eps, steps), y, threshold)
            out[(name, "transfer", eps)] = success_rate(model, x, crafted, y, threshold)
    return out


def summarize(per_seed: Sequence[dict[tuple[Any, ...], float]],
              names: Sequence[str] = ("model", "attack", "epsilon")) -> list[dict[str, Any]]:
    """One row per key: its fields named by ``names`` (a shorter key fills the first ones), mean and interval."""
    rows = []
    for key in per_seed[0]:
        values = [s[key] for s in per_seed if np.isfinite(s[key])]
        interval = t_interval(values)
        rows.append(dict(zip(names, key, strict=False)) | {
            "success_rate": interval["mean"], "success_rate_interval": [interval.get("low"), interval.get("high")],
            "seeds": len(values)})
    return rows
