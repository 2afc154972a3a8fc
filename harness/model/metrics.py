"""Binary-classification metrics for the credit-risk study, as plain JSON-serialisable floats.

Label convention: 1 = Fully Paid (the positive class), 0 = Charged Off. The study's headline number is
``specificity``, the true-negative rate on class 0: the share of loans that were charged off which the
model flags as such. ``recall``, ``precision`` and ``f1`` at the top level are for class 1, matching
scikit-learn's binary defaults; ``per_class`` has both classes.

Hard predictions use ``score > threshold`` (strictly greater), the rule FATE 2.2 applies when it turns
a HomoLR score into ``predict_result``, so the FATE arm and the in-process arms label ties identically.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from harness.errors import ConfigError, DataError

ArrayLike = Sequence[float] | np.ndarray


def _validate(y_true: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise DataError(
            f"labels and scores must be 1-D, got shapes {y.shape} and {s.shape}",
            hint="pass one score per row (the probability of class 1)",
        )
    if len(y) != len(s):
        raise DataError(
            f"{len(y)} labels but {len(s)} scores",
            hint="score exactly the rows whose labels you pass, in the same order",
        )
    if len(y) == 0:
        raise DataError("no rows to evaluate", hint="check that the test partition is not empty")
    if not np.all(np.isfinite(s)):
        bad = int(np.sum(~np.isfinite(s)))
        raise DataError(
            f"{bad} of {len(s)} scores are NaN or infinite",
            hint="the model diverged or the features contain NaN; check scaling and the learning rate",
        )
    try:
        y_float = y.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"labels are not numeric: {exc}", hint="labels must be 0 or 1") from exc
    if np.any(np.isnan(y_float)):
        raise DataError("labels contain NaN", hint="drop unlabelled rows before evaluating")
    values = set(np.unique(y_float).tolist())
    if not values <= {0.0, 1.0}:
        raise DataError(f"labels must be 0 or 1, found {sorted(values)}", hint="map the label to 0/1 first")
    if len(values) < 2:
        only = int(next(iter(values)))
        raise DataError(
            f"labels contain only class {only}; AUC, KS and specificity need both classes",
            hint="evaluate on a stratified test set that contains both Fully Paid and Charged Off loans",
        )
    return y_float.astype(int), s


def _ratio(num: float, den: float) -> float:
    # An empty denominator (e.g. no predicted positives) reports 0.0, like scikit-learn's zero_division=0.
    return float(num / den) if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def binary_metrics(y_true: ArrayLike, score: ArrayLike, *, threshold: float = 0.5) -> dict:
    """AUC, KS and threshold metrics for scores that are the probability of class 1.

    Returns a dict with exactly the keys ``auc``, ``ks``, ``specificity``, ``recall``, ``precision``,
    ``f1``, ``accuracy``, ``per_class`` (``"0"``/``"1"`` -> precision, recall, f1, support), ``n`` and
    ``threshold``.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold must be in [0, 1], got {threshold}", hint="use e.g. 0.5")
    y, s = _validate(y_true, score)
    pred = (s > threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    fpr, tpr, _ = roc_curve(y, s)
    per_class: dict[str, dict[str, float]] = {}
    for cls, (hit, missed, false_alarm) in {"0": (tn, fp, fn), "1": (tp, fn, fp)}.items():
        precision = _ratio(hit, hit + false_alarm)
        recall = _ratio(hit, hit + missed)
        per_class[cls] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": int(hit + missed),
        }
    return {
        "auc": float(roc_auc_score(y, s)),
        "ks": float(np.max(tpr - fpr)),
        "specificity": per_class["0"]["recall"],
        "recall": per_class["1"]["recall"],
        "precision": per_class["1"]["precision"],
        "f1": per_class["1"]["f1"],
        "accuracy": _ratio(tp + tn, len(y)),
        "per_class": per_class,
        "n": int(len(y)),
        "threshold": float(threshold),
    }


def roc_points(y_true: ArrayLike, score: ArrayLike, max_points: int = 200) -> dict[str, list[float]]:
    """The ROC curve as ``{"fpr": [...], "tpr": [...]}``, at most ``max_points`` long.

    Points are taken at evenly spaced indices of the full curve, always including (0, 0) and (1, 1),
    so a plot of a 100k-row test set stays small in the results JSON.
    """
    if max_points < 2:
        raise ConfigError(f"max_points must be at least 2, got {max_points}", hint="use e.g. 200")
    y, s = _validate(y_true, score)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=True)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]}
