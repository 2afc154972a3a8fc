"""A deep-learning run's headline and arms tables (issue 12): report.md and report.html show the metrics
its arms record (accuracy, macro precision/recall/F1), and the headline sentence is about accuracy.

The results are the deep-learning shape built by tests/test_report_nn.py ``dl_results`` (real
``multiclass_metrics`` on random labels), written by the real report writer and read back. Lending
Club is unchanged: tests/test_report_golden.py renders a real launcher run byte for byte.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.report import claims
from harness.report import format as fmt
from harness.report import results as rr
from harness.report.html import HTML_FILE
from harness.report.write import write_report
from harness.study.results import gap_note
from tests.test_report import build_results
from tests.test_report_html import Page
from tests.test_report_nn import dl_results

DL_KEYS = ("accuracy", "macro_precision", "macro_recall", "macro_f1")
DL_HEADERS = ["Accuracy", "Macro precision", "Macro recall", "Macro F1"]
BEST_LOCAL = "local:9999"  # dl_results' only local-only arm


@pytest.fixture(scope="module")
def dl() -> dict[str, Any]:
    return dl_results()


@pytest.fixture(scope="module")
def written(dl: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Page]:
    run_dir = write_report(copy.deepcopy(dl), tmp_path_factory.mktemp("reports"))
    return (run_dir / rr.REPORT_FILE).read_text(encoding="utf-8"), Page((run_dir / HTML_FILE).read_text("utf-8"))


def md_table(md: str, heading: str) -> list[list[str]]:
    """The first table under ``heading`` in report.md, as rows of cells (header first, no rule line)."""
    lines = md.split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("*") for c in line.strip("|").split("|")])
    return [rows[0], *rows[2:]]


def assert_no_empty_column(rows: list[list[str]]) -> None:
    for i, header in enumerate(rows[0]):
        assert any(r[i] not in (fmt.DASH, "n/a") for r in rows[1:]), f"column {header!r} is all dashes"


def expected_sentence(dl: dict[str, Any], minus: str) -> str:
    fed, cen, best = (dl["arms"][a] for a in ("federated", "centralized", BEST_LOCAL))
    return (f"Federated accuracy {fed['accuracy']:.3f} vs centralised {cen['accuracy']:.3f} "
            f"({fmt.signed(fed['accuracy'] - cen['accuracy'], minus)}); "
            f"macro F1 {fed['macro_f1']:.3f} vs {cen['macro_f1']:.3f}; best local-only "
            f"{best['accuracy']:.3f} (party 9999)")


def test_metric_set_and_columns_come_from_the_arms(dl: dict[str, Any]) -> None:
    lending_club = build_results()
    assert rr.metric_set(dl) is fmt.MULTICLASS and rr.metric_set(lending_club) is fmt.BINARY
    assert [h for _, h in rr.arm_columns(dl)] == DL_HEADERS == [h for _, h in rr.headline_columns(dl)]
    assert rr.arm_columns(lending_club) == fmt.METRIC_COLUMNS
    # a metric no arm records gets no column; when every arm failed the usual columns stay
    for m in lending_club["arms"].values():
        m.pop("ks")
    assert "ks" not in dict(rr.arm_columns(lending_club)) and "ks" not in dict(rr.headline_columns(lending_club))
    failed = {"arms": {a: {"error": "boom"} for a in dl["arms"]}}
    assert rr.metric_set(failed) is fmt.BINARY and rr.arm_columns(failed) == fmt.METRIC_COLUMNS


def test_headline_sentence_is_about_accuracy(written: tuple[str, Page], dl: dict[str, Any]) -> None:
    md, page = written
    assert md.splitlines()[2] == f"**{expected_sentence(dl, '−')}**"
    assert page.claim == expected_sentence(dl, "−")
    assert claims.render_summary_line(dl) == expected_sentence(dl, "-")
    assert "AUC" not in md.splitlines()[2]
    fed, cen = dl["arms"]["federated"]["accuracy"], dl["arms"]["centralized"]["accuracy"]
    gap = f"The federated accuracy is {abs(fed - cen):.3f} lower than the centralised accuracy"
    assert gap in md and gap in claims.gap_paragraphs(dl)[0]


def test_html_headline_table_shows_the_arms_numbers(written: tuple[str, Page], dl: dict[str, Any]) -> None:
    page, arms = written[1], dl["arms"]
    table = page.tables["headline"]
    assert table[0] == ["Arm", *DL_HEADERS, "Accuracy vs centralised"]
    cen = arms["centralized"]["accuracy"]
    for arm, label in (("federated", "Federated"), ("centralized", "Centralised"),
                       (BEST_LOCAL, "Best local-only, party 9999")):
        delta = fmt.DASH if arm == "centralized" else fmt.signed(arms[arm]["accuracy"] - cen)
        assert page.row("headline", label)[1:] == [f"{arms[arm][k]:.3f}" for k in DL_KEYS] + [delta], arm
    assert_no_empty_column(table)


def test_arms_tables_show_the_arms_numbers(written: tuple[str, Page], dl: dict[str, Any]) -> None:
    md, page = written
    md_rows = md_table(md, "## Arms")
    assert md_rows[0] == ["Arm", *DL_HEADERS, "Test rows"] == page.tables["arms-table"][0]
    assert len(md_rows) == len(dl["arms"]) + 1
    for arm, m in dl["arms"].items():
        expected = [f"{m[k]:.3f}" for k in DL_KEYS] + [f"{m['n_test']:,}"]
        label = rr.arm_label(arm, dl)
        assert page.row("arms-table", label)[1:] == expected, arm
        assert next(r for r in md_rows if r[0] == label)[1:] == expected, arm
    assert_no_empty_column(md_rows)
    assert_no_empty_column(page.tables["arms-table"])


def test_notes_name_what_trained_the_baselines_and_no_false_gap_note(
        written: tuple[str, Page], dl: dict[str, Any]) -> None:
    assert "PyTorch, the same network and settings as the federated fit" in rr.engines_line(dl)
    per_class = written[0].split("\n## Per class\n", 1)[1].split("\n## ", 1)[0]
    assert per_class.count("Only recall per class is recorded for this arm") == 2  # federated, centralised
    assert "HomoLR" in rr.engines_line(build_results())
    # the study's note: none for multi-class arms (the report states their gap), a reason when an arm failed
    assert gap_note(dl["arms"]) == ""
    assert "did not produce metrics" in gap_note({"federated": {"error": "boom"}, "centralized": {}})
