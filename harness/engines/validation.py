"""Two engines, one federated fit: do they agree? The ``validation`` block of results.json.

The launcher engine claims to run the same FATE code as a FATE-Flow job. That claim holds when,
on the same tables and settings, the two fits end with the same guest model and the same test
scores: final coefficients within 1e-6 (max absolute difference), predicted scores within 1e-6,
AUC equal to 6 decimals. Anything looser is a drift a test must catch (tests/test_launcher_fate.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.engines.base import JobResult
from harness.errors import EngineError
from harness.model.metrics import binary_metrics

BOUNDS: dict[str, float] = {
    "max_abs_coef_diff": 1e-6,
    "max_abs_score_diff": 1e-6,
    # "Equal to 6 decimals": the difference rounds to zero at the 6th decimal.
    "auc_diff": 5e-7,
}


def flat_coefficients(coefficients: Mapping[str, Sequence[float]]) -> np.ndarray:
    if "weight" not in coefficients:
        raise EngineError("a fit to validate returned no model coefficients")
    return np.asarray([*coefficients["weight"], *coefficients.get("bias", [])], dtype=np.float64)


def coefficients_from_model(model: Mapping[str, Any]) -> dict[str, list[float]]:
    """FATE's HomoLR model dict (``HomoLRModel.to_dict``; ``param.model`` of the component's output
    model) as {"weight", "bias"}: the one reader for both engines."""
    state = model["state_dict"]
    return {
        "weight": [float(x) for x in np.asarray(state["models.0.weight"], dtype=np.float64).ravel()],
        "bias": [float(x) for x in np.asarray(state.get("models.0.bias", []), dtype=np.float64).ravel()],
    }


def find_model(node: Any) -> dict[str, Any]:
    """The HomoLR model dict (``feature_num``, ``state_dict``) wherever FATE-Flow nests it in a reply."""
    if isinstance(node, Mapping):
        if "state_dict" in node and "feature_num" in node:
            return dict(node)
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return {}
    for child in children:
        found = find_model(child)
        if found:
            return found
    return {}


def merged_scores(a: pd.DataFrame, b: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Both engines' scores on the same rows; rows one engine did not score are an error."""
    merged = a.merge(b, on=id_column, how="outer", suffixes=("_a", "_b"), validate="one_to_one", indicator=True)
    unmatched = int((merged["_merge"] != "both").sum())
    if unmatched:
        raise EngineError(f"the two fits scored different rows: {unmatched} test rows scored by one engine only")
    if (merged["label_a"] != merged["label_b"]).any():
        raise EngineError("the two fits disagree on the labels of the same test rows")
    return merged


def score_agreement(a: JobResult, b: JobResult, *, engines: Sequence[str], id_column: str) -> dict[str, Any]:
    """How far two engines' scores of the same held-out rows are apart: max score and AUC differences."""
    merged = merged_scores(a.scores, b.scores, id_column)
    y = merged["label_a"].to_numpy()
    auc = {engine: binary_metrics(y, merged[f"score_{side}"].to_numpy())["auc"]
           for engine, side in zip(engines, "ab", strict=True)}
    return {
        "max_abs_score_diff": float(np.max(np.abs(merged["score_a"] - merged["score_b"]))),
        "auc_diff": float(abs(auc[engines[0]] - auc[engines[1]])),
        "engines": list(engines),
        "auc": auc,
        "rows": len(merged),
    }


def compare_fits(a: JobResult, b: JobResult, *, engines: Sequence[str], id_column: str) -> dict[str, Any]:
    """The validation block: how far apart two engines' fits of the same job ended, and the bounds."""
    coef_a, coef_b = flat_coefficients(a.coefficients), flat_coefficients(b.coefficients)
    if coef_a.shape != coef_b.shape:
        raise EngineError(f"the two fits have models of different shapes: {coef_a.shape} vs {coef_b.shape}")
    block = {
        "max_abs_coef_diff": float(np.max(np.abs(coef_a - coef_b))),
        **score_agreement(a, b, engines=engines, id_column=id_column),
        "max_abs_coef": float(np.max(np.abs(coef_a))),
        "bounds": dict(BOUNDS),
    }
    block["within_bounds"] = all(block[k] <= bound for k, bound in BOUNDS.items())
    return block


# A vertical fit (PSI + SecureBoost / coordinated LR) has no coefficient vector to compare: what must agree
# is the intersection PSI found and the scores. Same bounds as HomoLR's scores and AUC; measured gaps and
# the reason for any are in docs/vertical.md ("launcher vs FATE-Flow").
HETERO_BOUNDS: dict[str, float] = {"max_abs_score_diff": BOUNDS["max_abs_score_diff"], "auc_diff": BOUNDS["auc_diff"]}


def psi_counts(fit: JobResult, guest: str) -> dict[str, Any]:
    mine = (fit.extras.get("psi") or {}).get(f"guest:{guest}") or {}
    return {k: mine.get(k) for k in ("train_in", "train_found", "test_in", "test_found")}


def compare_hetero_fits(a: JobResult, b: JobResult, *, engines: Sequence[str], id_column: str,
                        guest: str) -> dict[str, Any]:
    """The validation block of a vertical fit: PSI's counts on both engines, score and AUC differences."""
    psi = {engines[0]: psi_counts(a, guest), engines[1]: psi_counts(b, guest)}
    block = {
        **score_agreement(a, b, engines=engines, id_column=id_column),
        "psi": psi,
        "psi_equal": psi[engines[0]] == psi[engines[1]] and None not in psi[engines[0]].values(),
        "bounds": dict(HETERO_BOUNDS),
    }
    block["within_bounds"] = block["psi_equal"] and all(block[k] <= bound for k, bound in HETERO_BOUNDS.items())
    return block
