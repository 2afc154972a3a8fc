"""Several launches at once (harness/engines/fate22/launcher_lanes.py): dealing, order, failure, record."""

from __future__ import annotations

import threading
import time

import pytest

from harness.engines.fate22.launcher_lanes import (
    LaneCancelled,
    LaneProgress,
    deal,
    launch_record,
    merge_in_order,
    run_lanes,
)
from harness.errors import EngineError


def test_fits_are_dealt_round_robin_and_put_back_in_order() -> None:
    assert deal(5, 2) == [[0, 2, 4], [1, 3]]
    assert deal(1, 2) == [[0]]  # never an empty lane
    assert deal(3, 1) == [[0, 1, 2]]
    groups = deal(7, 3)
    per_lane = [[f"fit{i}" for i in g] for g in groups]
    assert merge_in_order(groups, per_lane) == [f"fit{i}" for i in range(7)]


def test_progress_is_the_sum_over_lanes() -> None:
    seen: list[int] = []
    progress = LaneProgress(2, seen.append)
    progress.report(0, 3)
    progress.report(1, 2)
    progress.report(0, 4)
    assert seen == [3, 5, 6]
    progress.cancelled.set()
    with pytest.raises(LaneCancelled):
        progress.report(1, 3)


def test_a_failing_lane_stops_the_others_at_their_next_poll_and_its_error_is_raised() -> None:
    progress = LaneProgress(2, lambda total: None)
    polls = threading.Event()

    def lane(k: int) -> str:
        if k == 1:
            polls.wait(10)
            raise EngineError("the FATE launch failed (exit code 1): party host:9998 failed")
        started = time.monotonic()
        while time.monotonic() - started < 60:  # a long launch, polling as run_launch does
            polls.set()
            progress.report(0, 1)
            time.sleep(0.01)
        return "finished"

    started = time.monotonic()
    with pytest.raises(EngineError, match="party host:9998 failed") as error:
        run_lanes(2, lane, on_failure=progress.cancelled.set)
    assert not isinstance(error.value, LaneCancelled)
    assert time.monotonic() - started < 30, "the healthy lane ran to its end instead of stopping"


def test_one_lane_runs_in_the_calling_thread() -> None:
    assert run_lanes(1, lambda k: threading.current_thread().name) == [threading.current_thread().name]


def test_the_record_of_several_launches_sums_fits_and_keeps_each_lane() -> None:
    one = {"session": "s-l0", "parties": ["guest:9999", "host:9998"], "fits": 3, "launch_s": 10.0,
           "fit_s_sum": 9.0, "computing": {"guest:9999": {"engine": "standalone"}}}
    two = {**one, "session": "s-l1", "parties": ["guest:9999", "host:10000"], "fits": 2, "fit_s_sum": 7.5}
    assert launch_record([one], 10.5) == one
    merged = launch_record([one, two], 11.0)
    assert merged["session"] == "s" and merged["fits"] == 5 and merged["fit_s_sum"] == 16.5
    assert merged["launch_s"] == 11.0 and merged["parties"] == ["guest:9999", "host:9998", "host:10000"]
    assert [lane["session"] for lane in merged["lanes"]] == ["s-l0", "s-l1"]
