"""FATE-Flow 2.2's side of the shared job loop (:mod:`harness.engines.jobs`), and its uploads.

Both FATE 2.2 engines that schedule through FATE-Flow (standalone, hosts) submit every fit to the
guest's FATE-Flow as a DAG built by :func:`harness.engines.fate22.client.build_fit_dag`. What
differs between them is behind :class:`JobSite`: how many FATE-Flows there are, whether the other
parties' FATE-Flows must be watched while a job runs, and where a failed task's log lives.

``JobResult.wall_s`` is FATE's own start-to-end elapsed of the guest's job record: it excludes the
time a job waited for FATE's resources behind the jobs submitted before it (see docs/design.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from harness.engines import run_ledger
from harness.engines.base import NAMESPACE, FitJob, JobResult, Roles, Table, UploadRequest
from harness.engines.fate22.client import (
    DEFAULT_JOB_CONF,
    FlowRestClient,
    build_fit_dag,
    task_timings,
    upload_meta,
)
from harness.engines.fate22.dag_hetero import build_hetero_dag, collect_hetero_result, is_hetero
from harness.engines.fate22.homo_nn import collect_nn_result, family
from harness.engines.fate22.scores import evaluated_result
from harness.engines.jobs import JOB_TIMEOUT, Pace, Poll, Watch, nothing_down, wait_job, wall_seconds
from harness.engines.upload_records import UploadRecords
from harness.errors import EngineError
from harness.progress import Progress

UPLOAD_TIMEOUT = 1800.0


class JobSite(Protocol):
    """The deployment-specific parts of running a FATE 2.2 job."""

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


def flow_poll(client: FlowRestClient, job_id: str, role: str | None = None, party_id: str | None = None) -> Poll:
    """One party's record of the job and its tasks (the first record FATE returns unless role/party pick one)."""
    status = client.job_status(job_id, role=role, party_id=party_id)
    tasks = client.tasks(job_id, role=role or status.get("role"), party_id=party_id or status.get("party_id"))
    return Poll(
        state=str(status.get("status", "")).lower(),
        record=status,
        done=sum(1 for t in tasks if str(t.get("status")).lower() == "success"),
        total=len({t["task_name"] for t in tasks}),
        running=tuple(str(t["task_name"]) for t in tasks if str(t.get("status")).lower() == "running"),
    )


def job_wall_s(status: Mapping[str, Any], fallback_s: float) -> float:
    """FATE's start-to-end seconds from a finished job's record (see ``harness.engines.jobs.wall_seconds``)."""
    return wall_seconds(status.get("elapsed"), status.get("start_time"), status.get("end_time"), fallback_s)


class Flow22Jobs:
    """The shared loop's backend for FATE-Flow 2.2, on whatever :class:`JobSite`."""

    def __init__(self, site: JobSite) -> None:
        self.site = site

    def submit(self, what: str, job: FitJob) -> str:
        self.site.before_submit(job.roles)
        guest = self.site.guest(job.roles)
        job_id = guest.submit(build_hetero_dag(job, DEFAULT_JOB_CONF) if is_hetero(job) else build_fit_dag(job))
        run_ledger.note_submitted(guest.endpoint, job_id, what, "job")
        return job_id

    def poll(self, job_id: str, roles: Roles) -> Poll:
        return flow_poll(self.site.guest(roles), job_id, "guest", roles.guest)

    def watch(self, roles: Roles) -> Watch:
        return self.site.watch(roles)

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        return self.site.failure(job_id, what, roles, state, down)

    def stop(self, job_id: str, roles: Roles) -> None:
        self.site.guest(roles).stop(job_id)

    def collect(self, job_id: str, job: FitJob, record: dict[str, Any], waited_s: float) -> JobResult:
        collect = collect_hetero_result if is_hetero(job) else collect_job_result
        return collect(
            self.site.guest(job.roles),
            job_id,
            job,
            wall_s=job_wall_s(record, waited_s),
            tasks=self.site.task_records(job_id, job.roles),
        )


def collect_job_result(
    guest_client: FlowRestClient, job_id: str, job: FitJob, *, wall_s: float, tasks: Iterable[Mapping[str, Any]]
) -> JobResult:
    """The guest's test scores and Evaluation metrics of a finished job, as one JobResult."""
    if family(job) == "homo_nn":
        return collect_nn_result(guest_client, job_id, job, wall_s=wall_s, tasks=task_timings(tasks))
    seconds = task_timings(tasks)
    return evaluated_result(guest_client, job_id, job, task="homo_lr_0", wall_s=wall_s, task_seconds=seconds)


def wait_flow_job(
    client: FlowRestClient, job_id: str, *, what: str, progress: bool | Progress, timeout: float = JOB_TIMEOUT
) -> dict[str, Any]:
    """Poll one job on one FATE-Flow until it ends; on failure raise EngineError carrying the failing task's log."""
    return wait_job(
        lambda: flow_poll(client, job_id),
        job_id,
        what=what,
        failure=lambda state, _down: client.job_failure(job_id, what, state),
        stop=lambda: client.stop(job_id),
        progress=progress,
        pace=Pace(timeout=timeout),
    ).record


def upload_tables(
    client: FlowRestClient, requests: Sequence[UploadRequest], *, progress: bool | Progress, records: UploadRecords
) -> list[Table]:
    """Upload what is not already there whole; submit all uploads, then wait for each.

    A table is reused only when ``records`` says an upload of this content finished and the table
    still holds its rows. Anything else under the name (a leftover of an interrupted or killed run)
    is deleted and uploaded again. A failed or interrupted upload deletes its table, so nothing
    half-uploaded stays under a trusted name.
    """
    pending = []
    seen: set[str] = set()
    for request in requests:
        # Several parties may name the same table (the shared test set on one standalone flow).
        if request.name in seen:
            continue
        seen.add(request.name)
        rows = client.table_rows(NAMESPACE, request.name)
        whole = records.is_complete(client.endpoint, NAMESPACE, request.name, rows=request.rows, sha256=request.sha256)
        if rows == request.rows and whole:
            continue
        if rows is not None:
            client.delete_table(NAMESPACE, request.name)
        records.forget(client.endpoint, NAMESPACE, request.name)
        meta = upload_meta(request.label, request.id_column)
        job_id = client.upload(request.path, namespace=NAMESPACE, name=request.name, meta=meta)
        what = f"upload {request.name} ({request.party_id})"
        run_ledger.note_submitted(client.endpoint, job_id, what, "upload", namespace=NAMESPACE, table=request.name)
        pending.append((request, job_id))
    for index, (request, job_id) in enumerate(pending):
        try:
            what = f"upload {request.name} ({request.party_id})"
            wait_flow_job(client, job_id, what=what, progress=progress, timeout=UPLOAD_TIMEOUT)
            rows = client.table_rows(NAMESPACE, request.name)
            if rows != request.rows:
                raise EngineError(
                    f"upload of {request.path.name} to party {request.party_id} stored {rows} rows, "
                    f"expected {request.rows}."
                )
        except BaseException:
            # Stop and remove this upload and every one still queued behind it (also on Ctrl-C/SIGTERM).
            for later, later_job in pending[index:]:
                client.stop(later_job)
                client.delete_table(NAMESPACE, later.name)
            raise
        records.add(client.endpoint, NAMESPACE, request.name, rows=request.rows, sha256=request.sha256, job_id=job_id)
    return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]
