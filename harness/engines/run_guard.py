"""A run's FATE jobs end with the run: ledger, signals, orphans of dead runs, the engine's queue.

``guarded_run`` wraps one study run: SIGTERM/SIGHUP act like Ctrl-C, every job the run submits is
recorded (engines/run_ledger.py), and whatever way the run ends other than success, its unfinished
jobs are stopped before the process exits, one line each. Once the engine is up, ``after_start``
stops what runs that died earlier left behind, and says what else is queued on the engine and why
this run may wait behind it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.engines import run_ledger
from harness.engines.fate22.client import FlowRestClient
from harness.interrupts import shielded, signals_interrupt

Say = Callable[[str], None]


class HasFlows(Protocol):
    def flow_clients(self) -> Mapping[str, FlowRestClient]: ...


def say_stderr(message: str) -> None:
    print(f"[fatelab] {message}", file=sys.stderr, flush=True)


def client_lookup(engine: HasFlows) -> run_ledger.ClientFor:
    clients: dict[str, FlowRestClient] | None = None

    def client_for(endpoint: str) -> FlowRestClient | None:
        nonlocal clients
        if clients is None:
            clients = dict(engine.flow_clients())
        return clients.get(endpoint)

    return client_for


@dataclass
class GuardedRun:
    ledger: run_ledger.RunLedger
    engine: HasFlows
    runs_dir: Path
    keep_orphans: bool
    say: Say

    def after_start(self) -> None:
        """Stop dead runs' leftovers on this engine; name whatever else is queued ahead of us."""
        run_ledger.sweep_orphans(self.runs_dir, client_lookup(self.engine), self.say, keep=self.keep_orphans)
        owners = run_ledger.job_owners(self.runs_dir)
        for endpoint, client in self.engine.flow_clients().items():
            ahead = active_jobs(client)
            if ahead:
                self.say(
                    f"{len(ahead)} FATE job(s) already queued or running on {endpoint}; this run's jobs wait "
                    "behind them: "
                    + "; ".join(f"{j['job_id']} ({run_ledger.describe_owner(j['job_id'], owners)})" for j in ahead)
                )


@contextlib.contextmanager
def guarded_run(
    runs_dir: Path, run_id: str, engine: HasFlows, *, keep_orphans: bool = False, say: Say = say_stderr
) -> Iterator[GuardedRun]:
    ledger = run_ledger.RunLedger(runs_dir, run_id)
    guard = GuardedRun(ledger, engine, runs_dir, keep_orphans, say)
    with signals_interrupt(), run_ledger.activate(ledger):
        try:
            yield guard
        except BaseException:
            with shielded():
                left = ledger.unfinished()
                if left:
                    say(f"run {run_id} ended early: stopping the FATE jobs it left unfinished")
                    if not run_ledger.stop_jobs(left, client_lookup(engine), say, own_run=True):
                        ledger.close()
                else:
                    ledger.close()
            raise
    ledger.close()


# -- the embedded engine's queue ---------------------------------------------------------------
def active_jobs(client: FlowRestClient) -> list[dict]:
    """Jobs queued or running on one FATE-Flow, one record per job id (oldest first)."""
    seen: dict[str, dict] = {}
    for state in sorted(run_ledger.ACTIVE_STATES):
        for record in client.jobs_in_state(state):
            seen.setdefault(str(record.get("job_id")), record)
    return sorted(seen.values(), key=lambda r: r.get("create_time") or 0)


def job_line(record: Mapping, owners: Mapping[str, run_ledger.RunLedger], now_ms: float | None = None) -> str:
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    created = record.get("create_time")
    created = now_ms if created is None else created
    age = max(0, int((now_ms - float(created)) / 1000))
    job_id = str(record.get("job_id"))
    return (
        f"job {job_id} {str(record.get('status', '')).lower()} for {age // 60}m{age % 60:02d}s "
        f"({run_ledger.describe_owner(job_id, owners)})"
    )


def stop_all_jobs(client: FlowRestClient, say: Say, *, settle_s: float = 120.0) -> int:
    """Stop every queued or running job, so a restarted FATE-Flow has nothing to resume.

    Returns once FATE-Flow records them as ended (or after ``settle_s``, saying which are not): the
    server must not be shut down between accepting a stop and writing it down.
    """
    jobs = active_jobs(client)
    for record in jobs:
        client.stop(str(record["job_id"]))
        say(f"stopped FATE job {record['job_id']}, was {str(record.get('status', '')).lower()}")
    deadline = time.monotonic() + settle_s
    while jobs and (still := active_jobs(client)):
        if time.monotonic() > deadline:
            say(f"FATE-Flow still lists {', '.join(str(r['job_id']) for r in still)} as active after {settle_s:.0f} s")
            break
        time.sleep(1)
    return len(jobs)
