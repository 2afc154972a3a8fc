"""The report of a real launcher run, rendered again: the files must not change by a byte.

``tests/golden/report/results.json`` is the results.json of a full ``fatelab experiment --engine
launcher`` run on the bundled sample; ``report.md`` and ``report.html`` beside it were rendered from it
by the report writer before it was split into modules (commit 087ea9b). report.md was then also
byte-identical to that run's own report.md. Since then one intended change: the arms section names the
engine behind its numbers (issue 11). The figures are stubbed with a fixed token PNG so that
report.html (which embeds them) does not depend on matplotlib's version; the figure functions
themselves are tested in test_report.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report import figures as plots
from harness.report.write import write_report

GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
TOKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"golden figure stub"


@pytest.fixture()
def stub_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    def stub(*args: Any, **_k: Any) -> Path:
        path = next(a for a in args if isinstance(a, Path))
        path.write_bytes(TOKEN_PNG)
        return path

    for name in ("plot_arms", "plot_sweep", "plot_roc"):
        monkeypatch.setattr(plots, name, stub)


@pytest.mark.usefixtures("stub_figures")
@pytest.mark.parametrize("name", ["results.json", "report.md", "report.html"])
def test_launcher_run_renders_to_the_golden_files(tmp_path: Path, name: str) -> None:
    results = json.loads((GOLDEN / "results.json").read_text(encoding="utf-8"))
    run_dir = write_report(results, tmp_path)
    assert (run_dir / name).read_bytes() == (GOLDEN / name).read_bytes()
