"""A FATE 2.2 component's output rows as the study's scores table (``id, label, score``)."""

from __future__ import annotations

import pandas as pd

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
