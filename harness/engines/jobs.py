"""The one submit/wait loop for FATE jobs, whatever FATE runs them (2.2 standalone, 2.2 on hosts, 1.8 on KubeFATE).

Every engine that schedules through a FATE-Flow submits all its fits at once, waits for them in
order and collects the guest's scores. What differs per FATE version and deployment is behind
:class:`JobBackend`: how a job is built and submitted, how its state and tasks are read, what is
watched while it runs, how a failure is explained (failing party, log tail) and how a result is read.

Rules every engine shares:

- progress: a bar or one line per change (``harness.progress.JobProgress``), fed from each poll;
- a job that ends badly, a party found down, a status query that fails or the timeout raise the
  backend's error (with the failing task's log); a party down or the timeout stop the job first,
  since FATE would wait for days;
- when a job fails, every job submitted behind it is stopped (so FATE is left idle rather than busy
  on jobs whose results nobody will read); on Ctrl-C/SIGTERM the current one is stopped too;
- a finished job is marked in the run ledger (``harness.engines.run_ledger``; a no-op for jobs the
  backend did not record there).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.engines import run_ledger
from harness.engines.base import FitJob, JobResult, Roles
from harness.errors import EngineError
from harness.interrupts import raise_if_stopping
from harness.progress import JobProgress, Progress

POLL_SECONDS = 2.0
JOB_TIMEOUT = 3600.0
# Lines of a failed task's log shown in the error (the rest: the hint says where).
LOG_LINES = 40
TERMINAL_FAILURES = ("failed", "canceled", "timeout")

# (state, parties found down) -> the error to raise; state reads after "FATE job <id> (<what>)".
Failure = Callable[[str, Sequence[str]], EngineError]
# Called between polls; returns the parties whose FATE-Flow is considered gone (empty: all well).
Watch = Callable[[], Sequence[str]]


@dataclass(frozen=True)
class Poll:
    """One look at a job: FATE's state (lower case), its record, and its tasks for the progress line."""

    state: str
    record: dict[str, Any] = field(default_factory=dict)
    done: int = 0
    total: int = 0
    running: tuple[str, ...] = ()


def nothing_down() -> Sequence[str]:
    return ()


@dataclass(frozen=True)
class Pace:
    """How long to wait for a job and how often to look; ``sleep``/``clock`` are replaceable in tests."""

    timeout: float = JOB_TIMEOUT
    poll_seconds: float = POLL_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


DEFAULT_PACE = Pace()


class JobBackend(Protocol):
    """One FATE version's (and deployment's) side of the loop."""

    def submit(self, what: str, job: FitJob) -> str:
        """Submit to the guest's FATE-Flow; return the job id (raise EngineError when a party cannot take it)."""

    def poll(self, job_id: str, roles: Roles) -> Poll:
        """The guest's view of the job (raise EngineError when FATE-Flow cannot be queried)."""

    def watch(self, roles: Roles) -> Watch:
        """A fresh liveness watch for one job of these roles."""

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        """The error for a job that ended badly: failing party, its task log tail, what to do."""

    def stop(self, job_id: str, roles: Roles) -> None:
        """Ask the guest's FATE-Flow to stop the job."""

    def collect(self, job_id: str, job: FitJob, record: dict[str, Any], waited_s: float) -> JobResult:
        """The guest's scores and metrics of a finished job; ``waited_s`` is our clock since submission."""


def wait_job(
    poll: Callable[[], Poll],
    job_id: str,
    *,
    what: str,
    failure: Failure,
    stop: Callable[[], None],
    progress: bool | Progress,
    watch: Watch = nothing_down,
    pace: Pace = DEFAULT_PACE,
) -> Poll:
    """Poll one job until it succeeds and return the last poll; raise ``failure(...)`` otherwise.

    A job that ends badly, a party ``watch`` reports down, a status query that fails, or ``timeout``
    raise ``failure(...)``; the last two ``stop`` the job first (FATE would wait for days).
    """
    started = pace.clock()
    shown = JobProgress(progress, what, job_id, clock=pace.clock)
    try:
        while True:
            # A worker thread (per-party uploads) learns of SIGTERM here; the main thread got it raised.
            raise_if_stopping()
            try:
                seen = poll()
            except EngineError as exc:
                raise failure(f"could not be queried ({exc.message})", ()) from exc
            shown.update(seen.state, done=seen.done, total=seen.total, running=seen.running)
            if seen.state == "success":
                run_ledger.note_finished(job_id)
                return seen
            if seen.state in TERMINAL_FAILURES:
                # FATE's scheduler has already stopped every party's tasks of this job.
                raise failure(seen.state, ())
            down = watch()
            if down:
                stop()
                raise failure("stopped", down)
            if pace.clock() - started > pace.timeout:
                stop()
                raise failure(f"did not finish within {pace.timeout:.0f} s and was stopped", ())
            pace.sleep(pace.poll_seconds)
    finally:
        shown.close()


