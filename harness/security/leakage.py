"""Privacy leakage: what a party's logistic-regression update gives away, and what the aggregate hides.

The update is one local gradient step on the party's batch, as a gradient-sharing protocol (FedSGD, or
FATE 1.x HomoLR with SGD, which its Paillier mode requires) sends it: ``delta = -lr (g + alpha w)`` with
``g`` the BCE gradient. The observer knows the global model ``w`` it sent (so it removes the weight-decay
term) and divides the weight part by the bias part: for one record ``dL/dw = (p - y) x`` and ``dL/db =
(p - y)``, so ``x = (dL/dw) / (dL/db)`` exactly (Geiping et al. 2020, Proposition 3.1). Gradient clipping
scales both parts alike and does not help; the learning rate cancels.

* single record: every record of one party, recovered from its own update at the trained global model;
* batches of B: the ratio is a (p - y)-weighted mean of the batch, and at FATE's zero initialisation
  ``p = 1/2`` so the bias gradient gives the batch's label share exactly (``share = 1/2 - dL/db``);
* aggregated: under secure aggregation or Paillier the arbiter holds only the row-weighted sum of the
  parties' updates; the same division on it, each party holding one record (the attacker's best case);
* FATE 2.2's own update: HomoLR shares weights after a local RMSprop epoch; from its zero state the first
  step is ``lr g / sqrt((1 - rho) g^2 + eps)``, about ``lr / sqrt(1 - rho) sign(g)``: only signs survive.
  Measured with the in-process replica of FATE's client (:class:`LocalLogisticRegression`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.model.logreg import HomoLRSettings, LocalLogisticRegression
from harness.security.data import PartyArrays
from harness.security.replay import Model

EXACT = 1e-4  # relative error below which a record counts as recovered
LR = 0.1


def gradient_update(model: Model, x: np.ndarray, y: np.ndarray, alpha: float, lr: float = LR) -> np.ndarray:
    """The shared update ``-lr (g + alpha [w, 0])`` of one SGD step on rows ``x`` (float64)."""
    x = np.atleast_2d(np.asarray(x, float))
    p = 1.0 / (1.0 + np.exp(-(x @ model.weight + model.bias)))
    residual = p - np.asarray(y, float).reshape(-1)
    grad = np.append(residual @ x / len(x), residual.mean())
    decay = np.append(alpha * model.weight, 0.0)
    return -lr * (grad + decay)


def invert(update: np.ndarray, model: Model, alpha: float, lr: float = LR) -> np.ndarray:
    """The record(s) behind an update: the weight gradient divided by the bias gradient."""
    grad = -np.asarray(update, float) / lr - np.append(alpha * model.weight, 0.0)
    return grad[:-1] / grad[-1]


def relative_error(recovered: np.ndarray, original: np.ndarray) -> float:
    return float(np.linalg.norm(recovered - original) / max(np.linalg.norm(original), 1e-12))


def single_record(model: Model, x: np.ndarray, y: np.ndarray, alpha: float, records: int,
                  features: Sequence[str]) -> dict[str, Any]:
    errors = [relative_error(invert(gradient_update(model, x[i], y[i : i + 1], alpha), model, alpha), x[i])
              for i in range(min(records, len(x)))]
    example = invert(gradient_update(model, x[0], y[:1], alpha), model, alpha)
    exact = sum(e < EXACT for e in errors)
    return {
        "records": len(errors),
        "exact": exact,
        "exact_share": exact / len(errors),
        "max_rel_error": max(errors),
        "median_rel_error": float(np.median(errors)),
        "example": [{"feature": f, "original": float(o), "recovered": float(r)}
                    for f, o, r in zip(features, x[0], example, strict=True)],
    }


def batches(model: Model, x: np.ndarray, y: np.ndarray, alpha: float, sizes: Sequence[int], seed: int,
            max_batches: int = 20) -> list[dict[str, Any]]:
    """A batch of B rows: the ratio at ``model``, and the label share from the bias at FATE's zero init.

    (At zero init the ratio itself is useless on SMOTE-balanced data: a batch with as many 1s as 0s has a
    zero bias gradient.)
    """
    zero = Model(np.zeros(x.shape[1]), 0.0)
    rng = np.random.default_rng(seed)
    out = []
    for size in sizes:
        b = len(x) if size == 0 else min(size, len(x))
        rows = []
        for _ in range(1 if b == len(x) else max_batches):
            idx = rng.choice(len(x), size=b, replace=False)
            recovered = invert(gradient_update(model, x[idx], y[idx], alpha), model, alpha)
            # dL/db = 1/2 - share at p = 1/2, and the update is -lr dL/db
            share = 0.5 + gradient_update(zero, x[idx], y[idx], alpha)[-1] / LR
            nearest = min(relative_error(recovered, x[i]) for i in idx)
            rows.append((relative_error(recovered, x[idx].mean(axis=0)), nearest, abs(share - y[idx].mean())))
        errs = np.array(rows)
        out.append({
            "batch_size": b, "full": size == 0, "batches": len(rows),
            "rel_error_to_batch_mean": float(errs[:, 0].mean()),
            "rel_error_to_nearest_record": float(errs[:, 1].mean()),
            "records_recovered_share": float((errs[:, 1] < EXACT).mean()) if b == 1 else 0.0,
            "label_share_abs_error": float(errs[:, 2].max()),
        })
    return out


def aggregated(model: Model, arrays: PartyArrays, alpha: float, records: int) -> dict[str, Any]:
    """Each party updates on one record; the observer holds only the row-weighted mean of the updates."""
    weights = np.array([len(arrays.x[p]) for p in arrays.parties], float)
    errors = []
    for i in range(records):
        picks = [(arrays.x[p][i % len(arrays.x[p])], arrays.y[p][i % len(arrays.y[p])]) for p in arrays.parties]
        updates = np.stack([gradient_update(model, xr, np.array([yr]), alpha) for xr, yr in picks])
        recovered = invert(weights @ updates / weights.sum(), model, alpha)
        errors.append(min(relative_error(recovered, xr) for xr, _ in picks))
    exact = sum(e < EXACT for e in errors)
    return {"parties": len(weights), "records": len(errors), "exact": exact, "exact_share": exact / len(errors),
            "min_rel_error": min(errors), "median_rel_error": float(np.median(errors))}


def fate22_rmsprop(x: np.ndarray, y: np.ndarray, settings: HomoLRSettings, records: int) -> dict[str, Any]:
    """FATE 2.2's shared object: the weights after one local epoch on one record, from zeros."""
    one_epoch = dataclasses.replace(settings, epochs=1, batch_size=None)
    exact = signs = 0
    errors = []
    n = min(records, len(x))
    for i in range(n):
        fit = LocalLogisticRegression(one_epoch).fit(x[i : i + 1], y[i : i + 1])
        recovered = fit.coef_ / fit.intercept_
        errors.append(relative_error(recovered, x[i]))
        exact += errors[-1] < EXACT
        nonzero = np.abs(x[i]) > 1e-6
        signs += float((np.sign(recovered[nonzero]) == np.sign(x[i][nonzero])).mean())
    return {"records": n, "exact": exact, "median_rel_error": float(np.median(errors)),
            "sign_agreement": signs / n}


def run_leakage(arrays: PartyArrays, trained: Model, settings: HomoLRSettings, records: int,
                sizes: Sequence[int]) -> dict[str, Any]:
    party = arrays.parties[0]
    x, y = arrays.x[party].astype(float), arrays.y[party].astype(float)
    return {
        "party": party,
        "update": "one SGD step (lr 0.1, L2 as weight decay) at the trained federated model; the label share "
                  "at FATE's zero initialisation",
        "single_record": single_record(trained, x, y, settings.alpha, records, arrays.features),
        "batches": batches(trained, x, y, settings.alpha, sizes, arrays.seed),
        "aggregated": aggregated(trained, arrays, settings.alpha, records),
        "fate22_rmsprop_update": fate22_rmsprop(x, y, settings, min(records, 50)),
        "images": [],
    }
