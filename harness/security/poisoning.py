"""Poisoning: one of the three lenders attacks the federated HomoLR; four aggregation rules answer.

The attacker is the first data party (the guest, 25 % of the rows). Attacks:

* ``label_flip`` (strength = percent of its training labels flipped, a data-poisoning party);
* ``scaling`` (strength = k): every round it sends ``global + k (its model - global)``, the model-replacement
  update of Bagdasaryan et al.; k = 1 is honest;
* ``backdoor`` (strength = percent of its rows stamped with the trigger and labelled "fully paid"): the
  trigger sets :data:`TRIGGER_FEATURES` to :data:`TRIGGER_VALUE` standard deviations; success is the share of
  truly charged-off test loans, stamped with the trigger, that the model then accepts. Once plain, once with
  the update also scaled (``scale`` = k, Bagdasaryan et al.'s backdoor by model replacement).

Every cell runs the in-process replay (:mod:`harness.security.replay`) on every seed's data and reports
t-intervals over seeds (AUC, specificity, backdoor success), next to the same aggregator without attack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.model.logreg import HomoLRSettings
from harness.model.metrics import binary_metrics
from harness.security.data import PartyArrays
from harness.security.replay import Attack, Model, federated_fit, honest
from harness.stats.intervals import t_interval

TRIGGER_FEATURES = 3  # the last three columns of the prepared table: one-hot purposes, rarely all set
TRIGGER_VALUE = 4.0
ATTACKS = ("label_flip", "scaling", "backdoor")


def flip_labels(y: np.ndarray, percent: float, seed: int) -> np.ndarray:
    """``percent`` % of the labels, chosen at random, flipped 0 <-> 1."""
    out = y.copy()
    chosen = np.random.default_rng(seed).permutation(len(y))[: int(round(len(y) * percent / 100.0))]
    out[chosen] = 1.0 - out[chosen]
    return out


def stamp(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, -TRIGGER_FEATURES:] = TRIGGER_VALUE
    return out


def plant_backdoor(x: np.ndarray, y: np.ndarray, percent: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``percent`` % of the rows stamped with the trigger and labelled 1 (fully paid)."""
    chosen = np.random.default_rng(seed).permutation(len(y))[: int(round(len(y) * percent / 100.0))]
    xs, ys = x.copy(), y.copy()
    xs[chosen] = stamp(x[chosen])
    ys[chosen] = 1.0
    return xs, ys


def scaled_update(attacker: str, k: float) -> Attack:
    def attack(party: str, round_: int, vector: np.ndarray, previous: np.ndarray) -> np.ndarray:
        return previous + k * (vector - previous) if party == attacker else vector

    return attack


def backdoor_success(model: Model, x_test: np.ndarray, y_test: np.ndarray, threshold: float) -> float:
    negatives = x_test[y_test == 0]
    return float((model.scores(stamp(negatives)) > threshold).mean()) if len(negatives) else float("nan")


def one_cell(arrays: PartyArrays, settings: HomoLRSettings, attack: str, strength: float,
             aggregator: str, scale: float = 1.0) -> dict[str, float]:
    """One seed, one attack at one strength, one aggregator: the federated model's test metrics.

    ``scale`` > 1 with ``backdoor``: the backdoored update is also scaled (Bagdasaryan et al.'s combination).
    """
    attacker = arrays.parties[0]
    xs, ys = dict(arrays.x), dict(arrays.y)
    send: Attack = honest
    if attack == "label_flip":
        ys[attacker] = flip_labels(ys[attacker], strength, arrays.seed)
    elif attack == "scaling":
        send = scaled_update(attacker, strength)
    elif attack == "backdoor":
        xs[attacker], ys[attacker] = plant_backdoor(xs[attacker], ys[attacker], strength, arrays.seed)
        send = scaled_update(attacker, scale)
    else:
        raise ValueError(f"unknown attack {attack}")
    model = federated_fit(xs, ys, settings, aggregator=aggregator, attack=send)
    scores = model.scores(arrays.x_test)
    if not np.isfinite(scores).all():
        return {"auc": float("nan"), "specificity": float("nan"), "backdoor_success": float("nan")}
    metrics = binary_metrics(arrays.y_test, scores, threshold=settings.threshold)
    return {
        "auc": metrics["auc"],
        "specificity": metrics["specificity"],
        "backdoor_success": backdoor_success(model, arrays.x_test, arrays.y_test, settings.threshold),
    }


def run_poisoning(
    seeds: Sequence[PartyArrays],
    settings: HomoLRSettings,
    grid: Sequence[tuple[str, float]],
    aggregator_names: Sequence[str],
    say: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Every (attack, strength) x aggregator over every seed: means with t-intervals."""
    rows = []
    for attack, strength, scale in grid:
        for aggregator in aggregator_names:
            cells = [one_cell(a, settings, attack, strength, aggregator, scale) for a in seeds]
            row: dict[str, Any] = {"attack": attack, "strength": strength, "aggregator": aggregator, "scale": scale}
            for metric in ("auc", "specificity", "backdoor_success"):
                values = [c[metric] for c in cells if np.isfinite(c[metric])]
                interval = t_interval(values)
                row[metric] = interval["mean"]
                row[f"{metric}_interval"] = [interval.get("low"), interval.get("high")]
            row["seeds"] = len(cells)
            rows.append(row)
        say(f"poisoning: {attack} {strength:g} (scale {scale:g}) done for {', '.join(aggregator_names)}")
    return rows


def poisoning_grid(label_flip: Sequence[float], scaling: Sequence[float], backdoor_share: float,
                   backdoor_scale: float) -> list[tuple[str, float, float]]:
    """(attack, strength, scale of the attacker's update): the scale is 1 except for the scaled backdoor."""
    backdoor = [("backdoor", 0.0, 1.0), ("backdoor", float(backdoor_share), 1.0)]
    if backdoor_scale != 1:
        backdoor.append(("backdoor", float(backdoor_share), float(backdoor_scale)))
    return (
        [("label_flip", float(p), 1.0) for p in label_flip]
        + [("scaling", float(k), 1.0) for k in scaling]
        + backdoor
    )
