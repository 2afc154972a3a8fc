"""A cluster run's placement reads as one table (party, host, file, rows, sha256) in report.md and report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.placement import placement_table

HOSTILE = "<script>alert(1)</script>"


def placement(path: str = "/var/lib/fatelab/data/train_p9999_e52d.csv") -> dict[str, Any]:
    file = {"table": "fatelab.train_p9999", "remote_path": path, "sha256": "e52d252aa368b0de1326", "rows": 1334,
            "transferred": True}
    test = {"table": "fatelab.test", "remote_path": "/var/lib/fatelab/data/test.csv", "sha256": "6a48790121e5aa",
            "rows": 1000, "transferred": False}
    return {"9999": {"host": "party9999", "address": "10.77.0.12", "files": [file, test]},
            "9998": {"host": "party9998", "address": "10.77.0.13", "files": [test]}}


def test_one_row_per_file_on_its_partys_host() -> None:
    table = placement_table(placement())
    assert table is not None
    assert table.rows == [
        ["9999", "party9999 (10.77.0.12)", "/var/lib/fatelab/data/train_p9999_e52d.csv", "1,334", "e52d252aa368",
         "yes"],
        ["9999", "party9999 (10.77.0.12)", "/var/lib/fatelab/data/test.csv", "1,000", "6a48790121e5",
         "no (already there)"],
        ["9998", "party9998 (10.77.0.13)", "/var/lib/fatelab/data/test.csv", "1,000", "6a48790121e5",
         "no (already there)"],
    ]


def test_another_shape_is_not_forced_into_the_table() -> None:
    assert placement_table({"9999": "somewhere"}) is None
    assert placement_table(None) is None and placement_table({}) is None


def test_markdown_and_html_show_the_table_and_escape_paths(tmp_path: Path) -> None:
    results = {"run_id": "r1", "arms": {}, "placement": placement(path=HOSTILE)}
    md = render_markdown(results, [])
    assert "| 9999 | party9999 (10.77.0.12) | /var/lib/fatelab/data/test.csv | 1,000 | 6a48790121e5 |" in md
    page = render_html(results, [], tmp_path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and HOSTILE not in page
    assert page.count("Placement (cluster mode)") == 1 and "party9998 (10.77.0.13)" in page
