"""The shared FATE 2.2 submit/wait loop, driven against a fake FATE-Flow (no server, no sleeping).

``FakeFlow`` stands in for one FATE-Flow 2.2's REST API only: each job walks through a scripted list
of states, one per status query. The real server is exercised by tests/test_engine_fate22.py
(marker ``fate``) and, per party, by tests/lab/test_cluster_engine.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.engines.base import FitJob, Roles, Table
from harness.engines.fate22 import hosts as cluster
from harness.engines.fate22 import jobs as fate22_jobs
from harness.engines.fate22.client import FlowRestClient
from harness.engines.fate22.hosts import ClusterEngine, HostParty, liveness_watch
from harness.engines.fate22.jobs import Flow22Jobs, SingleFlow, flow_poll, job_wall_s
from harness.engines.jobs import TERMINAL_FAILURES, Pace, run_jobs, wait_job
from harness.errors import EngineError
from harness.hosts.inventory import cluster_from_mapping
from harness.model.logreg import HomoLRSettings

ROLES = Roles(guest="9999", hosts=("9998",), arbiter="10000")
# FATE's job record, ms: submitted at 1 s, got its resources at 31 s (queued 30 s), ran 60 s.
RECORD = {"create_time": 1_000, "start_time": 31_000, "end_time": 91_000, "elapsed": 60_000}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1.0)


class FakeFlow(FlowRestClient):
    """One fake FATE-Flow: job ``jobN`` (N-th submitted) follows ``scripts[jobN]``, one state per poll.

    The last state repeats. The state ``"unreachable"`` makes the status query fail as FATE-Flow's
    client does when the server is down. A stopped job that had not ended reads as canceled.
    """

    def __init__(self, scripts: Mapping[str, Sequence[str]], party: str = "9999") -> None:
        self.host, self.port = "127.0.0.1", 9380
        self.party = party
        self.scripts = {job: list(states) for job, states in scripts.items()}
        self.submitted: list[str] = []
        self.stopped: list[str] = []
        self.state: dict[str, str] = {}

    def submit(self, dag: Mapping[str, Any]) -> str:
        self.submitted.append(f"job{len(self.submitted) + 1}")
        return self.submitted[-1]

    def job_status(self, job_id: str, role: str | None = None, party_id: str | None = None) -> dict[str, Any]:
        assert (role, party_id) == ("guest", "9999"), "the loop follows the guest's job record"
        states = self.scripts[job_id]
        state = states.pop(0) if len(states) > 1 else states[0]
        if job_id in self.stopped and state not in (*TERMINAL_FAILURES, "success"):
            state = "canceled"
        if state == "unreachable":
            raise EngineError(f"FATE-Flow refused to query job {job_id}: {{'code': 100}}")
        self.state[job_id] = state
        return {"job_id": job_id, "status": state, "role": "guest", "party_id": "9999", **RECORD}

    def tasks(self, job_id: str, role: str | None = None, party_id: str | None = None) -> list[dict[str, Any]]:
        state = self.state.get(job_id, "waiting")
        task = "failed" if state == "failed" else "success" if state == "success" else "running"
        records = [
            {"task_name": "reader_train", "role": "host", "party_id": "9998", "status": task, "elapsed": 4_000},
            {"task_name": "homo_lr_0", "role": "guest", "party_id": "9999", "status": "waiting", "elapsed": 0},
        ]
        return [t for t in records if party_id is None or t["party_id"] == party_id]

    def stop(self, job_id: str) -> None:
        self.stopped.append(job_id)

    def task_log(self, job_id: str, task: Mapping[str, Any]) -> str:
        return "\n".join(f"line {i}" for i in range(100)) + "\nTable fatelab.no_such_table not found"

    def output_frame(self, job_id: str, role: str, party_id: str, task_name: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"sample_id": [1, 2], "label": [0, 1], "predict_score": [0.2, 0.8], "type": ["validate_set"] * 2}
        )

    def metrics(self, job_id: str, role: str, party_id: str, task_name: str) -> Any:
        return [{"validate_set": [{"metric": "auc", "val": 1.0}]}]


def homo_lr_job() -> FitJob:
    table = Table("9999", "fatelab", "t", 2)
    return FitJob(
        roles=ROLES, train={"9999": table, "9998": table}, test={"9999": table, "9998": table}, model=HomoLRSettings()
    )


@pytest.fixture(autouse=True)
def no_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    # The DAG is FATE's pipeline compiler's business (tested in test_engine_fate22.py).
    monkeypatch.setattr(fate22_jobs, "build_fit_dag", lambda job: {"dag": {}})


def run(site: Any, count: int, clock: FakeClock | None = None, **kwargs: Any) -> list[Any]:
    clock = clock or FakeClock()
    jobs = [(f"job {i + 1}", homo_lr_job()) for i in range(count)]
    pace = Pace(poll_seconds=1, sleep=clock.sleep, clock=clock, **kwargs)
    return run_jobs(Flow22Jobs(site), jobs, progress=False, pace=pace)


# ------------------------------------------------------------------------------------------ failures
def test_a_failed_job_names_the_task_and_stops_the_jobs_queued_behind_it() -> None:
    flow = FakeFlow({"job1": ["running", "success"], "job2": ["running", "failed"], "job3": ["waiting"]})
    with pytest.raises(EngineError) as failure:
        run(SingleFlow(flow), 3)
    message = str(failure.value)
    assert message.startswith("FATE job job2 (job 2) failed.")
    assert "task reader_train of host 9998" in message and "no_such_table" in message
    assert "line 59" not in message, "only the log's tail"
    # job1 finished, job2 was ended by FATE itself; job3 would keep FATE busy for minutes.
    assert flow.stopped == ["job3"]


def test_a_failed_submission_stops_the_jobs_already_submitted() -> None:
    flow = FakeFlow({"job1": ["waiting"], "job2": ["waiting"]})
    submit = flow.submit

    def third_refused(dag: Mapping[str, Any]) -> str:
        if len(flow.submitted) == 2:
            raise EngineError("FATE-Flow refused to submit the job: {'code': 1}")
        return submit(dag)

    flow.submit = third_refused  # type: ignore[method-assign]
    with pytest.raises(EngineError, match="refused to submit"):
        run(SingleFlow(flow), 3)
    assert flow.stopped == ["job1", "job2"]


def test_an_interrupt_stops_the_job_being_waited_for_and_the_rest() -> None:
    flow = FakeFlow({"job1": ["running"], "job2": ["waiting"]})
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_jobs(
            Flow22Jobs(SingleFlow(flow)),
            [("a", homo_lr_job()), ("b", homo_lr_job())],
            progress=False,
            pace=Pace(sleep=interrupted, clock=clock),
        )
    assert flow.stopped == ["job1", "job2"]


def test_a_job_past_its_timeout_is_stopped_with_the_rest() -> None:
    flow = FakeFlow({"job1": ["running"], "job2": ["waiting"]})
    with pytest.raises(EngineError, match=r"job1 \(job 1\) did not finish within 10 s and was stopped"):
        run(SingleFlow(flow), 2, timeout=10)
    assert flow.stopped == ["job1", "job2"]


def test_a_status_query_that_fails_ends_the_wait_with_the_reason() -> None:
    flow = FakeFlow({"job1": ["running", "unreachable"], "job2": ["waiting"]})
    with pytest.raises(EngineError, match=r"job1 \(job 1\) could not be queried \(FATE-Flow refused"):
        run(SingleFlow(flow), 2)
    assert flow.stopped == ["job2"]


# ------------------------------------------------------------------------------------------ wall time
def test_wall_time_is_fates_elapsed_not_our_clock_since_submission() -> None:
    flow = FakeFlow({"job1": ["waiting"] * 50 + ["running", "success"], "job2": ["running", "success"]})
    clock = FakeClock()
    first, second = run(SingleFlow(flow), 2, clock=clock)
    assert clock.now > 50, "our clock saw the job queue for more than 50 s"
    assert first.wall_s == second.wall_s == 60.0
    assert first.task_seconds["reader_train@host:9998"] == 4.0
    assert list(first.scores.columns) == ["sample_id", "label", "score"] and first.fate_metrics == {"auc": 1.0}
    assert flow.stopped == []


def test_wall_time_falls_back_to_start_and_end_then_to_our_clock() -> None:
    assert job_wall_s(RECORD, fallback_s=500.0) == 60.0
    assert job_wall_s({"start_time": 31_000, "end_time": 76_000, "elapsed": None}, fallback_s=500.0) == 45.0
    assert job_wall_s({"status": "success"}, fallback_s=500.0) == 500.0


# ------------------------------------------------------------------------------------------ dead party
def test_a_party_reported_down_stops_the_job_and_is_named() -> None:
    flow = FakeFlow({"job1": ["running"], "job2": ["waiting"]})
    polls = iter([(), (), ("9998",)])
    calls: list[tuple[str, Sequence[str]]] = []

    def failure(state: str, down: Sequence[str]) -> EngineError:
        calls.append((state, down))
        return EngineError(f"job1 {state}: party {', '.join(down)} is not answering")

    clock = FakeClock()
    with pytest.raises(EngineError, match="party 9998 is not answering"):
        wait_job(
            lambda: flow_poll(flow, "job1", "guest", "9999"),
            "job1",
            what="x",
            failure=failure,
            stop=lambda: flow.stop("job1"),
            progress=False,
            watch=lambda: next(polls),
            pace=Pace(sleep=clock.sleep, clock=clock),
        )
    assert calls == [("stopped", ("9998",))]
    assert flow.stopped == ["job1"], "FATE would wait days for the missing party"


def endpoint(party: str) -> HostParty:
    return cluster.endpoints_from_cluster(lab_cluster(), Path("fake.yml"))[party]


def lab_cluster() -> Any:
    # Loopback addresses on a closed port: should a probe escape the stubs, it is refused at once.
    hosts = {
        f"party{p}": {"ansible_host": f"127.0.0.{i + 1}", "party_id": p, "fate_flow_http_port": 1}
        for i, p in enumerate((10000, 9999, 9998))
    }
    return cluster_from_mapping({"all": {"children": {"fate_parties": {"hosts": hosts}}}}, name="fake")


def test_liveness_watch_needs_consecutive_misses_probed_at_most_every_interval() -> None:
    answering = {"9998": True}
    probes: list[int] = []

    def probe(e: HostParty) -> None:
        probes.append(e.party_id)
        if not answering[e.party_id]:
            raise EngineError("not answering")

    clock = FakeClock()
    watch = liveness_watch({"9998": endpoint("9998")}, probe=probe, clock=clock)
    assert watch() == [] and probes == [], "no probe before an interval has passed"
    answering["9998"] = False
    seen = []
    for _ in range(cluster.LIVENESS_MISSES):
        clock.now += cluster.LIVENESS_SECONDS
        seen.append(watch())
    assert seen[:-1] == [[]] * (cluster.LIVENESS_MISSES - 1) and seen[-1] == ["9998"]
    answering["9998"] = True
    clock.now += cluster.LIVENESS_SECONDS
    assert watch() == [], "one good answer resets the count"


def test_cluster_engine_names_the_dead_party_and_stops_the_jobs_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_ssh: Any = object()  # jobs never touch SSH
    engine = ClusterEngine(lab_cluster(), tmp_path / "fake.yml", work_dir=tmp_path, progress=False, remote=no_ssh)
    guest = FakeFlow({"job1": ["running"], "job2": ["waiting"]})
    engine._clients = {"9999": guest, "9998": FakeFlow({}, party="9998"), "10000": FakeFlow({}, party="10000")}
    state = {"down": False}

    def site_party_id(e: HostParty, timeout: float = 5.0) -> str:
        if e.party_id == "9998" and state["down"]:
            raise EngineError(e.not_answering("connection refused"))
        return e.party_id

    monkeypatch.setattr(cluster, "site_party_id", site_party_id)
    monkeypatch.setattr(cluster, "POLL_SECONDS", 0)
    monkeypatch.setattr(cluster, "LIVENESS_SECONDS", 0)
    # The host's FATE-Flow goes away once both jobs are submitted.
    real_status = guest.job_status

    def status(job_id: str, role: str | None = None, party_id: str | None = None) -> dict[str, Any]:
        state["down"] = True
        return real_status(job_id, role, party_id)

    guest.job_status = status  # type: ignore[method-assign]
    with pytest.raises(EngineError) as failure:
        engine.run_many([("a", homo_lr_job()), ("b", homo_lr_job())])
    message = str(failure.value)
    assert message.startswith("FATE job job1 (a) stopped at party 9998 (host, inventory host party9998)")
    assert "127.0.0.3:1 is not answering" in message
    assert "restart party 9998's FATE-Flow" in message
    assert guest.stopped == ["job1", "job2"]
