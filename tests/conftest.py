"""Suite-wide hooks.

With FATELAB_REQUIRE_LAB=1 (set by CI's lab stage) a lab test that would skip fails instead: a CI run
whose lab silently did not come up must not pass.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

REQUIRE_LAB = os.environ.get("FATELAB_REQUIRE_LAB") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_LAB and report.skipped and item.get_closest_marker("lab") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"FATELAB_REQUIRE_LAB=1 but this lab test would skip: {reason}"
