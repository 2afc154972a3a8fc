"""harness.report.seeds and seed_figures: the multi-seed sections of report.md / report.html and the
sweep figure with bands, rendered from a synthetic 10-seed study (perturbed real launcher run)."""

from __future__ import annotations

import copy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from harness.report import seed_figures, seeds
from harness.report.markdown import fmt3, render_markdown, to_jsonable
from harness.stats.aggregate import aggregate
from tests.test_report import PNG_MAGIC
from tests.test_report_html import Page
from tests.test_stats_aggregate import synthetic_runs

HOSTILE = "<script>alert(1)</script> | party left with one class"


def merged(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """What the pipeline writes: today's keys from the first seed plus the aggregate's blocks."""
    return to_jsonable({**copy.deepcopy(per_seed[0]), **aggregate(per_seed)})


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    runs = synthetic_runs()
    runs[3]["arms"]["local:9999"] = {"error": HOSTILE}
    return merged(runs)


def test_markdown_puts_claims_first_then_intervals_comparisons_sweep(results: dict[str, Any]) -> None:
    lines = seeds.markdown_sections(results)
    heads = [line for line in lines if line.startswith("#")]
    assert heads == ["## Claims across 10 seeds", "## Intervals across seeds", "## Paired comparisons",
                     "## Split sweep across seeds", "### Excluded seeds"]
    text = "\n".join(lines)
    # The claims line heads the report once, not again under its section.
    assert f"**{seeds.claims_line(results)}**" not in lines
    report = render_markdown(results, [])
    assert report.count(seeds.claims_line(results)) == 1
    assert report.splitlines()[2] == f"**{seeds.claims_line(results)}**"
    for claim in results["claims"]:
        assert claim["claim"] in text and f"**{claim['verdict']}**" in text
    assert "Non-inferiority (margin 0.01)" in text and "p < 0.025" in text
    assert "- Federated − Centralised: mean " in text  # the sentence saying how the rule decided it


def test_markdown_interval_cells_are_the_aggregate_numbers(results: dict[str, Any]) -> None:
    fed = results["intervals"]["federated"]["auc"]
    row = next(line for line in seeds.markdown_sections(results) if line.startswith("| **Federated**"))
    assert f"{fmt3(fed['mean'])} ± {fmt3(fed['std'])} [{fmt3(fed['low'])}, {fmt3(fed['high'])}]" in row
    local = next(line for line in seeds.markdown_sections(results) if line.startswith("| Local only, party 9999"))
    assert local.endswith("| 9 |")  # the excluded seed shows in n


def test_excluded_seed_is_listed_with_its_reason_and_table_cells_stay_intact(results: dict[str, Any]) -> None:
    lines = seeds.markdown_sections(results)
    assert "- Seed 3, Local only, party 9999 (guest): " + HOSTILE in lines
    comparison = next(line for line in lines if line.startswith("| Federated − Local only, party 9999 (guest) | AUC"))
    assert comparison.count(" | ") == 7  # eight cells: nothing in a note broke the row


def test_single_seed_results_render_nothing() -> None:
    single = synthetic_runs(1)[0]
    assert seeds.markdown_sections(single) == [] and seeds.html_sections(single) == ""


def test_one_seed_aggregate_renders_without_intervals() -> None:
    res = merged(synthetic_runs(1))
    text = "\n".join(seeds.markdown_sections(res))
    assert "(n = 1, no interval)" in text and "no interval" in text
    assert "**not shown at this sample size**" in text


class Balance(HTMLParser):
    """Counts opened and closed elements, to check the fragment nests cleanly inside a page."""

    def __init__(self) -> None:
        super().__init__()
        self.depth: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.depth[tag] = self.depth.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        self.depth[tag] = self.depth.get(tag, 0) - 1


def test_html_fragment_has_the_same_tables_in_the_same_order(results: dict[str, Any]) -> None:
    fragment = seeds.html_sections(results)
    page = Page(fragment)
    assert list(page.tables) == ["seed-claims", "seed-intervals", "seed-comparisons", "seed-sweep"]
    fed = results["intervals"]["federated"]["auc"]
    assert page.row("seed-intervals", "Federated")[1] == (
        f"{fmt3(fed['mean'])} ± {fmt3(fed['std'])} [{fmt3(fed['low'])}, {fmt3(fed['high'])}]")
    md_rows = [line for line in seeds.markdown_sections(results) if line.startswith("| Federated − ")]
    assert len(page.tables["seed-comparisons"]) - 1 == len(md_rows) + 4  # + the 4 sweep comparisons
    balance = Balance()
    balance.feed(fragment)
    assert all(v == 0 for v in balance.depth.values()), balance.depth


def test_html_escapes_results_text_and_marks_refuted_verdicts(results: dict[str, Any]) -> None:
    fragment = seeds.html_sections(results)
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    refuted = merged(synthetic_runs(arm_shift={"federated": -0.03}))
    page_html = seeds.html_sections(refuted)
    assert '<td class="failed"><strong>refuted</strong></td>' in page_html
    first = next(r for r in Page(page_html).tables["seed-claims"] if r[1:2] == [refuted["claims"][0]["claim"]])
    assert first[0] == "refuted"


def test_sweep_figure_draws_mean_and_band_per_arm(results: dict[str, Any], tmp_path: Path) -> None:
    plan = seed_figures.plan(results)
    assert plan.draw is not None and plan.file == "sweep_seeds.png"
    path = plan.draw(tmp_path / plan.file)
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    line = np.all(np.abs(pixels - [0xD6, 0x27, 0x28]) <= 12, axis=-1)  # the federated mean (figures.py red)
    band = np.all(np.abs(pixels - [0xF6, 0xD4, 0xD4]) <= 10, axis=-1)  # the same red at alpha 0.18 on white
    assert line.sum() > 500 and band.sum() > 5000


def test_sweep_figure_is_skipped_with_a_reason_when_no_sweep_ran() -> None:
    runs = synthetic_runs(3)
    for r in runs:
        r["sweep"] = []
    plan = seed_figures.plan(merged(runs))
    assert plan.draw is None and plan.skipped == "no sweep across seeds in this run"


def test_sweep_figure_with_one_seed_draws_means_only(tmp_path: Path) -> None:
    plan = seed_figures.plan(merged(synthetic_runs(1)))
    assert plan.draw is not None
    assert plan.draw(tmp_path / "one.png").read_bytes()[:8] == PNG_MAGIC


def test_sweep_figure_refuses_mismatched_series(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 values for 3 splits"):
        seed_figures.plot_sweep_bands(["10/90", "20/80", "50/50"], {"AUC": {"Federated": [None, None]}},
                                      tmp_path / "x.png")
