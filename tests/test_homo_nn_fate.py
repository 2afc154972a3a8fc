"""FATE 2.2 HomoNN, for real (marker ``fate``): a CI-sized MNIST CNN fit on FATE's launcher and as a
FATE-Flow ``homo_nn`` job, compared.

400 real digits (40 per class), a stratified 20 % test set, three parties of ~107 digits (4 batches of
32), one round. Both engines build the model from the same runner config; the initial weights
come from the seed in that config (fatelab_nn.torch_init) on both sides, the batch order from
HF's data seed, so after one round the guest's parameters must agree within ``PARAM_BOUND``. The
bound is for float32 sums taken in a different order by FATE's aggregator in the two runs (secure
aggregation adds the parties' masks, which cancel up to float32 rounding); a wrong seed, batch
order or a skipped aggregation moves parameters by 1e-2 or more.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.engines.base import FitJob, UploadRequest
from harness.engines.fate22.homo_nn import flow_model_state
from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.fate22.launcher_nn import params_path
from harness.engines.fate22.standalone import StandaloneEngine
from harness.model.multiclass import multiclass_metrics
from harness.model.nn import HomoNNSettings, mnist_cnn_layers
from harness.model.nn_local import build_model
from harness.scenarios.mnist_cnn import SCENARIO
from harness.study.config import load_config
from harness.study.nn_arms import federated_cost
from harness.study.scenario import Dataset
from harness.study.tables import upload_request

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS = 40
PARAM_BOUND = 1e-4


def small_job(directory: Path) -> tuple[list[UploadRequest], HomoNNSettings]:
    config = load_config(scenario="mnist-cnn")
    full = SCENARIO.load(config)
    small = full.frame.groupby("digit").head(PER_CLASS).reset_index(drop=True)
    data = SCENARIO.seed_data(Dataset(small, full.features, full.sha256, full.card, 0.0), config)
    requests = [
        upload_request(p, data.parts[p], data.features, directory, f"pytest_nn_train_p{p}", label="digit")
        for p in data.parties
    ]
    requests += [upload_request(p, data.test, data.features, directory, "pytest_nn_test", label="digit")
                 for p in data.parties]
    return requests, HomoNNSettings(mnist_cnn_layers(), epochs=1, batch_size=32)


def nn_job(engine, requests: list[UploadRequest], settings: HomoNNSettings) -> FitJob:  # noqa: ANN001
    tables = engine.upload_many(requests)
    test = {t.party_id: t for t in tables if "_test_" in t.name}
    train = {t.party_id: t for t in tables if "_train_" in t.name}
    roles = load_config(scenario="mnist-cnn").roles
    return FitJob(roles=roles, train=train, test=test, model=settings, label="digit", id_column="sample_id")


@pytest.fixture(scope="module")
def job_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[UploadRequest], HomoNNSettings]:
    directory = tmp_path_factory.mktemp("homo_nn")
    return (directory, *small_job(directory))


@pytest.fixture(scope="module")
def launcher_fit(job_inputs: tuple) -> dict:
    directory, requests, settings = job_inputs
    launcher = LauncherEngine(directory / "launcher", progress=False)
    launcher.start()
    [ours] = launcher.run_many([("pytest HomoNN", nn_job(launcher, requests, settings))])
    return {"result": ours, "params": dict(np.load(params_path(launcher.work_dir, ours.job_id))), "settings": settings}


@pytest.fixture(scope="module")
def flow_fit(job_inputs: tuple) -> dict:
    _, requests, settings = job_inputs
    flow = StandaloneEngine(ROOT / ".fatelab" / "flow", progress=False)
    flow.start()
    job = nn_job(flow, requests, settings)
    [theirs] = flow.run_many([("pytest HomoNN", job)])
    return {"result": theirs, "params": flow_model_state(flow.client, theirs.job_id, job.roles.guest)}


def test_launcher_fit_reports_scores_curve_and_cost(launcher_fit: dict) -> None:
    ours = launcher_fit["result"]
    assert len(ours.scores) == 80 and set(ours.scores["score"].unique()) <= set(range(10))
    metrics = multiclass_metrics(ours.scores["label"].to_numpy(), ours.scores["score"].to_numpy().astype(int),
                                 range(10))
    assert len(ours.curves["test_accuracy"]) == 1
    assert ours.curves["test_accuracy"][0] == pytest.approx(metrics["accuracy"])
    cost = federated_cost(ours)
    assert sorted(cost["parties"]) == ["arbiter:10000", "guest:9999", "host:10000", "host:9998"]
    for name, party in cost["parties"].items():
        assert len(party["bytes_per_round"]) == 1 and party["bytes_per_round"][0] > 10_000, name
        if not name.startswith("arbiter"):
            assert len(party["round_s"]) == 1 and party["round_s"][0] >= party["compute_s"][0] > 0


def test_launcher_and_fate_flow_agree_after_one_round(launcher_fit: dict, flow_fit: dict) -> None:
    ours, theirs = launcher_fit["params"], flow_fit["params"]
    assert sorted(ours) == sorted(theirs)
    diffs = {k: float(np.max(np.abs(ours[k] - theirs[k]))) for k in ours}
    print(json.dumps(diffs, indent=1))
    assert max(diffs.values()) <= PARAM_BOUND, diffs
    # Agreement must not be trivial: one round moved the weights away from their initial values.
    initial = {k: v.detach().numpy() for k, v in build_model(launcher_fit["settings"]).state_dict().items()}
    assert max(float(np.max(np.abs(ours[k] - initial[k]))) for k in ours) > 1e-3  # 4 Adam steps of 1e-3
    merged = launcher_fit["result"].scores.merge(flow_fit["result"].scores, on="sample_id", suffixes=("_l", "_f"))
    assert len(merged) == 80 and (merged["score_l"] == merged["score_f"]).mean() >= 0.97
