"""An interrupted study leaves no FATE job behind (real FATE-Flow; marker ``fate``).

Each test starts ``fatelab experiment`` as a user would (a subprocess, the project's embedded
FATE-Flow), waits until one of its FATE jobs is running, then ends it the way timeouts, schedulers
and people do: SIGTERM, SIGKILL, or ``fatelab engine stop`` from another shell. Afterwards no job of
that run may be queued or running. Tables come from earlier runs on the same data (content-addressed),
so each study reaches its HomoLR job quickly; 30 epochs keep that job running long enough to be hit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import partial

import pytest
from studykit import ROOT, WAIT_S, Study, run_fatelab

from harness.engines.fate22.client import FlowRestClient
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.run_guard import active_jobs
from harness.engines.run_ledger import ACTIVE_STATES

pytestmark = pytest.mark.fate

FLOW_HOME = ROOT / ".fatelab" / "flow"


@pytest.fixture(scope="module")
def client() -> FlowRestClient:
    engine = StandaloneEngine(FLOW_HOME, progress=False)
    engine.start()
    return engine.client


def state_of(client: FlowRestClient, job_id: str) -> str:
    return str(client.job_status(job_id).get("status", "")).lower()


def assert_nothing_active(client: FlowRestClient, job_ids: list[str]) -> None:
    left = {j: state_of(client, j) for j in job_ids}
    assert not {j: s for j, s in left.items() if s in ACTIVE_STATES}, f"jobs still queued or running: {left}"


def test_sigterm_stops_the_runs_jobs_before_exiting(
    client: FlowRestClient, start_study: Callable[..., Study]
) -> None:
    study = start_study("study", "--engine", "standalone", "--epochs", "30")
    ledger, job_id = study.running_job(partial(state_of, client))
    study.process.send_signal(signal.SIGTERM)
    assert study.wait() == 128 + signal.SIGTERM
    output = study.output()
    assert f"stopped FATE job {job_id}" in output, output[-3000:]
    assert "stopped by SIGTERM" in output
    assert_nothing_active(client, [j.job_id for j in ledger.jobs])
    assert not ledger.path.exists(), "a run that stopped everything it started leaves no ledger"
    assert not [j for j in active_jobs(client)], "FATE-Flow is left with queued or running jobs"


def test_jobs_of_a_killed_run_are_stopped_when_the_next_run_starts(
    client: FlowRestClient, start_study: Callable[..., Study]
) -> None:
    killed = start_study("killed", "--engine", "standalone", "--epochs", "30")
    ledger, orphan = killed.running_job(partial(state_of, client))
    os.kill(killed.process.pid, signal.SIGKILL)
    killed.wait()
    assert state_of(client, orphan) in ACTIVE_STATES, "SIGKILL leaves the job behind: the case under test"

    after = start_study("after", "--engine", "standalone", "--epochs", "2")
    assert after.wait() == 0, after.output()[-3000:]
    output = after.output()
    assert f"run {ledger.run_id} (pid {ledger.pid}) is gone" in output, output[-3000:]
    assert f"stopped FATE job {orphan}" in output
    assert state_of(client, orphan) == "canceled"
    assert not ledger.path.exists()


def test_engine_stop_during_a_run_leaves_nothing_to_resume(
    client: FlowRestClient, start_study: Callable[..., Study]
) -> None:
    study = start_study("study", "--engine", "standalone", "--epochs", "30")
    _, job_id = study.running_job(partial(state_of, client))
    fatelab = [sys.executable, "-m", "harness.cli", "engine"]
    stop = subprocess.run([*fatelab, "stop"], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)  # noqa: S603
    assert stop.returncode == 0, stop.stderr
    assert f"stopped FATE job {job_id}" in stop.stdout
    assert study.wait() != 0  # its FATE-Flow went away under it
    start = subprocess.run([*fatelab, "start"], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)  # noqa: S603
    assert start.returncode == 0, start.stderr
    assert state_of(client, job_id) == "canceled"
    assert not active_jobs(client), "the restarted FATE-Flow resumed a job"
    status = run_fatelab("engine", "status")
    assert "0 job(s) queued or running" in status.stdout
