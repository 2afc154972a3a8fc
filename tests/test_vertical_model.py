"""The vertical families' parameters are explicit and complete; the in-process baselines follow FATE's rules."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from harness.engines.base import FitJob, Roles, Table
from harness.engines.fate22 import mapping
from harness.errors import ConfigError
from harness.model.hetero_lr import HeteroLRSettings, fit_taylor_lr, predict_lr
from harness.model.secureboost import SecureBoostSettings, fit_gbdt, xgboost_params


def job(model: object) -> FitJob:
    roles = Roles(guest="9999", hosts=("9998",), arbiter="10000")
    tables = {p: Table(p, "ns", f"t{p}", 100) for p in ("9999", "9998")}
    return FitJob(roles=roles, train=tables, test=tables, model=model)  # type: ignore[arg-type]


def test_secureboost_sets_every_parameter_of_fates_guest_and_host_classes() -> None:
    from fate.ml.ensemble import HeteroSecureBoostGuest, HeteroSecureBoostHost

    params = mapping.fit_params(job(SecureBoostSettings(num_trees=7)))
    guest_args = set(inspect.signature(HeteroSecureBoostGuest.__init__).parameters) - {"self", "random_seed"}
    assert set(params["tree"]) == guest_args  # random_seed only drives GOSS, which is off
    host_args = set(inspect.signature(HeteroSecureBoostHost.__init__).parameters) - {"self"}
    assert host_args <= set(params["tree"])
    assert params["tree"]["num_trees"] == 7 and params["family"] == "hetero_secureboost"
    assert params["he_param"] == {"kind": "paillier", "key_length": 1024}
    assert params["psi"] == {"protocol": "ecdh_psi", "curve_type": "curve25519"}


def test_coordinated_lr_sets_every_train_parameter_of_the_component() -> None:
    from fate.components.components.coordinated_lr import train

    params = mapping.fit_params(job(HeteroLRSettings()))
    assert set(train.parameters.mapping) == set(params["lr"]) | {"he_param"}
    assert params["lr"]["batch_size"] is None and params["family"] == "coordinated_lr"


def test_the_mapping_section_names_the_baseline_equivalents() -> None:
    section = mapping.model_mapping(job(SecureBoostSettings())).section()
    assert "reg_lambda" in section["fate_mapping"]["regularisation"] and section["not_expressible"]
    assert "Taylor" in mapping.model_mapping(job(HeteroLRSettings())).caveats[0]


@pytest.mark.parametrize(("field", "value"), [("num_trees", 0), ("max_bin", 300), ("l2", -1.0), ("he_kind", "mock")])
def test_bad_secureboost_settings_are_config_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        SecureBoostSettings(**{field: value})


def test_xgboost_grows_secureboosts_trees_from_probability_one_half() -> None:
    p = xgboost_params(SecureBoostSettings(num_trees=5, l2=0.3, min_child_weight=2.0), seed=1)
    assert (p["n_estimators"], p["reg_lambda"], p["min_child_weight"], p["base_score"]) == (5, 0.3, 2.0, 0.5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=(x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int))
    scores = fit_gbdt(frame[:300], frame[300:], ("a", "b", "c"), "y", SecureBoostSettings(num_trees=5), seed=1)
    assert roc_auc_score(frame["y"][300:], scores) > 0.9


def test_taylor_lr_first_step_is_fates_gradient_from_zero() -> None:
    # From w = 0: d = -0.5 y (y in -1/+1), gradient X^T d / n; one SGD step moves w by -lr * gradient.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 2)), rng.integers(0, 2, 50)
    s = HeteroLRSettings(epochs=1, learning_rate=0.1, alpha=0.5)
    w, b = fit_taylor_lr(x, y, s)
    signed = np.where(y == 1, 1.0, -1.0)
    assert np.allclose(w, 0.1 * (x.T @ (0.5 * signed)) / 50, atol=1e-6)
    assert b == pytest.approx(0.1 * float(np.mean(0.5 * signed)), abs=1e-6)
    many, bias = fit_taylor_lr(x, (x[:, 0] > 0).astype(int), HeteroLRSettings(epochs=30))
    assert roc_auc_score(x[:, 0] > 0, predict_lr(x, many, bias)) > 0.95


def test_the_fate_flow_dag_is_reader_psi_secureboost_train_predict_evaluation() -> None:
    from harness.engines.fate22.client import DEFAULT_JOB_CONF
    from harness.engines.fate22.dag_hetero import PREDICT_TASK, TRAIN_TASK, build_hetero_dag

    dag = build_hetero_dag(job(SecureBoostSettings(num_trees=4)), DEFAULT_JOB_CONF)["dag"]
    tasks = dag["tasks"]
    assert set(tasks) == {"reader_train", "reader_test", "psi_train", "psi_test", TRAIN_TASK, PREDICT_TASK,
                          "evaluation_0"}  # fmt: skip
    assert tasks[PREDICT_TASK]["stage"] == "predict"
    assert set(tasks[PREDICT_TASK]["dependent_tasks"]) == {TRAIN_TASK, "psi_test"}
    assert tasks[TRAIN_TASK]["parameters"]["num_trees"] == 4  # not the component's 3 nor the class's 20
    assert tasks["psi_train"]["parameters"] == {"protocol": "ecdh_psi", "curve_type": "curve25519"}
    assert {p["role"] for p in dag["parties"]} == {"guest", "host"}  # SecureBoost has no arbiter


def test_the_heterolr_dag_has_the_arbiter_in_training_only() -> None:
    from harness.engines.fate22.client import DEFAULT_JOB_CONF
    from harness.engines.fate22.dag_hetero import LR_PREDICT_TASK, LR_TRAIN_TASK, build_hetero_dag

    dag = build_hetero_dag(job(HeteroLRSettings(epochs=3)), DEFAULT_JOB_CONF)["dag"]
    tasks = dag["tasks"]
    roles = {t: {p["role"] for p in tasks[t].get("parties") or dag["parties"]} for t in tasks}
    assert roles[LR_TRAIN_TASK] == {"guest", "host", "arbiter"}
    assert roles[LR_PREDICT_TASK] == {"guest", "host"} and tasks[LR_PREDICT_TASK]["stage"] == "predict"
    assert roles["psi_train"] == {"guest", "host"}
    assert tasks[LR_TRAIN_TASK]["parameters"]["epochs"] == 3


def test_a_host_table_is_uploaded_without_a_label() -> None:
    from harness.engines.fate22.client import upload_meta

    assert "label_name" not in upload_meta("", "sample_id")
    assert upload_meta("label", "sample_id")["label_name"] == "label"


def test_psi_tables_count_their_pickled_size_on_the_wire() -> None:
    import pickle

    from harness.engines.fate22.wire import table_tally

    class Blocks:
        def collect(self) -> list[tuple[int, list[bytes]]]:
            return [(0, [b"a" * 32, b"b" * 32]), (1, [b"c" * 32])]

    tally = table_tally(Blocks())
    expected = sum(len(pickle.dumps(row, protocol=4)) for row in Blocks().collect())
    assert (tally.tables, tally.table_rows, tally.bytes) == (1, 2, expected) and expected > 96
