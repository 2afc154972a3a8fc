from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score, roc_curve

from harness.errors import DataError
from harness.model.metrics import binary_metrics, roc_points

DATA = "/work/shared/data/fate_default_credit/"
FEATURES = [f"x{i}" for i in range(23)]


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    """Real labels and real model scores: an sklearn LR on FATE's default-credit guest split."""
    train = pd.read_csv(DATA + "default_credit_homo_guest.csv")
    test = pd.read_csv(DATA + "default_credit_homo_test.csv")
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["y"])
    return test["y"].to_numpy(), model.predict_proba(test[FEATURES])[:, 1]


def test_keys_are_exact_and_json_serialisable(scored):
    y, s = scored
    m = binary_metrics(y, s)
    assert set(m) == {
        "auc",
        "ks",
        "specificity",
        "recall",
        "precision",
        "f1",
        "accuracy",
        "per_class",
        "n",
        "threshold",
    }
    assert set(m["per_class"]) == {"0", "1"}
    for cls in ("0", "1"):
        assert set(m["per_class"][cls]) == {"precision", "recall", "f1", "support"}
    assert json.loads(json.dumps(m)) == m


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.7])
def test_matches_sklearn_and_scipy(scored, threshold):
    y, s = scored
    m = binary_metrics(y, s, threshold=threshold)
    pred = (s > threshold).astype(int)
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s))
    # KS as the two-sample statistic between the classes' score distributions, computed independently.
    assert m["ks"] == pytest.approx(ks_2samp(s[y == 1], s[y == 0]).statistic)
    assert m["specificity"] == pytest.approx(r[0])
    assert (m["recall"], m["precision"], m["f1"]) == pytest.approx((r[1], p[1], f[1]))
    assert m["accuracy"] == pytest.approx(float(np.mean(pred == y)))
    assert m["per_class"]["0"]["support"] == support[0] and m["per_class"]["1"]["support"] == support[1]
    assert m["per_class"]["0"]["f1"] == pytest.approx(f[0])
    assert m["n"] == len(y) and m["threshold"] == threshold


def test_score_equal_to_threshold_is_class_0_like_fate():
    m = binary_metrics([0, 1, 1, 0], [0.5, 0.9, 0.5, 0.1], threshold=0.5)
    assert m["specificity"] == 1.0
    assert m["recall"] == 0.5


def test_no_predicted_positives_gives_zero_precision_not_nan():
    m = binary_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=0.9)
    assert m["precision"] == 0.0 and m["f1"] == 0.0 and m["specificity"] == 1.0


@pytest.mark.parametrize(
    ("y", "s", "needle"),
    [
        ([1, 1, 1], [0.2, 0.3, 0.4], "only class 1"),
        ([0, 1, 1], [0.2, 0.3], "3 labels but 2 scores"),
        ([0, 1, 1], [0.2, float("nan"), 0.4], "NaN"),
        ([0, 2, 1], [0.2, 0.3, 0.4], "0 or 1"),
        ([], [], "no rows"),
    ],
)
def test_bad_inputs_raise_data_error(y, s, needle):
    with pytest.raises(DataError, match=needle):
        binary_metrics(y, s)


def test_roc_points_downsampled_with_endpoints(scored):
    y, s = scored
    pts = roc_points(y, s, max_points=50)
    assert 2 < len(pts["fpr"]) <= 50 and len(pts["fpr"]) == len(pts["tpr"])
    assert (pts["fpr"][0], pts["tpr"][0]) == (0.0, 0.0)
    assert (pts["fpr"][-1], pts["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(pts["fpr"]) >= 0) and np.all(np.diff(pts["tpr"]) >= 0)
    json.dumps(pts)


def test_roc_points_short_curve_kept_whole():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    fpr, tpr, _ = roc_curve(y, s)
    pts = roc_points(y, s, max_points=200)
    assert pts == {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
