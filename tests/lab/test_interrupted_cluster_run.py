"""SIGTERM to a study on the lab cluster leaves no job of that run queued or running on any party.

The study runs as a user runs it (``fatelab experiment --engine cluster``); once its HomoLR job runs
on the guest's FATE-Flow it gets SIGTERM. Afterwards every party's own FATE-Flow is asked about every
job the run recorded in its ledger (uploads went to each party's flow, the job to the guest's).
Tables are reused from the study CI runs on the lab just before, so the job starts quickly.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator

import pytest
from labkit import REPO, Lab
from studykit import Study

from harness.engines.fate22.client import FlowRestClient
from harness.engines.fate22.hosts import ClusterEngine
from harness.engines.run_ledger import ACTIVE_STATES
from harness.errors import EngineError, FatelabError

pytestmark = pytest.mark.lab

INVENTORY = REPO / "ansible" / "inventory" / "lab.yml"
GUEST = "9999"


@pytest.fixture(scope="module")
def engine(lab: Lab) -> Iterator[ClusterEngine]:
    engine = ClusterEngine.from_inventory(INVENTORY, work_dir=REPO / ".fatelab" / "work", progress=False)
    try:
        engine.start()
    except FatelabError as exc:
        pytest.skip(f"FATE 2.2 is not deployed on the lab ({exc.message}); run `make cluster`")
    yield engine
    engine.close()


def state_on(client: FlowRestClient, job_id: str) -> str:
    """The job's state on one party's FATE-Flow; '' where that party never had it."""
    try:
        return str(client.job_status(job_id).get("status", "")).lower()
    except EngineError:
        return ""


def test_sigterm_leaves_no_job_running_on_any_party(engine: ClusterEngine, start_study: Callable[..., Study]) -> None:
    guest = engine.client(GUEST)
    study = start_study("cluster", "--engine", "cluster", "--inventory", str(INVENTORY), "--epochs", "30")
    ledger, job_id = study.running_job(lambda job: state_on(guest, job))
    study.process.send_signal(signal.SIGTERM)
    assert study.wait() == 128 + signal.SIGTERM, study.output()[-3000:]
    assert f"stopped FATE job {job_id}" in study.output()
    left = {
        (endpoint, job.job_id): state
        for endpoint, client in engine.flow_clients().items()
        for job in ledger.jobs
        if (state := state_on(client, job.job_id)) in ACTIVE_STATES
    }
    assert not left, f"jobs of the interrupted run still queued or running: {left}"
    assert not ledger.path.exists()
