"""A run's FATE jobs end with it: the ledger, signals, orphans of dead runs, complete-upload records.

Driven against an in-memory FATE-Flow (no server): the real-FATE behaviour is in
tests/test_interrupted_runs.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from harness.engines import run_ledger
from harness.engines.base import UploadRequest
from harness.engines.fate22 import jobs as fate22_jobs
from harness.engines.fate22.jobs import upload_tables
from harness.engines.run_guard import guarded_run, job_line
from harness.engines.run_ledger import LedgerJob, RunLedger, sweep_orphans
from harness.engines.upload_records import UploadRecords
from harness.interrupts import Interrupted, raise_if_stopping, signals_interrupt

ENDPOINT = "127.0.0.1:9380"


class MemoryFlow:
    """Job states by id; stop turns an active job canceled; tables by name with a row count."""

    def __init__(self, states: dict[str, str] | None = None, tables: dict[str, int] | None = None) -> None:
        self.host, self.port = "127.0.0.1", 9380
        self.states = dict(states or {})
        self.tables = dict(tables or {})
        self.stopped: list[str] = []
        self.deleted: list[str] = []
        self.uploads: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def job_status(self, job_id: str, role: str | None = None, party_id: str | None = None) -> dict[str, Any]:
        return {"job_id": job_id, "status": self.states.get(job_id, "")}

    def stop(self, job_id: str) -> None:
        self.stopped.append(job_id)
        if self.states.get(job_id) in run_ledger.ACTIVE_STATES:
            self.states[job_id] = "canceled"

    def delete_table(self, namespace: str, name: str) -> None:
        self.deleted.append(name)
        self.tables.pop(name, None)

    def jobs_in_state(self, state: str) -> list[dict[str, Any]]:
        return [{"job_id": j, "status": s, "create_time": 0} for j, s in self.states.items() if s == state]

    # -- uploads ---------------------------------------------------------------------------
    def table_rows(self, namespace: str, name: str) -> int | None:
        return self.tables.get(name)

    def upload(self, file: Path, *, namespace: str, name: str, meta: Any, partitions: int = 4) -> str:
        job_id = f"up{len(self.uploads) + 1}"
        self.uploads.append(name)
        # FATE finishes at once: the first status query of the shared wait loop sees success.
        self.states[job_id] = "success"
        self.tables[name] = len(file.read_text().splitlines()) - 1
        return job_id

    def tasks(self, job_id: str, role: str | None = None, party_id: str | None = None) -> list[dict[str, Any]]:
        return []


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def lines() -> tuple[list[str], Any]:
    said: list[str] = []
    return said, said.append


# -- ledger ------------------------------------------------------------------------------------
def test_ledger_round_trips_and_is_private(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs", "run1")
    ledger.record(LedgerJob(ENDPOINT, "1", "federated HomoLR", "job"))
    ledger.record(LedgerJob(ENDPOINT, "2", "upload t", "upload", "fatelab", "t"))
    ledger.mark_finished("1")
    loaded = RunLedger.load(ledger.path)
    assert loaded is not None and loaded.pid == os.getpid() and loaded.alive()
    assert [j.job_id for j in loaded.unfinished()] == ["2"]
    assert ledger.path.stat().st_mode & 0o077 == 0
    assert not list(ledger.directory.glob("*.tmp"))
    ledger.close()
    assert not ledger.path.exists()


def test_a_recycled_pid_is_not_the_run(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path, "run1")
    ledger.pid_start = (ledger.pid_start or 0) + 1  # same pid, another process start time
    assert not ledger.alive()
    ledger.pid = dead_pid()
    assert not ledger.alive()


def test_sweep_stops_only_dead_runs_unfinished_jobs(tmp_path: Path) -> None:
    flow = MemoryFlow({"10": "running", "11": "waiting", "12": "success", "13": "failed", "20": "running"})
    dead = RunLedger(tmp_path, "dead", pid=dead_pid())
    for job_id, kind in (("10", "job"), ("11", "upload"), ("12", "job"), ("13", "job")):
        table = f"t{job_id}" if kind == "upload" else ""
        dead.record(LedgerJob(ENDPOINT, job_id, f"what {job_id}", kind, "fatelab", table))
    alive = RunLedger(tmp_path, "alive")
    alive.pid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid
    alive.pid_start = run_ledger.process_start_ticks(alive.pid)
    alive.record(LedgerJob(ENDPOINT, "20", "someone else's", "job"))
    said, say = lines()
    try:
        handled = sweep_orphans(tmp_path, lambda e: flow if e == ENDPOINT else None, say)
    finally:
        os.kill(alive.pid, signal.SIGKILL)
    assert handled == 4
    assert sorted(flow.stopped) == ["10", "11"]
    assert flow.deleted == ["t11"], "a half-done upload's table must go"
    assert flow.states["20"] == "running", "a live run's job is not an orphan"
    assert sum("stopped FATE" in line for line in said) == 2 and "run dead" in said[0]
    assert not dead.path.exists() and alive.path.exists()


def test_sweep_keeps_what_it_cannot_reach_and_can_leave_orphans_alone(tmp_path: Path) -> None:
    flow = MemoryFlow({"10": "running"})
    dead = RunLedger(tmp_path, "dead", pid=dead_pid())
    dead.record(LedgerJob(ENDPOINT, "10", "job 10", "job"))
    dead.record(LedgerJob("10.0.0.9:9380", "30", "elsewhere", "job"))
    said, say = lines()
    sweep_orphans(tmp_path, lambda e: flow if e == ENDPOINT else None, say, keep=True)
    assert flow.stopped == [] and "--keep-orphans" in said[0]
    sweep_orphans(tmp_path, lambda e: flow if e == ENDPOINT else None, say)
    assert flow.stopped == ["10"]
    left = RunLedger.load(dead.path)
    assert left is not None and [j.job_id for j in left.unfinished()] == ["30"]


# -- signals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_raises_interrupted_once_and_reaches_threads(sig: int) -> None:
    seen_in_thread: list[BaseException] = []
    with pytest.raises(Interrupted) as caught, signals_interrupt():
        try:
            os.kill(os.getpid(), sig)
        finally:
            os.kill(os.getpid(), sig)  # a second signal during clean-up is ignored, not raised

            def worker() -> None:
                try:
                    raise_if_stopping()
                except Interrupted as exc:
                    seen_in_thread.append(exc)

            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
    assert caught.value.signum == sig and caught.value.exit_code == 128 + sig
    assert seen_in_thread, "a worker thread must learn of the signal"
    raise_if_stopping()  # outside the block nothing is pending any more


# -- a guarded run ------------------------------------------------------------------------------
class OneFlowEngine:
    def __init__(self, flow: MemoryFlow) -> None:
        self.flow = flow

    def flow_clients(self) -> dict[str, MemoryFlow]:
        return {self.flow.endpoint: self.flow}


def test_an_interrupted_run_stops_its_jobs_and_says_so(tmp_path: Path) -> None:
    flow = MemoryFlow({"1": "success", "2": "running", "3": "waiting"})
    said, say = lines()
    with pytest.raises(Interrupted), guarded_run(tmp_path, "r1", OneFlowEngine(flow), say=say):
        for job_id in ("1", "2", "3"):
            run_ledger.note_submitted(ENDPOINT, job_id, f"job {job_id}", "job")
        run_ledger.note_finished("1")
        raise Interrupted(signal.SIGTERM)
    assert flow.stopped == ["2", "3"]
    assert [line for line in said if line.startswith("stopped")] == [
        f"stopped FATE job 2 (job 2) on {ENDPOINT}, was running",
        f"stopped FATE job 3 (job 3) on {ENDPOINT}, was waiting",
    ]
    assert not list(tmp_path.glob("*.json")), "a run that cleaned up after itself leaves no ledger"


def test_a_successful_run_leaves_no_ledger_and_names_jobs_queued_ahead(tmp_path: Path) -> None:
    flow = MemoryFlow({"99": "running"})
    said, say = lines()
    with guarded_run(tmp_path, "r1", OneFlowEngine(flow), say=say) as guard:
        guard.after_start()
        run_ledger.note_submitted(ENDPOINT, "5", "job 5", "job")
        run_ledger.note_finished("5")
    assert "1 FATE job(s) already queued or running" in said[0] and "not submitted by a fatelab run" in said[0]
    assert not list(tmp_path.glob("*.json"))


def test_job_line_shows_age_and_owner() -> None:
    ledger = RunLedger(Path("/nonexistent"), "20261202-x")
    ledger.jobs = [LedgerJob(ENDPOINT, "7", "job", "job")]
    line = job_line({"job_id": "7", "status": "running", "create_time": 0}, {"7": ledger}, now_ms=125_000)
    assert line == f"job 7 running for 2m05s (run 20261202-x, pid {os.getpid()} alive)"


# -- complete-upload records --------------------------------------------------------------------
def test_a_table_without_a_completion_record_is_uploaded_again(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("sample_id,x,loan_status\n1,0.5,1\n2,0.7,0\n")
    request = UploadRequest("9999", csv, "train_abc", 2, sha256="abc")
    # Right name, right row count, but no record: a killed run's table, maybe written part-way.
    flow = MemoryFlow(tables={"train_abc": 2})
    records = UploadRecords(tmp_path / "uploads.json")
    upload_tables(flow, [request], progress=False, records=records)  # type: ignore[arg-type]
    assert flow.deleted == ["train_abc"] and flow.uploads == ["train_abc"]
    assert records.is_complete(ENDPOINT, "fatelab", "train_abc", rows=2, sha256="abc")
    # Recorded now: the next run reuses it.
    upload_tables(flow, [request], progress=False, records=records)  # type: ignore[arg-type]
    assert flow.uploads == ["train_abc"]
    # Other content under the same name is not vouched for.
    assert not records.is_complete(ENDPOINT, "fatelab", "train_abc", rows=2, sha256="def")


def test_an_interrupted_upload_leaves_no_table_and_no_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("sample_id,x,loan_status\n1,0.5,1\n")
    flow = MemoryFlow()

    def interrupted_wait(client: Any, job_id: str, **kwargs: Any) -> dict[str, Any]:
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(fate22_jobs, "wait_flow_job", interrupted_wait)
    records = UploadRecords(tmp_path / "uploads.json")
    requests = [UploadRequest("9999", csv, name, 1, sha256=name) for name in ("a", "b")]
    with pytest.raises(Interrupted):
        upload_tables(flow, requests, progress=False, records=records)  # type: ignore[arg-type]
    assert flow.stopped == ["up1", "up2"] and flow.tables == {}
    assert not records.is_complete(ENDPOINT, "fatelab", "a", rows=1, sha256="a")


# -- progress in a log ---------------------------------------------------------------------------
def test_a_log_gets_one_line_per_job_state_change() -> None:
    import io

    from harness.progress import JobProgress, Progress

    log = io.StringIO()
    ticks = iter([0.0, 5.0, 12.0, 20.0])
    shown = JobProgress(Progress.LINES, "federated HomoLR", "202612", stream=log, clock=lambda: next(ticks))
    shown.update("waiting", 0, 0, [])
    shown.update("running", 0, 4, ["reader_train"])
    shown.update("running", 0, 4, ["reader_train"])  # nothing changed: no line
    shown.update("running", 2, 4, ["homo_lr_0"])
    shown.close()
    assert log.getvalue().splitlines() == [
        "[fatelab] FATE job 202612 (federated HomoLR): waiting, 5 s",
        "[fatelab] FATE job 202612 (federated HomoLR): running, running reader_train, 0/4 tasks done, 12 s",
        "[fatelab] FATE job 202612 (federated HomoLR): running, running homo_lr_0, 2/4 tasks done, 20 s",
    ]
    assert Progress.for_stream(quiet=True) is Progress.OFF
    assert Progress.for_stream(quiet=False, stream=log) is Progress.LINES
