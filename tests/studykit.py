"""A ``fatelab experiment`` subprocess and the run ledger it writes: for tests that interrupt studies.

Shared by tests/test_interrupted_runs.py (embedded FATE-Flow) and tests/lab (the lab cluster).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.engines.run_ledger import RunLedger

ROOT = Path(__file__).resolve().parents[1]
RUNS_DIR = ROOT / ".fatelab" / "runs"
# Generous: a busy 2-core machine can take minutes to prepare, upload and schedule.
WAIT_S = 900
# A short CLI call (help, config errors, status) takes seconds on a quiet machine, but at a load average of
# 50 on 2 cores importing pandas alone can take a minute: the bound only catches a hang.
CLI_TIMEOUT_S = 600


def run_fatelab(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m harness.cli ARGS`` with its output captured, as a user would run ``fatelab``."""
    return subprocess.run(  # noqa: S603 (our own CLI, fixed argv)
        [sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )


class Study:
    """One ``fatelab experiment`` process and the ledger it writes."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.before = set(RUNS_DIR.glob("*.json")) if RUNS_DIR.exists() else set()
        argv = [sys.executable, "-m", "harness.cli", "experiment", "--no-sweep", "--quiet", *args]
        with open(log, "w") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603

    def output(self) -> str:
        return self.log.read_text()

    def ledger(self) -> RunLedger | None:
        new = set(RUNS_DIR.glob("*.json")) - self.before if RUNS_DIR.exists() else set()
        loaded = [RunLedger.load(p) for p in new]
        mine = [x for x in loaded if x is not None and x.pid == self.process.pid]
        return mine[0] if mine else None

    def running_job(self, state_of: Callable[[str], str]) -> tuple[RunLedger, str]:
        """Wait until this run's HomoLR job runs (``state_of(job id)``); return the ledger and the job id."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the study ended before its job ran:\n{self.output()[-3000:]}"
            ledger = self.ledger()
            for job in ledger.jobs if ledger else ():
                if job.kind == "job" and state_of(job.job_id) == "running":
                    return ledger, job.job_id
            time.sleep(2)
        pytest.fail(f"waited {WAIT_S} s for the study's HomoLR job to run:\n{self.output()[-3000:]}")

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"waited {WAIT_S} s for the study to exit:\n{self.output()[-3000:]}")


