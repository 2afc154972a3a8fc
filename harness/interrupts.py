"""SIGTERM and SIGHUP end a run the way Ctrl-C does: cleanly, with its FATE jobs stopped.

Timeouts, CI runners, systemd and batch schedulers end a process with SIGTERM (a closed terminal
sends SIGHUP), not SIGINT. Python's default for those is to die on the spot, skipping every
``finally`` and ``except`` that would stop what the run submitted. Here they raise ``Interrupted``, a
KeyboardInterrupt, so the same clean-up runs for all three. While that clean-up runs, further
signals are noted and ignored: a second SIGTERM from an impatient supervisor must not cut the
stopping of jobs short (SIGKILL still can; the next run then stops what is left, see run_ledger).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

# SIGINT too: Python's own KeyboardInterrupt would reach the main thread only.
HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Set when a handled signal arrived: Python raises in the main thread only, so threads that poll
# FATE on the run's behalf check this and end too.
_stopping: list[int] = []
_stopping_lock = threading.Lock()


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within this block SIGTERM/SIGHUP raise ``Interrupted`` once; later ones are ignored."""
    def handler(signum: int, frame: FrameType | None) -> None:
        with _stopping_lock:
            again = bool(_stopping)
            _stopping.append(signum)
        if again:
            print(f"fatelab: {signal.Signals(signum).name} again: still stopping FATE jobs", file=sys.stderr)
            return
        raise Interrupted(signum)

    _stopping.clear()
    try:
        with _handlers(handler):
            yield
    finally:
        _stopping.clear()


def raise_if_stopping() -> None:
    """In a thread working for the run: end it once the run was told to stop."""
    if _stopping:
        raise Interrupted(_stopping[0])


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Clean-up that must finish: SIGINT/SIGTERM/SIGHUP are ignored until it is done."""
    with _handlers(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def _handlers(handler: Any) -> Iterator[None]:
    """``handler`` for every signal a run handles, and the previous handlers back afterwards."""
    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
