from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from harness.engines.fate22.mapping import homo_lr_params
from harness.errors import ConfigError, DataError
from harness.model.logreg import HomoLRSettings, LocalLogisticRegression

DATA = "/work/shared/data/fate_default_credit/"
FEATURES = [f"x{i}" for i in range(23)]


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(DATA + "default_credit_homo_guest.csv"),
        pd.read_csv(DATA + "default_credit_homo_test.csv"),
    )


def test_auc_close_to_sklearn_and_loss_decreasing(credit):
    train, test = credit
    reference = LogisticRegression(C=1e6, max_iter=5000).fit(train[FEATURES], train["y"])
    ref_auc = roc_auc_score(test["y"], reference.predict_proba(test[FEATURES])[:, 1])
    settings = HomoLRSettings(epochs=60, learning_rate=0.01, alpha=0.0)
    model = LocalLogisticRegression(settings).fit(train[FEATURES], train["y"])
    proba = model.predict_proba(test[FEATURES])
    assert proba.shape == (len(test),) and ((proba > 0) & (proba < 1)).all()
    assert abs(roc_auc_score(test["y"], proba) - ref_auc) < 0.01
    losses = np.array(model.loss_history_)
    assert model.n_iter_ == 60 == len(losses)
    assert losses[0] == pytest.approx(np.log(2), abs=1e-6)  # zero init: every row scores 0.5
    assert (np.diff(losses) <= 0).all() and losses[-1] < 0.5
    np.testing.assert_array_equal(model.predict(test[FEATURES]), (proba > 0.5).astype(int))


def test_deterministic_for_seed_with_random_init_and_minibatches(credit):
    train, _ = credit
    head = train.head(1500)
    settings = HomoLRSettings(epochs=3, batch_size=256, init_method="random", seed=11)
    a = LocalLogisticRegression(settings).fit(head[FEATURES], head["y"])
    b = LocalLogisticRegression(settings).fit(head[FEATURES], head["y"])
    c = LocalLogisticRegression(HomoLRSettings(epochs=3, batch_size=256, init_method="random", seed=12)).fit(
        head[FEATURES], head["y"]
    )
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.loss_history_ == b.loss_history_
    assert not np.allclose(a.coef_, c.coef_)


def test_tol_stops_early_and_none_runs_all_epochs(credit):
    train, _ = credit
    early = LocalLogisticRegression(HomoLRSettings(epochs=200, learning_rate=0.02, tol=1e-4)).fit(
        train[FEATURES], train["y"]
    )
    assert 2 <= early.n_iter_ < 200
    assert abs(early.loss_history_[-1] - early.loss_history_[-2]) < 1e-4
    assert all(abs(a - b) >= 1e-4 for a, b in zip(early.loss_history_[:-2], early.loss_history_[1:-1]))
    full = LocalLogisticRegression(HomoLRSettings(epochs=25, learning_rate=0.02)).fit(
        train[FEATURES], train["y"]
    )
    assert full.n_iter_ == 25


def test_l2_penalty_shrinks_weights(credit):
    train, _ = credit
    weak = LocalLogisticRegression(HomoLRSettings(epochs=30, alpha=0.0)).fit(train[FEATURES], train["y"])
    strong = LocalLogisticRegression(HomoLRSettings(epochs=30, alpha=1.0)).fit(train[FEATURES], train["y"])
    assert np.linalg.norm(strong.coef_) < 0.5 * np.linalg.norm(weak.coef_)


@pytest.mark.parametrize(
    ("scale", "penalty", "alpha"),
    [
        (10.0, "l2", 0.01),  # large gradients: exercises the inherited max_grad_norm=1.0 clipping
        (1.0, "l1", 0.001),
    ],
)
def test_matches_fate_homolr_client(credit, tmp_path, scale, penalty, alpha):
    """Train FATE 2.2's own HomoLRClient (local mode, standalone context) and compare weights."""
    from fate.arch.context import create_context
    from fate.arch.dataframe import PandasReader
    from fate.ml.glm.homo.lr.client import HomoLRClient

    train, _ = credit
    frame = train.head(1000).copy()
    frame[FEATURES] = frame[FEATURES] * scale
    settings = HomoLRSettings(epochs=10, learning_rate=0.05, penalty=penalty, alpha=alpha)

    ctx = create_context(
        ("guest", "9999"),
        [("guest", "9999"), ("host", "10000")],
        str(uuid.uuid4()),
        computing_conf={"computing.standalone.data_dir": str(tmp_path)},
    )
    data = PandasReader(
        sample_id_name="sample_id", match_id_name="id", label_name="y", dtype="float32"
    ).to_frame(ctx, frame.assign(sample_id=np.arange(len(frame))))
    params = homo_lr_params(settings, len(frame))
    client = HomoLRClient(
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        optimizer_param=params["optimizer"],
        learning_rate_scheduler=params["learning_rate_scheduler"],
        init_param=params["init_param"],
        threshold=params["threshold"],
    )
    client.local_mode = True
    client.fit(ctx, data)
    state = client.model.state_dict()
    fate_losses = [row["loss"] for row in client.trainer.state.log_history if "loss" in row]

    ours = LocalLogisticRegression(settings).fit(frame[FEATURES], frame["y"])
    np.testing.assert_allclose(ours.coef_, state["models.0.weight"].numpy().ravel(), atol=1e-5)
    assert ours.intercept_ == pytest.approx(float(state["models.0.bias"][0]), abs=1e-5)
    # The HF Trainer logs the epoch loss rounded to 4 decimals.
    np.testing.assert_allclose(np.round(ours.loss_history_, 4), fate_losses, atol=1.5e-4)


def test_fate_params_shape():
    params = homo_lr_params(HomoLRSettings(epochs=25, learning_rate=0.02, alpha=0.01), 1234)
    assert params == {
        "epochs": 25,
        "batch_size": 1234,
        "optimizer": {"method": "rmsprop", "penalty": "l2", "alpha": 0.01, "optimizer_params": {"lr": 0.02}},
        "learning_rate_scheduler": {"method": "constant", "scheduler_params": {"factor": 1.0}},
        "init_param": {"method": "zeros", "fill_val": 1.0, "fit_intercept": True},
        "threshold": 0.5,
    }
    assert homo_lr_params(HomoLRSettings(batch_size=64), 0)["batch_size"] == 64
    with pytest.raises(ConfigError, match="full-batch"):
        homo_lr_params(HomoLRSettings(), 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epochs": 0},
        {"batch_size": 0},
        {"learning_rate": -1.0},
        {"optimizer": "lbfgs"},
        {"penalty": "L2"},
        {"alpha": -0.1},
        {"threshold": 1.0},
        {"init_method": "xavier"},
        {"tol": -1.0},
    ],
)
def test_settings_validation(kwargs):
    with pytest.raises(ConfigError):
        HomoLRSettings(**kwargs)


def test_bad_training_data(credit):
    train, _ = credit
    model = LocalLogisticRegression()
    with pytest.raises(DataError, match="at least 2 features"):
        model.fit(train[["x0"]], train["y"])
    with pytest.raises(DataError, match="NaN"):
        model.fit(train[FEATURES].assign(x3=np.nan), train["y"])
    with pytest.raises(DataError, match="0/1"):
        model.fit(train[FEATURES], train["y"] * 2)
    with pytest.raises(DataError, match="not fitted"):
        model.predict_proba(train[FEATURES])
