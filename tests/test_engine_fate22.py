"""Real FATE 2.2 jobs on the embedded standalone FATE-Flow (marker ``fate``: about 1-2 minutes each).

Uses the project's own FATE-Flow home and port, the same one ``make experiment`` uses, so a server
already started by the experiment is reused.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.engines.base import FitJob, Roles, Table, UploadRequest
from harness.engines.fate22.client import build_fit_dag
from harness.engines.fate22.jobs import job_wall_s
from harness.engines.fate22.scores import flatten_metrics
from harness.engines.fate22.standalone import StandaloneEngine
from harness.errors import EngineError
from harness.model.logreg import HomoLRSettings
from harness.model.metrics import binary_metrics

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
CREDIT = ROOT.parent / "shared" / "data" / "fate_default_credit"
FLOW_HOME = ROOT / ".fatelab" / "flow"


def credit_frame(name: str, rows: int) -> pd.DataFrame:
    path = CREDIT / f"default_credit_homo_{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} not present (the shared data folder is beside the checkout in CI)")
    frame = pd.read_csv(path, nrows=rows)
    return frame.rename(columns={"id": "sample_id", "y": "loan_status"})


@pytest.fixture(scope="module")
def engine() -> StandaloneEngine:
    engine = StandaloneEngine(FLOW_HOME, progress=False)
    engine.start()
    return engine


@pytest.fixture(scope="module")
def tables(engine: StandaloneEngine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Table]:
    directory = tmp_path_factory.mktemp("credit")
    requests = []
    for party, name in (("9999", "guest"), ("9998", "host_1"), ("test", "test")):
        frame = credit_frame(name, 400)
        path = directory / f"{name}.csv"
        frame.to_csv(path, index=False)
        requests.append(UploadRequest(party, path, f"pytest_credit_{name}_400", len(frame)))
    uploaded = engine.upload_many(requests)
    return {t.party_id: t for t in uploaded}


def test_flow_server_recovers_from_a_killed_process(engine: StandaloneEngine) -> None:
    status = engine.server.status()
    assert status.state == "running", status.line()
    os.killpg(status.pid, signal.SIGKILL)
    after_kill = engine.server.status()
    assert after_kill.state in ("stale", "unresponsive"), after_kill.line()
    assert engine.server.start().state == "running"


def test_second_upload_reuses_tables(engine: StandaloneEngine, tables: dict[str, Table], monkeypatch) -> None:
    def no_upload(*args, **kwargs):
        raise AssertionError("a table already uploaded whole must not be uploaded again")

    monkeypatch.setattr(engine.client, "upload", no_upload)
    table = tables["9999"]
    request = UploadRequest("9999", Path("/nonexistent.csv"), table.name, table.rows)
    assert engine.upload_many([request])[0].rows == 400


def test_federated_job_scores_match_fate_evaluation(
    engine: StandaloneEngine, tables: dict[str, Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_success: list[dict] = []
    real_status = engine.client.job_status

    def remember_success(*args: object, **kwargs: object) -> dict:
        record = real_status(*args, **kwargs)
        if str(record.get("status")).lower() == "success":
            seen_success.append(record)
        return record

    monkeypatch.setattr(engine.client, "job_status", remember_success)
    settings = HomoLRSettings(epochs=3, learning_rate=0.05, alpha=0.01)
    job = FitJob(
        roles=Roles(guest="9999", hosts=("9998",), arbiter="10000"),
        train={"9999": tables["9999"], "9998": tables["9998"]},
        test={"9999": tables["test"], "9998": tables["test"]},
        model=settings,
    )
    [result] = engine.run_many([("pytest homo_lr", job)])
    test = credit_frame("test", 400)
    assert sorted(result.scores["sample_id"]) == sorted(test["sample_id"])
    merged = test.merge(result.scores, on="sample_id")
    assert (merged["label"] == merged["loan_status"]).all()
    ours = binary_metrics(merged["loan_status"], merged["score"])
    assert 0.6 < ours["auc"] < 1.0
    assert ours["auc"] == pytest.approx(result.fate_metrics["auc"], abs=1e-6)
    assert ours["ks"] == pytest.approx(result.fate_metrics["ks"], abs=1e-3)
    # Wall time is FATE's own elapsed in the guest's job record the engine read when the job succeeded,
    # not our clock (which includes queueing). Compared with that very record rather than a later
    # query: FATE-Flow moves end_time on after it first reports success, by more on a busy machine.
    assert seen_success, "the engine never read a successful job record"
    assert result.wall_s == job_wall_s(seen_success[-1], fallback_s=-1.0) > 0


def test_failed_job_raises_with_the_failing_task_log_and_stops_the_jobs_behind_it(
    engine: StandaloneEngine, tables: dict[str, Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    roles = Roles(guest="9999", hosts=("9998",), arbiter="10000")
    missing = Table("9998", "fatelab", "pytest_no_such_table", 10)
    failing = FitJob(
        roles=roles,
        train={"9999": tables["9999"], "9998": missing},
        test={"9999": tables["test"], "9998": tables["test"]},
        model=HomoLRSettings(epochs=1),
    )
    behind = FitJob(
        roles=roles,
        train={"9999": tables["9999"], "9998": tables["9998"]},
        test={"9999": tables["test"], "9998": tables["test"]},
        model=HomoLRSettings(epochs=30),
    )
    submitted: list[str] = []
    real_submit = engine.client.submit
    monkeypatch.setattr(engine.client, "submit", lambda dag: submitted.append(real_submit(dag)) or submitted[-1])
    with pytest.raises(EngineError) as failure:
        engine.run_many([("pytest failing job", failing), ("pytest job behind it", behind)])
    text = str(failure.value)
    assert "failed" in text
    assert "reader_train" in text and "9998" in text
    assert "pytest_no_such_table" in text or "table" in text.lower()
    # The job queued behind the failure was stopped, not left to run for minutes.
    assert len(submitted) == 2
    # Generous: on a busy machine FATE-Flow can take a while to record the stop.
    deadline = time.monotonic() + 600
    while (state := str(engine.client.job_status(submitted[1]).get("status")).lower()) not in ("canceled", "failed"):
        assert state != "success", "the job queued behind the failure ran to success instead of being stopped"
        assert time.monotonic() < deadline, f"waited 600 s for the job behind the failure to be stopped; it is {state}"
        time.sleep(2)


def test_failed_upload_leaves_no_table(engine: StandaloneEngine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sample_id,x0\n1,0.5\n2,0.7\n")  # no label column
    request = UploadRequest("9999", bad, "pytest_bad_upload", 2)
    with pytest.raises(EngineError):
        engine.upload_many([request])
    assert (
        engine.client.table_rows("fatelab", "pytest_bad_upload") is None
    )


def test_dag_names_each_partys_table() -> None:
    job = FitJob(
        roles=Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000"),
        train={p: Table(p, "fatelab", f"train_{p}", 10) for p in ("9999", "9998", "10000")},
        test={p: Table(p, "fatelab", "test_x", 10) for p in ("9999", "9998", "10000")},
        model=HomoLRSettings(),
    )
    dag = build_fit_dag(job)
    text = repr(dag)
    for party in ("9999", "9998", "10000"):
        assert f"train_{party}" in text
    assert "validate_data" in text
    assert dag["dag"]["conf"]["computing_partitions"] == 1


def test_flatten_metrics_keeps_only_the_validate_set() -> None:
    payload = [
        {
            "data": {
                "homo_lr_0": {
                    "train_set": [{"metric": "auc", "val": 0.9}],
                    "validate_set": [
                        {"metric": "auc", "val": 0.7},
                        [{"metric": "ks", "val": 0.3}, {"metric": "ks_table", "val": [1, 2]}],
                    ],
                }
            }
        }
    ]
    assert flatten_metrics(payload) == {"auc": 0.7, "ks": 0.3}
