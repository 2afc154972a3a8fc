"""The scenario sections hook (harness/report/sections.py): report.md and report.html show the same
deep-learning and vertical sections, drawn from the results at render time, and nothing for Lending Club.

The results are built as the scenarios' own tests build them (tests/test_report_nn.py ``dl_results``,
tests/test_vertical_report.py ``results``, tests/test_report.py ``build_results`` on the real sample);
both pages are written by the real report writer and read back (tests/test_report_html.py ``Page``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.report import html as report_html
from harness.report import markup
from harness.report.results import REPORT_FILE
from harness.report.sections import scenario_sections
from harness.report.write import write_report
from tests.test_report import build_results, stub_figures  # noqa: F401 - token-PNG fixture
from tests.test_report_html import Page, decode_png
from tests.test_report_nn import dl_results
from tests.test_vertical_report import results as vertical_results

DL_TITLES = ("Deep-learning metrics (test set)", "Convergence and cost")
VERTICAL_TITLES = ("Private set intersection", "Lossless claim and what federation adds", "Who holds what")
HOSTILE = '<script>alert("x")</script><img src=https://example.invalid/a.png>'
PHASES = {"psi_s": 12.34, "hetero_secureboost_0@guest:9999": 56.78}


def vertical() -> dict[str, Any]:
    doc = vertical_results(3113)
    doc["vertical"] |= {"guest_share": 0.9, "host_share": 0.8, "joined_train_rows": 2195, "scored_rows": 918}
    return doc | {"arm_details": {"federated_secureboost": {"ran": "FATE", "phase_seconds": PHASES}}}


def written(results: dict[str, Any], tmp_path: Path) -> tuple[str, str]:
    run_dir = write_report(results, tmp_path)
    return ((run_dir / REPORT_FILE).read_text(encoding="utf-8"),
            (run_dir / report_html.HTML_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lending_club() -> dict[str, Any]:
    return build_results()


def test_providers_claim_only_their_own_results(lending_club: dict[str, Any]) -> None:
    assert [s.title for s in scenario_sections(dl_results())] == list(DL_TITLES)
    assert [s.title for s in scenario_sections(vertical())] == list(VERTICAL_TITLES)
    assert scenario_sections(lending_club) == []


def test_deep_learning_sections_in_both_reports(tmp_path: Path) -> None:
    results = dl_results()
    md, page_text = written(results, tmp_path)
    page = Page(page_text)
    for title in DL_TITLES:
        assert f"## {title}" in md and f">{title}</h2>" in page_text
    for title in VERTICAL_TITLES:
        assert title not in md and title not in page_text
    arms = results["arms"]
    assert page.row("dl-metrics", "Federated")[1:] == [f"{arms['federated'][k]:.4f}" for k in
                                                       ("accuracy", "macro_precision", "macro_recall", "macro_f1")]
    assert f"| Federated | {arms['federated']['accuracy']:.4f} |" in md
    # rounds, mean compute s and mean round s of the data parties, bytes per round per party, wall s
    assert page.row("dl-cost", "Federated") == ["Federated", "2", "1.25", "2.25",
                                               "arbiter:10000 0.40 MB, guest:9999 0.40 MB", "30.0"]
    assert "| Federated | 2 | 1.25 | 2.25 | arbiter:10000 0.40 MB, guest:9999 0.40 MB | 30.0 |" in md
    assert page.row("dl-cost", "Centralised")[4] == "0 (in-process)"
    recall = arms["centralized"]["per_class_recall"]
    assert page.row("dl-recall", "Centralised")[1:] == [f"{recall[str(c)]:.3f}" for c in range(10)]
    assert "<h3>Recall per class</h3>" in page_text and "### Recall per class" in md
    assert "Federated did not reach it within the 2 rounds run" in page_text
    # the DL figures are the written PNGs, embedded
    assert [img["alt"] for img in page.images][0].startswith("Test accuracy after every federated round")
    assert all(decode_png(img["src"]) for img in page.images) and len(page.images) == 2


@pytest.mark.usefixtures("stub_figures")
def test_vertical_sections_in_both_reports(tmp_path: Path) -> None:
    md, page_text = written(vertical(), tmp_path)
    page = Page(page_text)
    for title in VERTICAL_TITLES:
        assert f"## {title}" in md and f">{title}</h2>" in page_text
    for title in DL_TITLES:
        assert title not in md and title not in page_text
    assert page.row("vertical-gaps", "federated_secureboost - centralized_gbdt")[1:] == ["-0.0020", "+0.0010"]
    assert "| federated_secureboost - centralized_gbdt | -0.0020 | +0.0010 |" in md
    for text in (md, page_text):
        assert "found exactly the shared customers, in 3.6 s of the SecureBoost fit" in text
        assert "-0.0020 AUC, within the ±0.01" in text
        assert "2195 training and 918 held-out customers held by both" in text
        assert "federated_secureboost seconds by phase: psi_s 12.3, hetero_secureboost_0@guest:9999 56.8" in text
    assert "Host 9998 (1 columns): annual_inc" in page_text and "<code>--seeds N</code>" in page_text


@pytest.mark.usefixtures("stub_figures")
def test_lending_club_gets_no_scenario_section(tmp_path: Path, lending_club: dict[str, Any]) -> None:
    md, page_text = written(copy.deepcopy(lending_club), tmp_path)
    for title in (*DL_TITLES, *VERTICAL_TITLES):
        assert title not in md and title not in page_text
    assert not [t for t in Page(page_text).tables if t.startswith(("dl-", "vertical-"))]


@pytest.mark.usefixtures("stub_figures")
def test_hostile_strings_in_scenario_sections_show_as_text(tmp_path: Path) -> None:
    doc = vertical()
    doc["gaps"][HOSTILE] = {"auc": 0.01, "ks": 0.02}
    doc["vertical"]["feature_split"]["host"] = ["annual_inc", HOSTILE]
    doc["psi"]["protocol"] = HOSTILE
    doc["arm_details"]["federated_secureboost"]["phase_seconds"] = {HOSTILE: 1.0}
    page_text = written(doc, tmp_path)[1]
    page = Page(page_text)
    assert "script" not in page.tags and all(img["src"].startswith("data:") for img in page.images)
    assert page.row("vertical-gaps", HOSTILE)[1:] == ["+0.0100", "+0.0200"]
    assert page_text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 4


def test_a_backticked_span_is_code_only_after_escaping() -> None:
    section = markup.Section("T", (markup.Text(("run `<b>` & `--seeds N`",), bullets=True),))
    assert markup.section_html(section) == (
        "<h2>T</h2><ul><li>run <code>&lt;b&gt;</code> &amp; <code>--seeds N</code></li></ul>")
    assert markup.section_md(section) == ["## T", "", "- run `<b>` & `--seeds N`", ""]
