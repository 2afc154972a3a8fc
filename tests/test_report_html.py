"""Tests for harness.report.html: report.html as written by the real report writer, read back.

The results come from tests/test_report.py's fixture (real Lending Club sample, numbers computed
there). The page is read twice: by Python's HTML parser (structure, escaping, self-containment) and
by Debian's headless Chromium (what a person's browser builds from it, and a screenshot in which the
figures' federated colour must appear, which only happens if the embedded PNGs decoded).
"""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from harness.report import figures as plots
from harness.report import format as fmt
from harness.report import html as report_html
from harness.report import results as report_results
from harness.report.write import write_report
from tests.test_report import PNG_MAGIC, build_results, stub_figures  # noqa: F401 - token-PNG fixture

CHROMIUM_TIMEOUT_S = 300  # a cold Chromium on a busy 2-core machine; only a hang should reach it


class Page(HTMLParser):
    """The parts of a page the tests look at: tables by id, images, links, scripts, captions."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.captions: list[str] = []
        self.claim = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._text_into: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self.urls += [a[k] for k in ("src", "href") if k in a]
        if tag == "table":
            self._table = a.get("id", f"table{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "figcaption" or (tag == "p" and a.get("class") == "claim"):
            self._text_into = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in ("figcaption", "p"):
            self._text_into = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._text_into == "figcaption":
            self.captions.append(data)
        elif self._text_into == "p":
            self.claim += data

    def row(self, table: str, label: str) -> list[str]:
        rows = [r for r in self.tables[table] if r and r[0] == label]
        assert rows, f"no row {label!r} in table {table!r}: {[r[:1] for r in self.tables[table]]}"
        return rows[0]


def decode_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    data = base64.b64decode(src[len(prefix):], validate=True)
    assert data[:8] == PNG_MAGIC
    return data


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def base_results() -> dict[str, Any]:
    return build_results()


@pytest.fixture(scope="module")
def run_dir(base_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(copy.deepcopy(base_results), tmp_path_factory.mktemp("reports"))


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium); the browser check needs it")


def run_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # --no-sandbox: Chromium's sandbox refuses to start as root (CI runs as root). The page has no
    # script and no network reference, so the sandbox protects nothing here.
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done


# --------------------------------------------------------------------------------------------------
# Written by the real writer, read by the parser


def test_page_is_self_contained(run_dir: Path) -> None:
    page = Page((run_dir / report_html.HTML_FILE).read_text(encoding="utf-8"))
    assert "script" not in page.tags and "link" not in page.tags and "style" in page.tags
    assert page.images, "no figure on the page"
    for url in page.urls:
        if url.startswith("data:"):
            continue
        assert "://" not in url and not url.startswith("//"), f"network reference {url!r}"
        assert (run_dir / url).is_file(), f"link {url!r} points at no file of the run"


def test_headline_comes_first_with_the_markdown_claim_and_its_numbers(
    run_dir: Path, base_results: dict[str, Any]
) -> None:
    text = (run_dir / report_html.HTML_FILE).read_text(encoding="utf-8")
    page = Page(text)
    md_claim = (run_dir / report_results.REPORT_FILE).read_text(encoding="utf-8").splitlines()[2].strip("*")
    assert page.claim == md_claim
    assert list(page.tables)[0] == "headline" and text.index('id="headline"') < text.index('id="arms-table"')
    arms = base_results["arms"]
    cen_auc = arms["centralized"]["auc"]
    best = max((a for a in arms if a.startswith("local:")), key=lambda a: arms[a]["auc"])
    for arm, label in (("federated", "Federated"), ("centralized", "Centralised"),
                       (best, report_results.arm_label(best, base_results).replace("Local only", "Best local-only"))):
        row = page.row("headline", label)
        assert row[1:6] == [f"{arms[arm][k]:.3f}" for k, _ in report_html.HEADLINE_COLUMNS], arm
        delta = row[6]
        if arm == "centralized":
            assert delta == "—"
        else:
            assert float(delta.replace("−", "-").replace("±", "")) == pytest.approx(arms[arm]["auc"] - cen_auc,
                                                                                    abs=0.0005)


def test_arms_sweep_and_per_class_tables_match_results(run_dir: Path, base_results: dict[str, Any]) -> None:
    page = Page((run_dir / report_html.HTML_FILE).read_text(encoding="utf-8"))
    for arm, m in base_results["arms"].items():
        row = page.row("arms-table", report_results.arm_label(arm, base_results))
        assert row[1:] == [f"{m[k]:.3f}" for k, _ in fmt.METRIC_COLUMNS] + [f"{m['n']:,}"], arm
    for e in base_results["sweep"]:
        row = page.row("sweep-table", fmt.split_label(e["ratio"]))
        assert row[1:8] == [f"{e['federated'][k]:.3f}" for k, _ in fmt.METRIC_COLUMNS]
        assert row[8] == ", ".join(e["job_ids"])
    per_class = [t for name, t in page.tables.items() if name.startswith("table")][:2]
    for table, arm in zip(per_class, ("federated", "centralized"), strict=True):
        for cls, v in base_results["arms"][arm]["per_class"].items():
            assert [cls, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}",
                    f"{v['support']:,}"] in table


def test_every_figure_is_the_written_png(run_dir: Path, base_results: dict[str, Any]) -> None:
    page = Page((run_dir / report_html.HTML_FILE).read_text(encoding="utf-8"))
    plans = [p for p in plots.plan_figures(base_results) if p.draw is not None]
    assert [img["alt"] for img in page.images] == [p.caption for p in plans]
    for img, plan in zip(page.images, plans, strict=True):
        assert decode_png(img["src"]) == (run_dir / plan.file).read_bytes(), plan.file
        assert plan.caption in "".join(page.captions)


# --------------------------------------------------------------------------------------------------
# Edge cases (token PNGs: these are about text)


@pytest.mark.usefixtures("stub_figures")
def test_strings_from_data_are_escaped(tmp_path: Path, base_results: dict[str, Any]) -> None:
    results = copy.deepcopy(base_results)
    hostile = '<script>alert("x")</script><img src=https://example.invalid/a.png>'
    results["arms"]["local:9998"] = {"error": hostile}
    results["engine"]["name"] = hostile
    results["versions"]["evil & co"] = hostile
    results["gap_note"] = hostile
    text = (write_report(results, tmp_path) / report_html.HTML_FILE).read_text(encoding="utf-8")
    page = Page(text)
    assert "script" not in page.tags
    assert all(img["src"].startswith("data:") for img in page.images)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text and "evil &amp; co" in text
    row = page.row("arms-table", report_results.arm_label("local:9998", results))
    assert row[1] == f"failed: {hostile}"


@pytest.mark.usefixtures("stub_figures")
def test_missing_and_failed_arms_and_skipped_figures(tmp_path: Path, base_results: dict[str, Any]) -> None:
    results = copy.deepcopy(base_results)
    results["arms"] = {"federated": {"error": "engine unreachable"}}
    results["roc"], results["sweep"] = {}, []
    text = (write_report(results, tmp_path) / report_html.HTML_FILE).read_text(encoding="utf-8")
    page = Page(text)
    assert page.claim.startswith("Federated arm failed (engine unreachable)")
    assert page.row("headline", "Federated")[1] == "failed: engine unreachable"
    assert page.row("headline", "Centralised")[1] == "missing from this run"
    assert not page.images
    assert "not drawn, no arm produced metrics" in text and "The sweep was skipped" in text


@pytest.mark.usefixtures("stub_figures")
def test_multi_seed_intervals_and_comparisons(tmp_path: Path, base_results: dict[str, Any]) -> None:
    """What the pipeline writes with --seeds 3: the first seed's keys plus the aggregate's blocks; the
    seed sections come before the headline, and every number is the aggregate's, rounded."""
    from harness.stats.aggregate import aggregate
    from tests.test_stats_aggregate import synthetic_runs

    per_seed = synthetic_runs(3)
    results = report_results.to_jsonable({**copy.deepcopy(base_results), **aggregate(per_seed)})
    text = (write_report(results, tmp_path) / report_html.HTML_FILE).read_text(encoding="utf-8")
    page = Page(text)
    assert list(page.tables)[:5] == ["seed-claims", "seed-intervals", "seed-comparisons", "seed-sweep", "headline"]
    assert [r[0] for r in page.tables["seed-intervals"][1:3]] == ["Federated", "Centralised"]
    fed = results["intervals"]["federated"]["auc"]
    assert page.row("seed-intervals", "Federated")[1] == (
        f"{fed['mean']:.3f} ± {fed['std']:.3f} [{fed['low']:.3f}, {fed['high']:.3f}]")
    [cmp] = [c for c in results["comparisons"] if (c["a"], c["b"], c["metric"]) == ("federated", "centralized", "auc")]

    def diff(x: float) -> str:
        return f"{x:+.4f}".replace("-", "−")

    assert page.row("seed-comparisons", "Federated − Centralised")[1:5] == [
        "AUC", diff(cmp["mean_diff"]), f"[{diff(cmp['low'])}, {diff(cmp['high'])}]", f"{cmp['p_value']:.3f}"]
    assert [r[0] for r in page.tables["seed-sweep"][1:]] == ["10/90", "20/80", "30/70", "40/60", "50/50"]
    assert page.tables["seed-claims"][1][0] in ("shown", "not shown at this sample size", "refuted")
    assert "Seeds 0, 1, 2;" in text


