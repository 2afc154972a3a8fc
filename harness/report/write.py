"""A run's report directory, written all or nothing: ``reports/<run_id>/`` and ``reports/latest``.

The run directory is built under a hidden temporary name beside its final place and renamed into
place only when every file is written (results.json, the figures, report.md, report.html); then
``latest`` is swapped to it with ``os.replace`` of a fresh symlink. A failure at any point leaves no
run directory and the previous ``latest`` untouched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.report import figures, markdown
from harness.report import html as report_html
from harness.report.results import REPORT_FILE, RESULTS_FILE, to_jsonable

LATEST = "latest"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def write_report(results: Mapping[str, Any], reports_dir: Path) -> Path:
    """Write ``reports_dir/<run_id>/`` (results.json, report.md, report.html, PNGs), point ``latest`` at it.

    Returns the run directory. Nothing is left behind if any step fails.
    """
    reports_dir = Path(reports_dir)
    data = to_jsonable(results)
    run_id = _check_run_id(data.get("run_id"))
    final = reports_dir / run_id
    _check_free(final, reports_dir / LATEST)
    reports_dir.mkdir(parents=True, exist_ok=True)
    # A hidden, unique sibling (same filesystem, so the rename is atomic). Plain mkdir rather than
    # mkdtemp so the finished directory gets the user's umask, not mkdtemp's 0700.
    tmp = reports_dir / f".{run_id}.{secrets.token_hex(6)}.partial"
    tmp.mkdir()
    try:
        _write_files(data, tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_latest(reports_dir, run_id)
    return final


def _write_files(data: Mapping[str, Any], run_dir: Path) -> None:
    # Module attributes, not imported names: a test replaces one to fail the write half-way.
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    (run_dir / RESULTS_FILE).write_text(text + "\n", encoding="utf-8")
    plans = figures.render_figures(data, run_dir)
    (run_dir / REPORT_FILE).write_text(markdown.render_markdown(data, plans), encoding="utf-8")
    report_html.write_html(data, plans, run_dir)


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or run_id == LATEST:
        raise ConfigError(
            f"run_id {run_id!r} cannot be used as a report directory name",
            hint="use letters, digits, '.', '_' or '-' (e.g. 20261126-051500-ab12cd), not 'latest'",
        )
    return run_id


def _check_free(final: Path, latest: Path) -> None:
    """Refuse before any work: a run's directory is never overwritten, ``latest`` must be a link."""
    if final.exists() or final.is_symlink():
        raise ConfigError(f"report directory {final} already exists",
                          hint="every run needs a new run_id; remove the old directory to re-render it")
    if latest.exists() and not latest.is_symlink():
        raise ConfigError(f"{latest} exists and is not a symlink, so it cannot be pointed at the new run",
                          hint=f"move {latest} out of the way")


def _point_latest(reports_dir: Path, run_id: str) -> None:
    tmp_link = reports_dir / f".{LATEST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    os.symlink(run_id, tmp_link)  # relative, so the reports tree can be moved or copied whole
    try:
        os.replace(tmp_link, reports_dir / LATEST)
    except BaseException:
        tmp_link.unlink(missing_ok=True)
        raise
