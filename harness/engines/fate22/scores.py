"""A FATE 2.2 job's outputs as the study's results: scores table (``id, label, score``), Evaluation metrics."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.engines.base import FitJob, JobResult
from harness.errors import EngineError


def scores_from_output(
    frame: pd.DataFrame,
    *,
    id_column: str,
    dataset_type: str = "validate_set",
    score_column: str = "predict_score",
    component: str = "HomoLR",
) -> pd.DataFrame:
    """Reduce a component's output rows to ``id_column, label, score`` for one dataset type.

    HomoLR's score is ``predict_score`` (a probability); HomoNN's is ``predict_result`` (the class).
    """
    if "type" in frame.columns:
        frame = frame[frame["type"] == dataset_type]
    missing = {id_column, "label", score_column} - set(frame.columns)
    if missing:
        raise EngineError(f"{component} output lacks columns {sorted(missing)}; got {list(frame.columns)}")
    out = frame[[id_column, "label", score_column]].rename(columns={score_column: "score"})
    # HomoNN writes the ids back as floats.
    out = out.assign(**{id_column: pd.to_numeric(out[id_column]).round()})
    return out.astype({id_column: "int64", "label": "int64", "score": "float64"}).reset_index(drop=True)


def flatten_metrics(payload: Any, dataset_type: str = "validate_set") -> dict[str, float]:
    """Pick scalar ``{metric, val}`` pairs for one dataset type out of Evaluation's nested output."""
    found: dict[str, float] = {}

    def walk(node: Any, in_type: bool) -> None:
        if isinstance(node, dict):
            if "metric" in node and isinstance(node.get("val"), int | float) and in_type:
                found.setdefault(str(node["metric"]), float(node["val"]))
            for key, value in node.items():
                walk(value, in_type or key == dataset_type)
        elif isinstance(node, list):
            for item in node:
                walk(item, in_type)

    walk(payload, False)
    return found


def evaluated_result(
    guest_client: Any,
    job_id: str,
    job: FitJob,
    *,
    task: str,
    wall_s: float,
    task_seconds: dict[str, float],
    extras: dict[str, Any] | None = None,
    dataset_type: str = "validate_set",
) -> JobResult:
    """The guest's scores from ``task``'s output and its Evaluation metrics, both for ``dataset_type``."""
    guest = job.roles.guest
    output = guest_client.output_frame(job_id, "guest", guest, task)
    return JobResult(
        job_id=job_id,
        scores=scores_from_output(output, id_column=job.id_column, dataset_type=dataset_type),
        fate_metrics=flatten_metrics(guest_client.metrics(job_id, "guest", guest, "evaluation_0"), dataset_type),
        wall_s=wall_s,
        task_seconds=task_seconds,
        extras=extras or {},
    )
