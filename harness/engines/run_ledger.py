"""Which FATE jobs a run submitted, kept on disk so nothing it started outlives it unnoticed.

FATE-Flow keeps a job it was given until the job ends, whoever asked for it: a run that dies (SIGKILL,
a crash, a machine that lost power) leaves its uploads and HomoLR jobs queued or running, and a
FATE-Flow restarted later resumes them. The next study then waits behind them for many minutes with
no word why. So every run writes a ledger, ``<runs dir>/<run id>.json``: its pid (with the process
start time, so a recycled pid is not mistaken for the run) and each job it submitted, with the
FATE-Flow that scheduled it. A job that ended well is marked finished.

- On an interrupt (Ctrl-C, SIGTERM, SIGHUP) the run stops its own unfinished jobs before it exits.
- At start, a run finds the ledgers of runs that are no longer alive and stops their unfinished jobs
  on the FATE-Flows its engine reaches (or, asked to, leaves them and says so).

The ledger of the run in this process is process-wide (``activate``): a run is a process, and the
submit/wait loops record into it without every engine having to carry it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.output_pair import replace_file

# FATE-Flow 2.2 job states in which a job still holds or waits for resources (JobStatus in
# fate_flow/entity/types/_status.py); every other state is an end.
ACTIVE_STATES = frozenset({"ready", "waiting", "running"})

Say = Callable[[str], None]


class StoppableFlow(Protocol):
    """What stopping a job needs from a FATE-Flow client (FlowRestClient has it)."""

    def job_status(self, job_id: str, role: str | None = None, party_id: str | None = None) -> dict[str, Any]: ...

    def stop(self, job_id: str) -> None: ...

    def delete_table(self, namespace: str, name: str) -> None: ...


# endpoint ("host:port") -> the client that reaches it, or None when this engine does not.
ClientFor = Callable[[str], StoppableFlow | None]


@dataclass(frozen=True)
class LedgerJob:
    endpoint: str
    job_id: str
    what: str
    kind: str  # "upload" | "job"
    namespace: str = ""
    table: str = ""  # an upload's table: removed when the upload is stopped half-way


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if not fields or fields[0] == "Z":  # a zombie has finished running
        return None
    return int(fields[19])


class RunLedger:
    """One run's ledger file; written atomically, readable by the owner only."""

    def __init__(self, directory: Path, run_id: str, *, pid: int | None = None) -> None:
        self.directory = Path(directory)
        self.run_id = run_id
        self.pid = os.getpid() if pid is None else pid
        self.pid_start = process_start_ticks(self.pid)
        self.started_at = time.time()
        self.jobs: list[LedgerJob] = []
        self.finished: set[str] = set()
        # Per-party uploads record from worker threads.
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.directory / f"{self.run_id}.json"

    # -- recording -----------------------------------------------------------------------------
    def record(self, job: LedgerJob) -> None:
        with self._lock:
            self.jobs.append(job)
            self._write()

    def mark_finished(self, job_id: str) -> None:
        with self._lock:
            if job_id not in self.finished:
                self.finished.add(job_id)
                self._write()

    def unfinished(self) -> list[LedgerJob]:
        return [j for j in self.jobs if j.job_id not in self.finished]

    def close(self) -> None:
        """The run ended and left nothing behind: forget it."""
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {
            "run_id": self.run_id,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "started_at": self.started_at,
            "jobs": [asdict(j) for j in self.jobs],
            "finished": sorted(self.finished),
        }
        # Atomic: a sweeping run never reads half a ledger. Private: it names the run's jobs.
        replace_file(self.path, json.dumps(payload, indent=1), mode=0o600)

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> RunLedger | None:
        try:
            payload = json.loads(path.read_text())
            ledger = cls(path.parent, str(payload["run_id"]), pid=int(payload["pid"]))
            ledger.pid_start = payload.get("pid_start")
            ledger.started_at = float(payload.get("started_at") or 0.0)
            ledger.jobs = [LedgerJob(**j) for j in payload.get("jobs", [])]
            ledger.finished = set(payload.get("finished", []))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return ledger

    def alive(self) -> bool:
        """Whether the process that wrote this ledger still runs (and is that process, not a new one)."""
        start = process_start_ticks(self.pid)
        return start is not None and (self.pid_start is None or start == self.pid_start)


