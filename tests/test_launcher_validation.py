"""The launcher's FATE-Flow validation runs beside the launch (no FATE: the launch and FATE-Flow are stand-ins).

What is real here: LauncherEngine.run_many, its thread and join, the comparison, the report line and
the CLI's exit code. The launch is replaced by a function that writes what the party processes
write (scores.csv, model.json, wire and computing files); FATE-Flow by an object returning a fixed fit.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest
from test_launcher import MAIN, SWEEP, job  # the same two planned fits as the launch tests

from harness.cli import main
from harness.engines.base import FitJob, JobResult, Table, UploadRequest
from harness.engines.fate22 import launcher as launcher_module
from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.jobs import Pace
from harness.errors import EngineError
from harness.report.markdown import validation_lines

WAIT_S = 20.0
SCORES = [0.1, 0.9, 0.3, 0.7]


def fit(weights: list[float], job_id: str) -> JobResult:
    frame = pd.DataFrame({"sample_id": [1, 2, 3, 4], "label": [0, 1, 0, 1], "score": SCORES})
    return JobResult(job_id, frame, {}, 1.0, coefficients={"weight": weights, "bias": [0.1]})


class FakeFlowClient:
    def model_coefficients(self, job_id: str, role: str, party_id: str) -> dict:
        assert (job_id, role, party_id) == ("flow-job-1", "guest", "9999")
        return {"weight": [0.5, -0.2], "bias": [0.1]}


class FakeFlow:
    """The embedded FATE-Flow as the launcher's reference sees it; ``behaviour`` decides what its job does."""

    name = "fate-2.2-standalone"

    def __init__(self, behaviour: str = "ok") -> None:
        self.client = FakeFlowClient()
        self.behaviour = behaviour
        self.ran: list[str] = []
        self.uploaded: list[str] = []
        self.jobs: list[FitJob] = []
        self.entered = threading.Event()  # the FATE-Flow job was submitted
        self.launch_ran = threading.Event()  # set by the fake launch while it runs
        self.cancelled = threading.Event()

    def upload_many(self, requests: list[UploadRequest]) -> list[Table]:
        self.uploaded += [f"{r.party_id}/{r.name}" for r in requests]
        return [Table(r.party_id, "flow", r.name, r.rows) for r in requests]

    def run_many(self, jobs: list, *, pace: Pace) -> list[JobResult]:
        self.ran += [what for what, _ in jobs]
        self.jobs += [j for _, j in jobs]
        self.entered.set()
        if self.behaviour == "fails":
            raise EngineError("FATE job flow-job-1 (validation) failed: party guest:9999\nTraceback: bad table x9",
                              hint="full log: /flow/logs/flow-job-1")
        if self.behaviour == "never ends":
            try:
                while True:
                    pace.sleep(0.05)  # the launcher's cancellable sleep raises once the launch failed
            except BaseException:
                self.cancelled.set()  # run_jobs stops the job here
                raise
        # Still running when the launch runs: the two overlap.
        assert self.launch_ran.wait(WAIT_S), "the launch never ran while the FATE-Flow job did"
        result = fit([0.0, 0.0], "flow-job-1")
        return [result]


def fake_launch(flow: FakeFlow, *, fails: bool = False):  # noqa: ANN201 - run_launch's stand-in
    """Writes what the party processes write for every fit of the plan, once the FATE-Flow job has started."""

    def run_launch(command: list[str], *, log_path: Path, timeout: float, on_poll=lambda: None) -> float:  # noqa: ANN001
        assert flow.entered.wait(WAIT_S), "the FATE-Flow job had not started when the launch did"
        flow.launch_ran.set()
        if fails:
            raise EngineError("the FATE launch failed (exit code 1): party host:9998 failed")
        plan = json.loads(Path(command[command.index("--plan") + 1]).read_text())
        out = Path(plan["out_dir"])
        for spec in plan["fits"]:
            fit_dir = out / f"fit{spec['index']}"
            fit_dir.mkdir(parents=True)
            pd.DataFrame({"sample_id": [1, 2, 3, 4], "label": [0, 1, 0, 1], "score": SCORES}).to_csv(
                fit_dir / "scores.csv", index=False
            )
            state = {"models.0.weight": [[0.5, -0.2 + 2e-7]], "models.0.bias": [0.1]}
            (fit_dir / "model.json").write_text(json.dumps({"model": {"state_dict": state}, "loss_history": [0.6]}))
            for role, party in spec["parties"]:
                wire = {"party": f"{role}:{party}", "messages": 1, "bytes": 8, "tables": 0, "table_rows": 0,
                        "by_round": {}, "to": {}, "wall_s": 1.5}
                (fit_dir / f"wire_{role}_{party}.json").write_text(json.dumps(wire))
                (out / f"computing_{role}_{party}.json").write_text(json.dumps({"engine": "standalone"}))
        return 2.0

    return run_launch