def run_jobs(
    backend: JobBackend,
    jobs: Sequence[tuple[str, FitJob]],
    *,
    progress: bool | Progress,
    pace: Pace = DEFAULT_PACE,
) -> list[JobResult]:
    """Submit every job at once, then wait for and collect each in order.

    FATE-Flow runs as many at a time as its cores allow; most of a job is process start-up and
    scheduler polling, so overlapping jobs hides part of that latency. When anything goes wrong,
    every job of this call that may still be queued or running is stopped before the error leaves.
    """
    submitted: list[tuple[str, FitJob, str, float]] = []
    try:
        for what, job in jobs:
            submitted.append((what, job, backend.submit(what, job), pace.clock()))
    except BaseException:
        stop_jobs(backend, submitted)
        raise
    results = []
    for index, (what, job, job_id, submitted_at) in enumerate(submitted):
        roles = job.roles
        try:
            seen = wait_job(
                lambda job_id=job_id, roles=roles: backend.poll(job_id, roles),
                job_id,
                what=what,
                failure=lambda state, down, job_id=job_id, what=what, roles=roles: backend.failure(
                    job_id, what, roles, state, down
                ),
                stop=lambda job_id=job_id, roles=roles: backend.stop(job_id, roles),
                progress=progress,
                watch=backend.watch(roles),
                pace=pace,
            )
            results.append(backend.collect(job_id, job, seen.record, pace.clock() - submitted_at))
        except Exception:
            # This job has ended (wait_job stops it when it has to); the ones behind it are not wanted.
            stop_jobs(backend, submitted[index + 1 :])
            raise
        except BaseException:
            # Interrupted (Ctrl-C): this job and every one behind it.
            stop_jobs(backend, submitted[index:])
            raise
    return results


def stop_jobs(backend: JobBackend, submitted: Sequence[tuple[str, FitJob, str, float]]) -> None:
    """Best effort: the error that made us stop is what the user must see, not a failed stop."""
    for _, job, job_id, _ in submitted:
        try:
            backend.stop(job_id, job.roles)
        except Exception:  # noqa: S112 - see docstring
            continue


def wall_seconds(elapsed_ms: Any, start_ms: Any, end_ms: Any, fallback_s: float) -> float:
    """FATE's start-to-end seconds of a finished job (its records keep milliseconds).

    ``elapsed`` is end minus start as FATE-Flow stores it; start is when the job got its resources
    and ran, so queueing behind other jobs is not in it. ``fallback_s`` (our clock since submission,
    queueing included) is used only when FATE recorded neither.
    """
    if elapsed_ms:
        return float(elapsed_ms) / 1000.0
    if start_ms and end_ms and end_ms >= start_ms:
        return (float(end_ms) - float(start_ms)) / 1000.0
    return fallback_s


# A FATE task log prints the job's runtime config, the party's RabbitMQ password among it ('password':
# '...'); what the harness shows of a log goes to terminals and CI logs, so such values are masked.
_SECRET = re.compile(
    r"""(?P<key>['"]?\b\w*?(?:password|passwd|secret|token|api_key|auth_key|client_key|site_key)\b['"]?\s*[:=]\s*)"""
    r"""(?:(?P<q>['"])(?P<quoted>.*?)(?P=q)|(?P<bare>[^\s,'"}\]]+))""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the values of password-, secret-, token- and key-like settings replaced by ***."""
    def mask(m: re.Match[str]) -> str:
        quote = m.group("q") or ""
        return f"{m.group('key')}{quote}***{quote}"

    return _SECRET.sub(mask, text)


def tail(text: str, lines: int = LOG_LINES) -> str:
    """The last ``lines`` lines of a log, secrets masked (:func:`redact`)."""
    return redact("\n".join(text.strip().splitlines()[-lines:]))
