"""Multi-class metrics against scikit-learn, and the rounds-to-target helper."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from harness.errors import DataError
from harness.model.multiclass import multiclass_metrics, rounds_to_reach


def test_matches_scikit_learn_macro_averages() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 500)
    p = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, 500))
    m = multiclass_metrics(y, p, range(10))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert m["macro_precision"] == pytest.approx(precision_score(y, p, average="macro", zero_division=0))
    assert m["macro_recall"] == pytest.approx(recall_score(y, p, average="macro", zero_division=0))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert np.array(m["confusion"]).sum() == 500 and np.trace(m["confusion"]) == int((y == p).sum())
    assert m["per_class_recall"]["3"] == pytest.approx(recall_score(y == 3, p == 3))


def test_a_class_never_predicted_counts_as_zero_precision() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 0, 1, 1, 1, 1])
    m = multiclass_metrics(y, p, range(3))
    assert m["per_class_recall"]["2"] == 0.0
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_bad_input() -> None:
    with pytest.raises(DataError, match="outside the known classes"):
        multiclass_metrics(np.array([0, 11]), np.array([0, 1]), range(10))
    with pytest.raises(DataError, match="same length"):
        multiclass_metrics(np.array([0, 1]), np.array([0]), range(10))
    with pytest.raises(DataError, match="no rows"):
        multiclass_metrics(np.array([], int), np.array([], int), range(10))


def test_rounds_to_reach() -> None:
    assert rounds_to_reach([0.5, 0.8, 0.9, 0.95], 0.9) == 3
    assert rounds_to_reach([0.5, 0.8], 0.9) is None
    assert rounds_to_reach([], 0.1) is None