def engine_with(flow: FakeFlow, tmp_path: Path) -> LauncherEngine:
    engine = LauncherEngine(tmp_path / "launcher", reference=flow, progress=False)  # type: ignore[arg-type]
    jobs = [job(MAIN), job(SWEEP)]
    tables = {(t.party_id, t.name): t for j in jobs for t in [*j.train.values(), *j.test.values()]}
    requests = []
    for (party, name), t in tables.items():
        path = tmp_path / f"{party}_{name}.csv"
        path.write_text("sample_id,x,loan_status\n1,0.5,1\n")
        requests.append(UploadRequest(party, path, name, t.rows, sha256="0" * 64))
    engine.upload_many(requests)
    return engine


JOBS = [("federated HomoLR", job(MAIN)), ("sweep 10/90", job(SWEEP))]


def test_validation_runs_beside_the_launch_and_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = FakeFlow()
    engine = engine_with(flow, tmp_path)
    monkeypatch.setattr(launcher_module, "run_launch", fake_launch(flow))
    results = engine.run_many(JOBS)
    assert len(results) == 2 and flow.ran == ["federated HomoLR (validation)"]
    # Only the validated fit's tables, each once, and the FATE-Flow job reads FATE-Flow's tables.
    assert sorted(flow.uploaded) == ["10000/test", "10000/train_10000", "9998/test", "9998/train_9998",
                                     "9999/test", "9999/train_9999"]
    assert {t.namespace for t in [*flow.jobs[0].train.values(), *flow.jobs[0].test.values()]} == {"flow"}
    block = engine.validation()
    assert block is not None and block["within_bounds"] and "error" not in block
    assert block["engines"] == ["fate-2.2-standalone", "fate-2.2-launcher"]
    assert block["max_abs_coef_diff"] == pytest.approx(2e-7)
    assert block["job_ids"] == {"fate-2.2-standalone": "flow-job-1", "fate-2.2-launcher": results[0].job_id}
    line = validation_lines(block)[0]
    assert line.startswith("Validation (fate-2.2-standalone vs fate-2.2-launcher, federated HomoLR): within")
    assert "max_abs_coef_diff 2e-07 (bound 1e-06)" in line
    assert "ran concurrently with the launch" in line


def test_a_failed_validation_keeps_the_launchs_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = FakeFlow("fails")
    engine = engine_with(flow, tmp_path)
    monkeypatch.setattr(launcher_module, "run_launch", fake_launch(flow))
    results = engine.run_many(JOBS)
    assert [r.scores["score"].tolist() for r in results] == [SCORES, SCORES]
    block = engine.validation()
    assert block is not None and not block["within_bounds"]
    # FATE's message with the job's log tail, and where the full log is.
    assert "Traceback: bad table x9" in block["error"] and "/flow/logs/flow-job-1" in block["error"]
    line = validation_lines(block)[0]
    assert "**failed**" in line and "FATE job flow-job-1 (validation) failed" in line


def test_a_failed_launch_stops_the_validation_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = FakeFlow("never ends")
    engine = engine_with(flow, tmp_path)
    monkeypatch.setattr(launcher_module, "run_launch", fake_launch(flow, fails=True))
    with pytest.raises(EngineError, match="the FATE launch failed"):
        engine.run_many(JOBS)
    assert flow.cancelled.is_set(), "the FATE-Flow job was left running after the launch failed"
    assert engine.validation() is None


def test_the_cli_fails_after_writing_the_report_when_validation_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cli
    import harness.study.pipeline

    doc = {"validation": {"engines": ["fate-2.2-standalone", "fate-2.2-launcher"], "error": "job x failed: tail"}}
    monkeypatch.setattr(harness.cli, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(harness.cli, "make_engine", lambda *a, **k: LauncherEngine(tmp_path / "launcher"))
    monkeypatch.setattr(harness.study.pipeline, "run_study", lambda *a, **k: (tmp_path / "report", doc))
    assert main(["experiment", "--quiet"]) == EngineError.exit_code
    out, err = capsys.readouterr()
    assert json.loads(out)["report"] == str(tmp_path / "report" / "report.md")
    assert "validation job failed" in err and "job x failed: tail" in err
