"""HomoNN on the launcher vs the same fit as a FATE-Flow ``homo_nn`` job: the ``validation`` block.

Both fits build the model from the same runner config, start from a fresh process's torch seed and
draw batches from the same data seed, so they differ only in float32 summation order inside FATE's
aggregation. Bounds: guest parameters within ``PARAM_BOUND`` (max absolute difference) and test
accuracy within ``ACCURACY_BOUND`` (half a point, the issue's bound for a full run).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.engines.base import FitJob, JobResult
from harness.engines.fate22.homo_nn import flow_model_state
from harness.engines.fate22.launcher_nn import params_path

PARAM_BOUND = 1e-4
ACCURACY_BOUND = 0.005


def max_param_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    if sorted(a) != sorted(b):
        return float("inf")
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)))) for k in a)


def accuracy(result: JobResult) -> float:
    return float(np.mean(result.scores["score"].to_numpy() == result.scores["label"].to_numpy()))


def compare_nn(
    reference: Any, job: FitJob, ours: JobResult, theirs: JobResult, work_dir: Path, engines: tuple[str, str]
) -> dict[str, Any]:
    """``reference`` is the FATE-Flow engine that ran ``theirs``; ``ours`` came from the launcher in ``work_dir``."""
    flow_params = flow_model_state(reference.client, theirs.job_id, job.roles.guest)
    launcher_params = dict(np.load(params_path(work_dir, ours.job_id)))
    diff = max_param_diff(flow_params, launcher_params)
    merged = theirs.scores.merge(ours.scores, on=job.id_column, suffixes=("_flow", "_launcher"))
    acc = {engines[0]: accuracy(theirs), engines[1]: accuracy(ours)}
    acc_diff = abs(acc[engines[0]] - acc[engines[1]])
    return {
        "max_abs_param_diff": diff,
        "prediction_agreement": float(np.mean(merged["score_flow"] == merged["score_launcher"])),
        "accuracy": acc,
        "accuracy_diff": acc_diff,
        "bounds": {"max_abs_param_diff": PARAM_BOUND, "accuracy_diff": ACCURACY_BOUND},
        "within_bounds": bool(diff <= PARAM_BOUND and acc_diff <= ACCURACY_BOUND),
    }
