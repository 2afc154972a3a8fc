"""The security study's fast path against FATE-Flow (marker ``fate``).

Every poisoning number comes from the in-process replay of HomoLR's FedAvg (harness/security/replay.py).
Here its un-attacked fedavg fit - the poisoning study's strength-0 arm, on the CI preset's rounds - and an
embedded FATE-Flow HomoLR job run on the same seed-42 partitions (scaled, SMOTE-balanced per party, uploaded
by the same job builder as the launcher check, harness/security/homolr_check.py) with the same settings.

Bound: not 1e-6. SMOTE balances each party's labels exactly, so at FATE's zero initialisation
(fate/ml/glm/homo/lr/client.py:354, ``init_model`` with method "zeros") every prediction is 0.5 and the bias
gradient, mean(0.5 - y), is zero up to float32 rounding whose value depends on the summation order; FATE sums
in the order of its table and HF's shuffled sampler (transformers/trainer.py:776, ``RandomSampler``), the
replay in partition order. RMSprop's first step, lr * g / (sqrt((1 - alpha) g^2) + eps) (torch.optim.RMSprop,
alpha 0.99, eps 1e-8), turns that noise into a bias step of up to lr / sqrt(0.01) = 0.2 whose size depends on
the noise's value, and later rounds carry it on. The test therefore also runs the replay on the same rows in
shuffled orders: FATE-Flow must land within the spread that row order alone produces (plus 1e-6), and that
spread must itself be the first-step effect (at most ``ORDER_BOUND``), not a modelling difference.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from harness.engines.fate22.standalone import StandaloneEngine
from harness.security import poisoning
from harness.security.config import security_config
from harness.security.data import load_seeds
from harness.security.homolr_check import homolr_job
from harness.security.replay import Model, federated_fit
from harness.study.config import STUDY_MODEL, load_config

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
ORDERS = 6
ORDER_BOUND = 5e-3


def flat(model: Model) -> np.ndarray:
    return np.append(model.weight, model.bias)


@pytest.fixture(scope="module")
def fits(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = tmp_path_factory.mktemp("security_flow")
    arrays = load_seeds(ROOT / "data" / "loan_2011q4_head5k.csv", directory / "work", (42,))[0]
    settings = dataclasses.replace(STUDY_MODEL, epochs=security_config("ci").epochs)
    roles = load_config().roles
    flow = StandaloneEngine(ROOT / ".fatelab" / "flow", progress=False)
    flow.start()
    [result] = flow.run_many([("security replay check", homolr_job(flow, arrays, settings, roles, directory))])
    coef = flow.client.model_coefficients(result.job_id, "guest", roles.guest)
    replay = federated_fit(arrays.x, arrays.y, settings)
    rng = np.random.default_rng(0)
    shuffled = []
    for _ in range(ORDERS):
        order = {p: rng.permutation(len(arrays.x[p])) for p in arrays.parties}
        shuffled.append(flat(federated_fit({p: arrays.x[p][o] for p, o in order.items()},
                                           {p: arrays.y[p][o] for p, o in order.items()}, settings)))
    return {"arrays": arrays, "settings": settings, "fate": np.append(coef["weight"], coef["bias"]),
            "replay": replay, "shuffled": np.stack(shuffled), "job": result.job_id}


def test_the_replay_is_the_poisoning_studys_strength_0_arm(fits: dict) -> None:
    arrays, settings, replay = fits["arrays"], fits["settings"], fits["replay"]
    cell = poisoning.one_cell(arrays, settings, "label_flip", 0.0, "fedavg")
    ours = poisoning.binary_metrics(arrays.y_test, replay.scores(arrays.x_test), threshold=settings.threshold)
    assert cell["auc"] == ours["auc"] and cell["specificity"] == ours["specificity"]


def test_replay_fedavg_matches_fate_flow_homolr_within_the_row_order_spread(fits: dict) -> None:
    fate, replay, shuffled = fits["fate"], flat(fits["replay"]), fits["shuffled"]
    spread = float(np.abs(shuffled - replay).max())
    diff = float(np.abs(fate - replay).max())
    low, high = np.minimum(shuffled.min(0), replay), np.maximum(shuffled.max(0), replay)
    outside = float(np.maximum(low - fate, fate - high).max())
    print(json.dumps({"job": fits["job"], "max_abs_coef_diff": diff, "row_order_spread": spread,
                      "outside_envelope": outside, "max_abs_coef": float(np.abs(fate).max())}))
    assert float(np.abs(fate).max()) > 0.05  # a model still at zero would agree trivially
    assert spread <= ORDER_BOUND and diff <= ORDER_BOUND
    assert outside <= 1e-6
