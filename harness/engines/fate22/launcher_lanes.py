"""Several launches at once: a run's HomoLR fits dealt to lanes, each lane one launch of FATE's launcher.

A HomoLR fit on the bundled sample spends part of its time waiting on federation round trips, so a
second launch beside the first uses some of that idle time (measured on 2 idle cores: 60 fits in 209 s
against 224 s for one launch; docs/benchmarks.md). Every fit is independent of the others (its own
federation session, its own seeded state), so which lane runs it changes no number. Fits are dealt
round-robin so that each lane gets a share of the heavy (3-party) and light (2-party) fits.

The lanes share one progress bar. When one lane fails, the others are stopped at their next poll and the
first failure is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from harness.errors import EngineError

T = TypeVar("T")


class LaneCancelled(EngineError):
    """Raised in a lane's poll when another lane failed: its launch is then killed like a failed one."""


def deal(count: int, lanes: int) -> list[list[int]]:
    """Indices ``0..count-1`` dealt round-robin to at most ``lanes`` non-empty lanes."""
    lanes = max(1, min(lanes, count))
    return [list(range(k, count, lanes)) for k in range(lanes)]


class LaneProgress:
    """Each lane reports its own count of finished fits; ``on_total`` sees their sum (thread-safe)."""

    def __init__(self, lanes: int, on_total: Callable[[int], None]) -> None:
        self._done = [0] * lanes
        self._lock = threading.Lock()
        self._on_total = on_total
        self.cancelled = threading.Event()

    def report(self, lane: int, done: int) -> None:
        if self.cancelled.is_set():
            raise LaneCancelled("stopped: another launch of this run failed")
        with self._lock:
            self._done[lane] = done
            self._on_total(sum(self._done))


def run_lanes(lanes: int, run_lane: Callable[[int], T], on_failure: Callable[[], None] = lambda: None) -> list[T]:
    """``run_lane(k)`` for every lane at once; the lanes' results in lane order, or the first real failure.

    ``on_failure`` is called as soon as any lane fails (so the others can stop), not after they end."""
    if lanes == 1:
        return [run_lane(0)]

    def guarded(k: int) -> T:
        try:
            return run_lane(k)
        except BaseException:
            on_failure()
            raise

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="fatelab-lane") as pool:
        futures = [pool.submit(guarded, k) for k in range(lanes)]
        errors: list[BaseException] = []
        results: list[T] = []
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after every lane has stopped
                errors.append(exc)
    real = [e for e in errors if not isinstance(e, LaneCancelled)]
    if errors:
        raise (real or errors)[0]
    return results


def merge_in_order(groups: Sequence[Sequence[int]], per_lane: Sequence[Sequence[T]]) -> list[T]:
    """The lanes' results put back in the order of the jobs they were dealt from."""
    out: dict[int, T] = {}
    for indices, results in zip(groups, per_lane, strict=True):
        out.update(zip(indices, results, strict=True))
    return [out[i] for i in range(len(out))]


def launch_record(lanes: Sequence[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """One launch's record as it was; several: their sums, the run's wall time, and each lane's own."""
    if len(lanes) == 1:
        return dict(lanes[0])
    return {
        "session": lanes[0]["session"].rsplit("-l", 1)[0],
        "parties": list(dict.fromkeys(p for lane in lanes for p in lane["parties"])),
        "fits": sum(lane["fits"] for lane in lanes),
        "launch_s": round(wall_s, 2),
        "fit_s_sum": round(sum(lane["fit_s_sum"] for lane in lanes), 2),
        "computing": lanes[0]["computing"],
        "lanes": list(lanes),
    }
