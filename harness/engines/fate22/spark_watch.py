"""A Spark party whose cluster lost every executor fails with a named error instead of waiting forever.

Spark's own answer to a killed worker is to re-run the lost tasks on the executors that remain. When
none remain (the party's only worker died), the scheduler waits for resources without end ("Initial job
has not accepted any resources"): observed on loopback, the fit hung until the launcher's own timeout.
This watch runs in the party process beside the SparkContext: while a job is active and no executor has
been alive for ``limit`` seconds, it cancels the party's jobs, and the party fails with
:class:`SparkExecutorsLost` naming the master and how long it waited.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

POLL_S = 2.0


class SparkExecutorsLost(RuntimeError):
    """The party's Spark cluster had no live executor while the party's job waited."""


@dataclass
class Starved:
    """Since when a job has been waiting with no executor (None: not starving)."""

    since: float | None = None

    def step(self, now: float, *, busy: bool, executors: int, limit: float) -> bool:
        """Advance by one observation; True once starving has lasted ``limit`` seconds."""
        if not busy or executors > 0:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= limit


class ExecutorWatch:
    """Polls one SparkContext; on starvation cancels its jobs and remembers why."""

    def __init__(self, context: Any, limit: float) -> None:
        self.context = context
        self.limit = limit
        self.reason: str | None = None
        self._starved = Starved()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fatelab-spark-watch", daemon=True)

    def start(self) -> ExecutorWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def executors(self) -> int:
        # The JVM status tracker lists the driver too; pyspark's StatusTracker does not expose executors.
        return len(self.context._jsc.sc().statusTracker().getExecutorInfos()) - 1  # noqa: SLF001

    def busy(self) -> bool:
        return bool(self.context.statusTracker().getActiveJobsIds())

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                tripped = self._starved.step(
                    time.monotonic(), busy=self.busy(), executors=self.executors(), limit=self.limit
                )
            except Exception:  # noqa: BLE001 - a context being stopped: nothing left to watch
                return
            if tripped:
                self.reason = (
                    f"the Spark cluster {self.context.master} had no live executor for {self.limit:.0f} s while "
                    "this party's job waited (its worker(s) down?); the party's Spark jobs were cancelled"
                )
                print(f"[fatelab] {self.reason}", file=sys.stderr, flush=True)
                self.context.cancelAllJobs()
                return