def ledgers(directory: Path) -> list[RunLedger]:
    found = [RunLedger.load(p) for p in sorted(Path(directory).glob("*.json"))]
    return [f for f in found if f is not None]


def job_owners(directory: Path) -> dict[str, RunLedger]:
    """job id -> the ledger of the run that submitted it."""
    return {job.job_id: ledger for ledger in ledgers(directory) for job in ledger.jobs}


# -- stopping ----------------------------------------------------------------------------------
def stop_jobs(
    jobs: Sequence[LedgerJob], client_for: ClientFor, say: Say, *, own_run: bool = False
) -> list[LedgerJob]:
    """Stop each job that is still queued or running; return the jobs this engine could not reach.

    One line per stopped job. In the run's own clean-up (``own_run``), a job FATE already reports as
    canceled was stopped by the run's error handling a moment ago and is reported the same way; failed
    or successful jobs are left as they are. An upload stopped part-way loses its table, so no later
    run can reuse half of it.
    """
    ended_by_us = (*ACTIVE_STATES, "canceled") if own_run else tuple(ACTIVE_STATES)
    unreachable = []
    for job in jobs:
        client = client_for(job.endpoint)
        if client is None:
            unreachable.append(job)
            continue
        try:
            state = str(client.job_status(job.job_id).get("status", "")).lower()
            if state in ACTIVE_STATES:
                client.stop(job.job_id)
            if state in ended_by_us:
                if job.kind == "upload" and job.table:
                    client.delete_table(job.namespace, job.table)
                say(f"stopped FATE {job.kind} {job.job_id} ({job.what}) on {job.endpoint}, was {state}")
        except Exception as exc:  # noqa: BLE001 - one unreachable FATE-Flow must not keep the others running
            say(f"could not stop FATE {job.kind} {job.job_id} ({job.what}) on {job.endpoint}: {exc}")
            unreachable.append(job)
    return unreachable


def with_header(say: Say, header: str) -> Say:
    """``say`` that prints ``header`` before its first line, and never when nothing is said."""
    pending = [header]

    def said(line: str) -> None:
        if pending:
            say(pending.pop())
        say(line)

    return said


def sweep_orphans(directory: Path, client_for: ClientFor, say: Say, *, keep: bool = False) -> int:
    """Stop the unfinished jobs of runs that are no longer alive; return how many jobs were handled.

    Jobs on FATE-Flows this engine does not reach stay in their ledger for a run that does.
    """
    handled = 0
    for ledger in ledgers(directory):
        if ledger.alive() or ledger.pid == os.getpid():
            continue
        left = ledger.unfinished()
        if not left:
            ledger.close()
            continue
        if keep:
            say(
                f"run {ledger.run_id} (pid {ledger.pid}) is gone but left {len(left)} FATE job(s) unfinished: "
                "left alone (--keep-orphans); they may delay this run"
            )
            continue
        header = f"run {ledger.run_id} (pid {ledger.pid}) is gone; stopping what it left queued or running"
        remaining = stop_jobs(left, client_for, with_header(say, header))
        handled += len(left) - len(remaining)
        if remaining:
            for job in left:
                if job not in remaining:
                    ledger.mark_finished(job.job_id)
        else:
            ledger.close()
    return handled


# -- the run in this process -------------------------------------------------------------------
_active: RunLedger | None = None


@contextlib.contextmanager
def activate(ledger: RunLedger) -> Iterator[RunLedger]:
    global _active
    previous, _active = _active, ledger
    try:
        yield ledger
    finally:
        _active = previous


def note_submitted(endpoint: str, job_id: str, what: str, kind: str, *, namespace: str = "", table: str = "") -> None:
    if _active is not None:
        _active.record(LedgerJob(endpoint, job_id, what, kind, namespace, table))


def note_finished(job_id: str) -> None:
    if _active is not None:
        _active.mark_finished(job_id)


def describe_owner(job_id: str, owners: Mapping[str, RunLedger]) -> str:
    ledger = owners.get(job_id)
    if ledger is None:
        return "not submitted by a fatelab run"
    state = "alive" if ledger.alive() else "gone"
    return f"run {ledger.run_id}, pid {ledger.pid} {state}"
