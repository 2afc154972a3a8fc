"""harness.stats.aggregate on synthetic multi-seed deep-learning runs (issue 12): intervals and paired
comparisons on accuracy and the macro metrics, claims decided on accuracy with the 2-point margin, the
TF-IDF baseline compared with every arm in a text scenario; Lending Club's output is unchanged.

Each synthetic seed scores every arm with the real ``multiclass_metrics`` on 2,000 test labels, of which
exactly the arm's error rate (its accuracy, moved by a seed effect all arms share plus a small arm effect)
is predicted wrong, so an arm's accuracy over seeds is known to the row.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from harness.model.multiclass import multiclass_metrics
from harness.report import seed_figures
from harness.report import seeds as report_seeds
from harness.report.results import to_jsonable
from harness.scenarios.imdb_lstm import SCENARIO as IMDB
from harness.scenarios.lending_club_homolr import SCENARIO as LENDING_CLUB
from harness.scenarios.mnist_cnn import SCENARIO as MNIST
from harness.scenarios.thucnews_cnn import SCENARIO as THUCNEWS
from harness.stats.aggregate import aggregate
from harness.stats.claims import NOT_SHOWN, REFUTED, SHOWN
from harness.stats.plan import BINARY_PLAN, MULTICLASS_PLAN, StatsPlan
from harness.study.config import StudyConfig
from harness.study.nn_arms import TFIDF
from tests.test_stats_aggregate import synthetic_runs

DL_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1")
LOCALS = ("local:9999", "local:9998", "local:10000")
ROWS = 2000
#: Mean accuracy per arm: federated one point under centralised, well above the local-only parties.
ACCURACY = {"federated": 0.95, "centralized": 0.96, **dict.fromkeys(LOCALS, 0.88)}
GOLDEN_LC = Path(__file__).parent / "golden" / "stats" / "aggregate_lending_club_10_seeds.json"


def _scored(y: np.ndarray, accuracy: float, rng: np.random.Generator, classes: int) -> dict[str, Any]:
    wrong = rng.choice(len(y), size=round((1 - accuracy) * len(y)), replace=False)
    predicted = y.copy()
    predicted[wrong] = (y[wrong] + 1) % classes
    return multiclass_metrics(y, predicted, range(classes))


def dl_runs(n: int = 10, shift: dict[str, float] | None = None, *, text: bool = False) -> list[dict[str, Any]]:
    """``n`` per-seed results of a deep-learning run (seeds 0..n-1) as the pipeline hands them to aggregate;
    ``text`` adds the TF-IDF arm (accuracy 0.90) and makes the task binary, like IMDB."""
    classes = 2 if text else 10
    means = {**ACCURACY, TFIDF: 0.90} if text else ACCURACY
    runs = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, classes, ROWS)
        shared = rng.normal(0.0, 0.01)
        arms = {arm: _scored(y, float(np.clip(acc + shared + rng.normal(0.0, 0.002) + (shift or {}).get(arm, 0.0),
                                              0.0, 1.0)), rng, classes)
                for arm, acc in means.items()}
        runs.append({"seed": seed, "arms": arms, "sweep": [], "parties": {p[6:]: {} for p in LOCALS}})
    return runs


def test_scenarios_state_their_plans() -> None:
    config = StudyConfig()
    assert LENDING_CLUB.stats_plan(config) is BINARY_PLAN
    assert MNIST.stats_plan(config) is MULTICLASS_PLAN
    for text in (IMDB, THUCNEWS):
        assert text.stats_plan(config).baselines == (TFIDF,)
        assert type(text.arms(config)[-1]).__name__ == "TfidfBaselineArm"
    assert len(MNIST.arms(config)) == len(IMDB.arms(config)) - 1


@pytest.mark.parametrize(("fields", "match"), [
    ((DL_METRICS, DL_METRICS, "auc", 0.02), "claim metric 'auc'"),
    ((("accuracy",), DL_METRICS, "accuracy", 0.02), "must be among the metrics"),
    ((DL_METRICS, DL_METRICS, "accuracy", 2.0), "margin must be in"),
])
def test_an_inconsistent_plan_is_refused(fields: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StatsPlan(*fields)


def test_intervals_and_comparisons_are_on_the_deep_learning_metrics() -> None:
    runs = dl_runs()
    out = aggregate(runs, plan=MULTICLASS_PLAN)
    assert out["excluded_seeds"] == []
    for arm in ACCURACY:
        assert tuple(out["intervals"][arm]) == DL_METRICS
        for metric in DL_METRICS:
            values = [r["arms"][arm][metric] for r in runs]
            ci = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
            cell = out["intervals"][arm][metric]
            assert cell["n"] == 10 and cell["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert (cell["low"], cell["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert out["intervals"]["federated"]["accuracy"]["mean"] == pytest.approx(0.95, abs=0.01)
    pairs = {(c["a"], c["b"], c["metric"]) for c in out["comparisons"]}
    assert pairs == {("federated", b, m) for b in ("centralized", *LOCALS) for m in DL_METRICS}
    c = next(c for c in out["comparisons"] if c["b"] == "centralized" and c["metric"] == "accuracy")
    fed, cen = ([r["arms"][a]["accuracy"] for r in runs] for a in ("federated", "centralized"))
    ci = stats.ttest_rel(fed, cen).confidence_interval(0.95)
    assert (c["low"], c["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert out["stats_method"]["claim_metric"] == "accuracy" and out["stats_method"]["margin"] == 0.02


def test_a_plans_metrics_that_no_arm_records_are_left_out_not_excluded_seed_by_seed() -> None:
    # The binary plan on deep-learning arms: before, every seed was "excluded" for AUC, KS, ... in every arm.
    out = aggregate(dl_runs(3), plan=BINARY_PLAN)
    assert out["excluded_seeds"] == []
    assert all(list(cells) == ["accuracy"] for cells in out["intervals"].values())
    assert {c["metric"] for c in out["comparisons"]} == set()  # accuracy is not among the binary compared ones
    assert out["claims"][0]["verdict"] == NOT_SHOWN


@pytest.mark.parametrize(("fed_shift", "verdict"), [
    (0.0, SHOWN),  # one point under centralised: within 2 points
    (-0.005, SHOWN),  # 1.5 points under: within 2, though outside Lending Club's 0.01 margin
    (-0.03, REFUTED),  # 4 points under
])
def test_non_inferiority_to_centralised_is_decided_on_accuracy_with_a_two_point_margin(
        fed_shift: float, verdict: str) -> None:
    out = aggregate(dl_runs(shift={"federated": fed_shift}), plan=MULTICLASS_PLAN)
    claim = out["claims"][0]
    assert claim["claim"] == "Federated is not worse than centralised by more than 0.02 accuracy"
    assert claim["verdict"] == verdict
    e = claim["evidence"][0]
    assert (e["a"], e["b"], e["metric"], e["margin"]) == ("federated", "centralized", "accuracy", 0.02)
    if fed_shift == -0.005:
        assert -0.02 < e["low"] < e["high"] < -0.01
        lending_club_margin = aggregate(dl_runs(shift={"federated": fed_shift}),
                                        plan=StatsPlan(DL_METRICS, DL_METRICS, "accuracy", 0.01))
        assert lending_club_margin["claims"][0]["verdict"] == REFUTED


def test_federated_beats_every_local_only_party_on_accuracy() -> None:
    out = aggregate(dl_runs(), plan=MULTICLASS_PLAN)
    claim = out["claims"][1]
    assert claim["claim"] == "Federated has a higher accuracy than each local-only party"
    assert claim["verdict"] == SHOWN
    assert [e["b"] for e in claim["evidence"]] == list(LOCALS)
    assert {e["metric"] for e in claim["evidence"]} == {"accuracy"}
    one_party_better = aggregate(dl_runs(shift={"local:9998": 0.10}), plan=MULTICLASS_PLAN)
    assert one_party_better["claims"][1]["verdict"] == REFUTED


@pytest.mark.parametrize(("tfidf_shift", "verdict"), [(0.0, SHOWN), (0.1, REFUTED)])
def test_a_text_scenario_compares_every_arm_with_tfidf(tfidf_shift: float, verdict: str) -> None:
    plan = IMDB.stats_plan(StudyConfig())
    out = aggregate(dl_runs(shift={TFIDF: tfidf_shift}, text=True), plan=plan)
    against = {(c["a"], c["metric"]) for c in out["comparisons"] if c["b"] == TFIDF}
    assert against == {(a, m) for a in ("federated", "centralized", *LOCALS) for m in DL_METRICS}
    assert all(c["n"] == 10 and c["low"] is not None for c in out["comparisons"] if c["b"] == TFIDF)
    assert TFIDF in out["intervals"]
    claim = out["claims"][2]
    assert claim["claim"] == f"Federated has a higher accuracy than the baseline {TFIDF}"
    assert claim["verdict"] == verdict and claim["evidence"][0]["b"] == TFIDF
    assert "baseline" in out["stats_method"]["rules"]


def test_lending_club_aggregate_is_unchanged() -> None:
    """The aggregate of the synthetic 10-seed Lending Club study, written by main before the plans
    (commit 4a759ce), to the byte."""
    out = to_jsonable(aggregate(synthetic_runs(), plan=LENDING_CLUB.stats_plan(StudyConfig())))
    assert json.dumps(out, indent=1) + "\n" == GOLDEN_LC.read_text(encoding="utf-8")


def dl_merged(runs: list[dict[str, Any]], plan: StatsPlan, **extra: Any) -> dict[str, Any]:
    return to_jsonable({**copy.deepcopy(runs[0]), "balance": "none", **extra, **aggregate(runs, plan=plan)})


def test_the_report_seed_sections_show_the_deep_learning_metrics() -> None:
    results = dl_merged(dl_runs(text=True), IMDB.stats_plan(StudyConfig()),
                        test_split="the file's own test split, the same for every seed")
    rows = [[c.strip() for c in row] for row in report_seeds.intervals_table(results).rows]
    header = report_seeds.intervals_table(results).headers
    assert header == ["Arm", "Accuracy", "Macro precision", "Macro recall", "Macro F1", "Seeds"]
    assert all("[" in cell for row in rows for cell in row[1:5])  # an interval in every cell, no dash
    assert rows[-1][0] == TFIDF
    assert {r[1] for r in report_seeds.comparisons_table(results).rows} == {
        "Accuracy", "Macro precision", "Macro recall", "Macro F1"}
    text = "\n".join(report_seeds.markdown_sections(results))
    assert "Claims are decided on accuracy only" in text and "margin 0.02" in text
    assert "Against a baseline:" in text and "SMOTE" not in text
    assert "the test set is the same for every seed" in text
    line = report_seeds.claims_line(results)
    assert line.startswith("Across 10 seeds: Federated is not worse than centralised by more than 0.02 accuracy: shown")
    assert f"than the baseline {TFIDF}: shown" in line
    assert "SMOTE" not in report_seeds.html_sections(results)


def test_a_written_deep_learning_report_opens_with_the_accuracy_claims(tmp_path: Path) -> None:
    from harness.report.write import write_report
    from tests.test_report_nn import dl_results

    runs = dl_runs(3)
    results = {**dl_results(), "arms": runs[0]["arms"], "parties": runs[0]["parties"], "balance": "none",
               **aggregate(runs, plan=MNIST.stats_plan(StudyConfig()))}
    run_dir = write_report(to_jsonable(results), tmp_path)
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert md.splitlines()[2] == ("**Across 3 seeds: Federated is not worse than centralised by more than 0.02 "
                                  "accuracy: not shown at this sample size; Federated has a higher accuracy than "
                                  "each local-only party: not shown at this sample size**")
    assert "| Arm | Accuracy | Macro precision | Macro recall | Macro F1 | Seeds |" in md
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    intervals = html.split('id="seed-intervals-section"', 1)[1].split('id="seed-comparisons-section"', 1)[0]
    assert 'class="num">Macro F1</th>' in intervals and "AUC" not in intervals


@pytest.mark.parametrize(("extra", "text"), [
    ({"balance": "SMOTE on training rows only"}, "each redraws the split, the partitions and SMOTE"),
    ({"balance": "none"}, "each redraws the split and the partitions"),
    ({"balance": "none", "curves": {"federated": [0.9]}},
     "each redraws the split, the partitions and the batch order"),
    ({"balance": "none", "curves": {"federated": [0.9]}, "test_split": "the file's own, the same for every seed"},
     "each redraws the partitions and the batch order (the test set is the same for every seed)"),
])
def test_the_report_says_what_a_seed_redraws(extra: dict[str, Any], text: str) -> None:
    assert report_seeds.redraws_text(extra) == text


def _with_sweep(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs with a two-split sweep of the federated arm (its own metrics per split)."""
    for run in runs:
        fed = run["arms"]["federated"]
        run["sweep"] = [{"ratio": list(r), "parties": ["9999", "9998"], "federated": copy.deepcopy(fed)}
                        for r in ((0.2, 0.8), (0.5, 0.5))]
    return runs


def test_a_deep_learning_sweep_across_seeds_uses_accuracy_and_the_macro_metrics() -> None:
    results = dl_merged(_with_sweep(dl_runs(4)), MNIST.stats_plan(StudyConfig()))
    table = report_seeds.sweep_table(results)
    assert table.headers[2:] == ["Accuracy [95%]", "Macro F1 [95%]", "Macro precision [95%]",
                                 "Macro recall [95%]", "Seeds"]
    assert table.rows and all("[" in cell for row in table.rows for cell in row[2:6])
    plan = seed_figures.plan(results)
    assert plan.caption.startswith("Figure 4-3 across seeds: accuracy and macro F1 per split")
    assert "AUC" not in "\n".join(report_seeds.markdown_sections(results))


def test_the_lending_club_sweep_across_seeds_keeps_its_columns() -> None:
    results = to_jsonable({**copy.deepcopy(synthetic_runs(3)[0]), **aggregate(synthetic_runs(3))})
    assert report_seeds.sweep_table(results).headers[2:] == [
        "AUC [95%]", "Specificity [95%]", "KS [95%]", "Recall [95%]", "F1 [95%]", "Seeds"]
    assert seed_figures.plan(results).caption.startswith("Figure 4-3 across seeds: AUC and specificity per split")
