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


def compare_fits(a: JobResult, b: JobResult, *, engines: Sequence[str], id_column: str) -> dict[str, Any]:
    """The validation block: how far apart two engines' fits of the same job ended, and the bounds."""
    coef_a, coef_b = flat_coefficients(a.coefficients), flat_coefficients(b.coefficients)
    if coef_a.shape != coef_b.shape:
        raise EngineError(f"the two fits have models of different shapes: {coef_a.shape} vs {coef_b.shape}")
    merged = merged_scores(a.scores, b.scores, id_column)
    y = merged["label_a"].to_numpy()
    auc_a = binary_metrics(y, merged["score_a"].to_numpy())["auc"]
    auc_b = binary_metrics(y, merged["score_b"].to_numpy())["auc"]
    block = {
        "max_abs_coef_diff": float(np.max(np.abs(coef_a - coef_b))),
        "max_abs_score_diff": float(np.max(np.abs(merged["score_a"] - merged["score_b"]))),
        "auc_diff": float(abs(auc_a - auc_b)),
        "engines": list(engines),
        "auc": {engines[0]: auc_a, engines[1]: auc_b},
        "max_abs_coef": float(np.max(np.abs(coef_a))),
        "rows": len(merged),
        "bounds": dict(BOUNDS),
    }
    block["within_bounds"] = all(block[k] <= bound for k, bound in BOUNDS.items())
    return block
