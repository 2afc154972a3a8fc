"""Multi-class metrics for the deep-learning scenarios, as plain JSON-serialisable numbers.

``accuracy``, and macro (unweighted mean over classes) ``macro_precision`` / ``macro_recall`` /
``macro_f1``, as scikit-learn computes them with ``zero_division=0`` (a class the model never predicts
has precision 0, which the macro average then shows instead of hiding); ``per_class_recall`` and the
``confusion`` matrix (rows: true class, columns: predicted) over every known class, present or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from harness.errors import DataError


def multiclass_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[int]) -> dict[str, Any]:
    y, p = np.asarray(y_true), np.asarray(y_pred)
    if y.shape != p.shape or y.ndim != 1:
        raise DataError(f"labels and predictions must be 1-D and the same length, got {y.shape} and {p.shape}")
    if len(y) == 0:
        raise DataError("no rows to evaluate", hint="check that the test set is not empty")
    unknown = sorted(set(np.unique(np.concatenate([y, p])).tolist()) - set(classes))
    if unknown:
        raise DataError(f"labels or predictions outside the known classes {list(classes)}: {unknown}")
    labels = list(classes)
    precision, recall, f1, _ = precision_recall_fscore_support(y, p, labels=labels, average=None, zero_division=0)
    present = np.isin(labels, y)  # macro averages over the classes the test set holds
    return {
        "accuracy": float(np.mean(y == p)),
        "macro_precision": float(np.mean(precision[present])),
        "macro_recall": float(np.mean(recall[present])),
        "macro_f1": float(np.mean(f1[present])),
        "per_class_recall": {str(c): float(r) for c, r in zip(labels, recall, strict=True)},
        "confusion": confusion_matrix(y, p, labels=labels).tolist(),
        "n_test": len(y),
    }


def rounds_to_reach(curve: Sequence[float], target: float) -> int | None:
    """The first round (1-based) whose value is at least ``target``; None if no round reaches it."""
    for index, value in enumerate(curve, start=1):
        if value >= target:
            return index
    return None
