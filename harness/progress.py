"""How a long step shows that it is alive: a redrawn bar on a terminal, one line per change in a log.

A FATE job is minutes of scheduler work with nothing to see. On a terminal a bar redraws on every
poll (job id, running tasks, elapsed). In a log that is not a terminal (CI, ``nohup``, a scheduler's
capture) redrawing makes noise, so a line is printed when the job's state or running tasks change.
``--quiet`` turns both off; the run's own summary lines still print.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TextIO

# --quiet: the run's own progress lines (study.scenario.say) stay silent, only its summary prints. Set
# once by the CLI before the run; a module flag because scenarios say things from deep inside a seed.
_quiet = [False]


def set_quiet(quiet: bool) -> None:
    _quiet[0] = bool(quiet)


def is_quiet() -> bool:
    return _quiet[0]


class Progress(Enum):
    BAR = "bar"
    LINES = "lines"
    OFF = "off"

    @classmethod
    def of(cls, value: bool | Progress) -> Progress:
        """Engines and tests may still say True/False: a bar, or nothing."""
        if isinstance(value, Progress):
            return value
        return cls.BAR if value else cls.OFF

    @classmethod
    def for_stream(cls, *, quiet: bool, stream: TextIO = sys.stderr) -> Progress:
        if quiet:
            return cls.OFF
        return cls.BAR if stream.isatty() else cls.LINES

    def without_bars(self) -> Progress:
        """For work done in several threads at once, whose bars would overwrite each other."""
        return Progress.LINES if self is Progress.BAR else self


class _Shown:
    """What both kinds of progress share: the mode, where lines go, the clock and, on a terminal, a bar."""

    def __init__(
        self,
        mode: bool | Progress,
        what: str,
        *,
        total: int | None,
        unit: str,
        stream: TextIO,
        clock: Callable[[], float],
    ) -> None:
        self.mode = Progress.of(mode)
        self.what = what
        self.stream, self.clock = stream, clock
        self.started = clock()
        self.bar = None
        if self.mode is Progress.BAR:
            from tqdm import tqdm

            # tqdm's own bar shows n/total (when there is a total), elapsed and its remaining-time estimate.
            self.bar = tqdm(total=total, desc=what, unit=unit, leave=False, dynamic_ncols=True, file=stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class JobProgress(_Shown):
    """The visible side of waiting for one FATE job."""

    def __init__(
        self,
        mode: bool | Progress,
        what: str,
        job_id: str,
        *,
        stream: TextIO = sys.stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(mode, what, total=None, unit="task", stream=stream, clock=clock)
        self.job_id = job_id
        self.last_line: tuple[str, int, tuple[str, ...]] | None = None

    def update(self, state: str, done: int, total: int, running: Sequence[str]) -> None:
        if self.bar is not None:
            if total:
                self.bar.total = total
            self.bar.n = done
            self.bar.set_postfix_str(f"{self.job_id} {','.join(running) or state}")
            self.bar.refresh()
        elif self.mode is Progress.LINES:
            key = (state, done, tuple(running))
            if key != self.last_line:
                self.last_line = key
                tasks = f", running {', '.join(running)}" if running else ""
                counted = f", {done}/{total} tasks done" if total else ""
                print(
                    f"[fatelab] FATE job {self.job_id} ({self.what}): {state}{tasks}{counted}, "
                    f"{self.clock() - self.started:.0f} s",
                    file=self.stream,
                    flush=True,
                )



class CountProgress(_Shown):
    """Work counted in units that finish one by one (the fits of a launch): done / total, elapsed, ETA.

    On a terminal a bar redrawn on every ``update`` (the caller polls every second or so); in a log one
    line per change of ``done``, and a line every ``heartbeat_s`` while nothing finishes, so a slow
    first unit (party processes importing FATE) does not look like a hang.
    """

    def __init__(
        self,
        mode: bool | Progress,
        what: str,
        total: int,
        *,
        unit: str = "fit",
        stream: TextIO = sys.stderr,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_s: float = 10.0,
    ) -> None:
        super().__init__(mode, what, total=total, unit=unit, stream=stream, clock=clock)
        self.total, self.unit, self.heartbeat_s = total, unit, heartbeat_s
        self.done = 0
        self.first_done_at: float | None = None
        self.last_line_at = self.started

    def eta_s(self) -> float | None:
        """Seconds left at the pace since the first unit finished (the first one also pays start-up)."""
        if self.done >= self.total:
            return 0.0
        if self.first_done_at is None or self.done < 2:
            return None
        pace = (self.clock() - self.first_done_at) / (self.done - 1)
        return pace * (self.total - self.done)

    def line(self) -> str:
        eta = self.eta_s()
        left = f", ETA {eta:.0f} s" if eta is not None else f", ETA after the first {self.unit}s"
        if self.done >= self.total:
            left = ", waiting for the processes to exit"
        return (f"[fatelab] {self.what}: {self.done}/{self.total} {self.unit}s done, "
                f"{self.clock() - self.started:.0f} s elapsed{left}")

    def update(self, done: int) -> None:
        changed = done != self.done
        if changed and self.first_done_at is None and done > 0:
            self.first_done_at = self.clock()
        self.done = done
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()  # also when unchanged: the elapsed time moves
        elif self.mode is Progress.LINES:
            now = self.clock()
            if changed or now - self.last_line_at >= self.heartbeat_s:
                self.last_line_at = now
                print(self.line(), file=self.stream, flush=True)
