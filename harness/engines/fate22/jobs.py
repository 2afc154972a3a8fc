"""The one submit/wait loop for FATE 2.2 jobs, shared by the standalone and cluster engines.

Both engines submit every HomoLR job to the guest's FATE-Flow, wait for them in order and collect
the guest's scores. What differs is behind :class:`JobSite`: how many FATE-Flows there are, whether
the other parties' FATE-Flows must be watched while a job runs, and where a failed task's log lives.

Rules both engines share:

- a failed job raises ``EngineError`` with the failing task's party and log tail, and every job
  submitted behind it is stopped, so FATE is left idle rather than busy for minutes on jobs whose
  results nobody will read;
- ``JobResult.wall_s`` is FATE's own start-to-end elapsed of the guest's job record: it excludes the
  time a job waited for FATE's resources behind the jobs submitted before it (see docs/design.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from harness.engines import run_ledger
from harness.engines.base import HomoLRJob, JobResult, Roles
from harness.engines.fate22.client import TERMINAL_FAILURES, FlowRestClient, build_homo_lr_dag, collect_job_result
from harness.errors import EngineError
from harness.interrupts import raise_if_stopping
from harness.progress import JobProgress, Progress

POLL_SECONDS = 2.0
JOB_TIMEOUT = 3600.0

# (state, parties found down) -> the error to raise; state reads after "FATE job <id> (<what>)".
Failure = Callable[[str, Sequence[str]], EngineError]
# Called between polls; returns the parties whose FATE-Flow is considered gone (empty: all well).
Watch = Callable[[], Sequence[str]]


class JobSite(Protocol):
    """The engine-specific parts of running a job."""

    def guest(self, roles: Roles) -> FlowRestClient:
        """The FATE-Flow that schedules the job (the guest's): submit, status, stop, outputs."""

    def before_submit(self, roles: Roles) -> None:
        """Raise EngineError when a party the job needs cannot take it."""

    def watch(self, roles: Roles) -> Watch:
        """A fresh liveness watch for one job of these roles."""

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        """The error for a job that ended badly: failing party, its task log tail, what to do."""

    def task_records(self, job_id: str, roles: Roles) -> list[dict[str, Any]]:
        """Every party's task records of a finished job (for task timings)."""


def nothing_down() -> Sequence[str]:
    return ()


class SingleFlow:
    """All parties on one FATE-Flow: nothing else to watch, every task log on the same server."""

    def __init__(self, client: FlowRestClient) -> None:
        self.client = client

    def guest(self, roles: Roles) -> FlowRestClient:
        return self.client

    def before_submit(self, roles: Roles) -> None:
        return None

    def watch(self, roles: Roles) -> Watch:
        return nothing_down

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        return self.client.job_failure(job_id, what, state)

    def task_records(self, job_id: str, roles: Roles) -> list[dict[str, Any]]:
        return self.client.tasks(job_id)


def job_wall_s(status: Mapping[str, Any], fallback_s: float) -> float:
    """FATE's start-to-end seconds from a finished job's record (times in ms).

    ``elapsed`` is end minus start as FATE-Flow stores it; start is when the job got its resources
    and ran, so queueing behind other jobs is not in it. ``fallback_s`` (our clock since submission,
    queueing included) is used only when FATE recorded neither.
    """
    elapsed = status.get("elapsed")
    if elapsed:
        return float(elapsed) / 1000.0
    start, end = status.get("start_time"), status.get("end_time")
    if start and end and end >= start:
        return (float(end) - float(start)) / 1000.0
    return fallback_s


def wait_job(
    client: FlowRestClient,
    job_id: str,
    *,
    what: str,
    failure: Failure,
    progress: bool | Progress,
    role: str | None = None,
    party_id: str | None = None,
    watch: Watch = nothing_down,
    timeout: float = JOB_TIMEOUT,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll one job on the FATE-Flow that scheduled it until it succeeds; return its job record.

    ``role``/``party_id`` pick whose job record and tasks to follow (default: the first record FATE
    returns). A job that ends badly, a party ``watch`` reports down, a status query that fails, or
    ``timeout`` raise ``failure(...)``; the last two stop the job first (FATE would wait for days).
    """
    started = clock()
    shown = JobProgress(progress, what, job_id, clock=clock)
    try:
        while True:
            # A worker thread (per-party uploads) learns of SIGTERM here; the main thread got it raised.
            raise_if_stopping()
            try:
                status = client.job_status(job_id, role=role, party_id=party_id)
            except EngineError as exc:
                raise failure(f"could not be queried ({exc.message})", ()) from exc
            state = str(status.get("status", "")).lower()
            tasks = client.tasks(job_id, role=role or status.get("role"), party_id=party_id or status.get("party_id"))
            shown.update(
                state,
                done=sum(1 for t in tasks if str(t.get("status")).lower() == "success"),
                total=len({t["task_name"] for t in tasks}),
                running=[str(t["task_name"]) for t in tasks if str(t.get("status")).lower() == "running"],
            )
            if state == "success":
                run_ledger.note_finished(job_id)
                return status
            if state in TERMINAL_FAILURES:
                # FATE's scheduler has already stopped every party's tasks of this job.
                raise failure(state, ())
            down = watch()
            if down:
                client.stop(job_id)
                raise failure("stopped", down)
            if clock() - started > timeout:
                client.stop(job_id)
                raise failure(f"did not finish within {timeout:.0f} s and was stopped", ())
            sleep(poll_seconds)
    finally:
        shown.close()


def run_jobs(
    site: JobSite,
    jobs: Sequence[tuple[str, HomoLRJob]],
    *,
    progress: bool | Progress,
    timeout: float = JOB_TIMEOUT,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[JobResult]:
    """Submit every job at once, then wait for and collect each in order.

    FATE-Flow runs as many at a time as its cores allow; most of a job is process start-up and
    scheduler polling, so overlapping jobs hides part of that latency. When anything goes wrong,
    every job of this call that may still be queued or running is stopped before the error leaves.
    """
    submitted: list[tuple[str, HomoLRJob, str, float]] = []
    try:
        for what, job in jobs:
            site.before_submit(job.roles)
            guest = site.guest(job.roles)
            job_id = guest.submit(build_homo_lr_dag(job))
            run_ledger.note_submitted(guest.endpoint, job_id, what, "job")
            submitted.append((what, job, job_id, clock()))
    except BaseException:
        stop_jobs(site, submitted)
        raise
    results = []
    for index, (what, job, job_id, submitted_at) in enumerate(submitted):
        roles = job.roles
        guest = site.guest(roles)
        try:
            status = wait_job(
                guest,
                job_id,
                what=what,
                failure=partial(site.failure, job_id, what, roles),
                progress=progress,
                role="guest",
                party_id=roles.guest,
                watch=site.watch(roles),
                timeout=timeout,
                poll_seconds=poll_seconds,
                sleep=sleep,
                clock=clock,
            )
            wall_s = job_wall_s(status, clock() - submitted_at)
            results.append(
                collect_job_result(guest, job_id, job, wall_s=wall_s, tasks=site.task_records(job_id, roles))
            )
        except Exception:
            # This job has ended (wait_job stops it when it has to); the ones behind it are not wanted.
            stop_jobs(site, submitted[index + 1 :])
            raise
        except BaseException:
            # Interrupted (Ctrl-C): this job and every one behind it.
            stop_jobs(site, submitted[index:])
            raise
    return results


def stop_jobs(site: JobSite, submitted: Sequence[tuple[str, HomoLRJob, str, float]]) -> None:
    """Best effort: the error that made us stop is what the user must see, not a failed stop."""
    for _, job, job_id, _ in submitted:
        try:
            site.guest(job.roles).stop(job_id)
        except Exception:  # noqa: S112 - see docstring
            continue
