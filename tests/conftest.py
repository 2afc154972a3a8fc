"""Suite-wide hooks and the study-starting fixture.

With FATELAB_REQUIRE_LAB=1 (set by CI's lab stage) a lab test that would skip fails instead: a CI run
whose lab silently did not come up must not pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from studykit import Study

REQUIRE_LAB = os.environ.get("FATELAB_REQUIRE_LAB") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_LAB and report.skipped and item.get_closest_marker("lab") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"FATELAB_REQUIRE_LAB=1 but this lab test would skip: {reason}"


@pytest.fixture
def start_study(tmp_path: Path) -> Iterator[Callable[..., Study]]:
    """Start ``fatelab experiment`` logging to tmp_path/<name>.log; what still runs at the end is killed.

    For tests that interrupt a study: tests/test_interrupted_runs.py and the lab's cluster variant.
    """
    started: list[Study] = []

    def starter(name: str, *args: str) -> Study:
        started.append(Study(tmp_path / f"{name}.log", *args))
        return started[-1]

    yield starter
    for study in started:
        if study.process.poll() is None:
            study.process.kill()
            study.process.wait()