@pytest.mark.usefixtures("stub_figures")
def test_bytes_on_the_wire_column_only_when_counted(tmp_path: Path, base_results: dict[str, Any]) -> None:
    results = copy.deepcopy(base_results)
    results["arm_details"]["federated"]["bytes"] = {"bytes": 1234567, "messages": 40, "parties": {}}
    results["sweep"][1]["bytes"] = {"bytes": 7654321, "messages": 80}
    page = Page((write_report(results, tmp_path) / report_html.HTML_FILE).read_text(encoding="utf-8"))
    assert page.tables["arms-table"][0][-1] == "Bytes sent"
    assert page.row("arms-table", "Federated")[-1] == "1,234,567"
    assert page.row("arms-table", "Centralised")[-1] == "—"
    sweep = page.tables["sweep-table"]
    assert sweep[0][-2:] == ["Bytes sent", "FATE jobs"] and [r[-2] for r in sweep[1:3]] == ["—", "7,654,321"]


@pytest.mark.usefixtures("stub_figures")
def test_failing_html_leaves_no_run_dir(
    tmp_path: Path, base_results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: Any, **_k: Any) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_html, "render_html", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(copy.deepcopy(base_results), tmp_path)
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------------
# Read by Chromium


def test_chromium_builds_the_headline_table_and_every_figure(
    run_dir: Path, base_results: dict[str, Any], tmp_path: Path
) -> None:
    dom = Page(run_chromium(run_dir / report_html.HTML_FILE, tmp_path / "profile", "--dump-dom").stdout)
    fed = base_results["arms"]["federated"]
    assert dom.row("headline", "Federated")[1:6] == [f"{fed[k]:.3f}" for k, _ in report_html.HEADLINE_COLUMNS]
    plans = [p for p in plots.plan_figures(base_results) if p.draw is not None]
    assert len(dom.images) == len(plans) == 3
    for img, plan in zip(dom.images, plans, strict=True):
        assert decode_png(img["src"]) == (run_dir / plan.file).read_bytes(), plan.file


def test_chromium_screenshot_shows_the_figures(run_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    run_chromium(run_dir / report_html.HTML_FILE, tmp_path / "profile", "--window-size=1280,6000",
                 f"--screenshot={shot}")
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    # The figures draw the federated series in plots._HIGHLIGHT; nothing else on the page uses it,
    # so it is on screen only if the embedded PNGs were decoded and laid out.
    red = np.array([int(plots._HIGHLIGHT[i:i + 2], 16) for i in (1, 3, 5)])
    near = (np.abs(pixels - red) <= 12).all(axis=2)
    assert near.sum() > 2000, f"only {near.sum()} pixels of the federated colour on the screenshot"
