"""FATE-Flow 1.8's side of the shared job loop (:mod:`harness.engines.jobs`) for the KubeFATE engine.

Jobs are built first (bad settings fail before anything is submitted), submitted to the guest's
FATE-Flow 1.8, polled there, and a failure is reported with the failing party's log tail read from
that party's own FATE-Flow (job logs stay on the party that ran the task).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from harness.engines.base import FitJob, JobResult, Roles
from harness.engines.fate18.client import Flow18Client
from harness.engines.fate18.mapping import Fate18Options, build_study_job, evaluation_metrics, scores_from_output
from harness.engines.jobs import LOG_LINES, TERMINAL_FAILURES, Poll, Watch, nothing_down, wall_seconds
from harness.engines.parties import PartyEndpoint, failed_at
from harness.errors import EngineError


class Flow18Parties(Protocol):
    """What the FATE 1.8 job backend needs of its engine."""

    options: Fate18Options

    def client(self, party_id: str) -> Flow18Client: ...

    def endpoint(self, party_id: str) -> PartyEndpoint: ...

    def check_flows(self, parties: Sequence[str]) -> None: ...

    def client_shell_hint(self, party_id: str) -> str: ...


class Flow18Jobs:
    """The shared loop's backend for FATE-Flow 1.8 (one FATE-Flow per party, the guest's schedules)."""

    def __init__(self, parties: Flow18Parties, jobs: Sequence[tuple[str, FitJob]]) -> None:
        self.parties = parties
        # Every job built before the first is submitted: settings FATE 1.8 cannot take fail here.
        self.built = [build_study_job(job, parties.options) for _, job in jobs]
        self._next = 0

    def first_conf(self) -> dict[str, Any] | None:
        """The first job's HomoLR parameters as submitted (for the report)."""
        return self.built[0][1]["component_parameters"]["common"]["homo_lr_0"] if self.built else None

    def submit(self, what: str, job: FitJob) -> str:
        # run_jobs submits in the order the jobs were given, which is the order they were built in.
        dsl, conf = self.built[self._next]
        self._next += 1
        self.parties.check_flows(job.roles.all_parties())
        return self.parties.client(job.roles.guest).submit(dsl, conf).job_id

    def poll(self, job_id: str, roles: Roles) -> Poll:
        guest = self.parties.client(roles.guest)
        record = guest.job_record(job_id, "guest", int(roles.guest))
        tasks = guest.tasks(job_id, "guest", int(roles.guest))
        return Poll(
            state=str(record.get("f_status", "")).lower(),
            record=record,
            done=sum(1 for t in tasks if t.get("f_status") == "success"),
            total=len(tasks),
            running=tuple(str(t.get("f_component_name")) for t in tasks if t.get("f_status") == "running"),
        )

    def watch(self, roles: Roles) -> Watch:
        # FATE 1.8's own scheduler ends a job whose party stops heart-beating.
        return nothing_down

    def stop(self, job_id: str, roles: Roles) -> None:
        self.parties.client(roles.guest).stop(job_id)

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        """Name the party whose task failed and carry its log tail, read from that party's own FATE-Flow."""
        sections: list[str] = []
        culprit: str | None = None
        for role, pid in roles.party_roles():
            client, endpoint = self.parties.client(pid), self.parties.endpoint(pid)
            try:
                tasks = client.tasks(job_id, role, int(pid))
            except EngineError:
                continue  # this party's FATE-Flow has no record of the job (it never got that far)
            failed = [str(t.get("f_component_name")) for t in tasks if t.get("f_status") == "failed"]
            if not failed:
                continue
            culprit = culprit or pid
            log = self._log(client, job_id, role, pid) or "(empty log)"
            sections.append(
                f"--- {role} {pid}: failed in {', '.join(failed)}; log tail from its FATE-Flow at {endpoint.url} "
                f"---\n{log}"
            )
        if culprit is None:
            log = self._log(self.parties.client(roles.guest), job_id, "guest", roles.guest)
            sections.append(
                f"--- guest {roles.guest}: log tail from its FATE-Flow at "
                f"{self.parties.endpoint(roles.guest).url} ---\n{log or '(empty)'}"
            )
        blamed = culprit or roles.guest
        verb = f"ended {state}" if state in TERMINAL_FAILURES else state
        where = failed_at(self.parties.endpoint(culprit), roles) if culprit else ""
        return EngineError(
            f"FATE job {job_id} ({what}) {verb}{where}.\n" + "\n".join(sections),
            hint=f"full logs: 'flow job log -j {job_id} -o /tmp' in party {blamed}'s client container "
            f"({self.parties.client_shell_hint(blamed)})",
        )

    @staticmethod
    def _log(client: Flow18Client, job_id: str, role: str, pid: str) -> str:
        try:
            return client.error_log(job_id, role, int(pid), lines=LOG_LINES)
        except EngineError as exc:
            return f"(log unavailable: {exc.message})"

    def collect(self, job_id: str, job: FitJob, record: dict[str, Any], waited_s: float) -> JobResult:
        guest = self.parties.client(job.roles.guest)
        g = int(job.roles.guest)
        scores = scores_from_output(guest.output_data(job_id, "homo_lr_0", "guest", g), id_column=job.id_column)
        tasks = guest.tasks(job_id, "guest", g)
        return JobResult(
            job_id=job_id,
            scores=scores,
            fate_metrics=evaluation_metrics(guest.summary(job_id, "evaluation_0", "guest", g)),
            # FATE's own elapsed excludes time queued behind other jobs; fall back to our clock.
            wall_s=wall_seconds(
                record.get("f_elapsed"), record.get("f_start_time"), record.get("f_end_time"), waited_s
            ),
            task_seconds={
                f"{t.get('f_component_name')}@guest:{g}": float(t.get("f_elapsed") or 0) / 1000.0 for t in tasks
            },
        )
