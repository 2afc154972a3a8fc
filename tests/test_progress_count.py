"""harness.progress.CountProgress: the launcher's fits-done bar with ETA, or one line per change in a log."""

from __future__ import annotations

import io

from harness.progress import CountProgress, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_mode_prints_one_line_per_change_with_elapsed_and_eta() -> None:
    out, clock = io.StringIO(), Clock()
    counter = CountProgress(Progress.LINES, "FATE launcher", 10, stream=out, clock=clock, heartbeat_s=10)
    clock.now = 108.0
    counter.update(1)  # the first fit also paid the party processes' start-up: no ETA from it
    clock.now = 110.0
    counter.update(1)  # unchanged, within the heartbeat: nothing printed
    clock.now = 112.0
    counter.update(3)  # 2 fits in 4 s since the first: 2 s each, 7 left
    lines = out.getvalue().splitlines()
    assert lines == [
        "[fatelab] FATE launcher: 1/10 fits done, 8 s elapsed, ETA after the first fits",
        "[fatelab] FATE launcher: 3/10 fits done, 12 s elapsed, ETA 14 s",
    ]


def test_log_mode_says_it_is_alive_every_heartbeat_while_nothing_finishes() -> None:
    out, clock = io.StringIO(), Clock()
    counter = CountProgress(Progress.LINES, "FATE launcher", 4, stream=out, clock=clock, heartbeat_s=10)
    for t in range(101, 131):
        clock.now = float(t)
        counter.update(0)
    assert out.getvalue().count("0/4 fits done") == 3  # at 10, 20 and 30 s


def test_bar_mode_redraws_with_total_and_quiet_prints_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    bar = CountProgress(Progress.BAR, "FATE launcher", 6, stream=out, clock=clock)
    bar.update(2)
    bar.close()
    assert "2/6" in out.getvalue()
    quiet = io.StringIO()
    off = CountProgress(Progress.OFF, "FATE launcher", 6, stream=quiet, clock=clock)
    off.update(3)
    off.close()
    assert quiet.getvalue() == ""
