"""harness.stats.aggregate on a synthetic 10-seed study built by perturbing a real launcher run.

The base is a trimmed copy of the launcher run's results.json (tests/golden/stats/); each synthetic
seed shifts every arm's metrics by a seed effect shared by all arms (the split moves every arm) plus
a small arm-specific effect, the way redrawing split, partitions and SMOTE does.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from harness.report.markdown import to_jsonable
from harness.stats.aggregate import COMPARE_METRICS, METRICS, aggregate
from harness.stats.claims import NOT_SHOWN

BASE = Path(__file__).parent / "golden" / "stats" / "baseline_launcher_seed42.json"


def base_results() -> dict[str, Any]:
    return json.loads(BASE.read_text(encoding="utf-8"))


def _shift(metrics: dict[str, Any], by: float) -> None:
    for k in METRICS:
        metrics[k] = float(np.clip(metrics[k] + by, 0.0, 1.0))


def synthetic_runs(n: int = 10, arm_shift: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """``n`` per-seed results (seeds 0..n-1); ``arm_shift`` adds a fixed effect to an arm."""
    base, runs = base_results(), []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        run = copy.deepcopy(base)
        run["seed"] = seed
        shared = rng.normal(0.0, 0.015)
        for arm, m in run["arms"].items():
            _shift(m, shared + rng.normal(0.0, 0.003) + (arm_shift or {}).get(arm, 0.0))
        for entry in run["sweep"]:
            _shift(entry["federated"], shared + rng.normal(0.0, 0.003))
        runs.append(run)
    return runs


@pytest.fixture()
def runs() -> list[dict[str, Any]]:
    return synthetic_runs()


def test_intervals_are_the_t_intervals_of_the_per_seed_values(runs: list[dict[str, Any]]) -> None:
    out = aggregate(runs)
    assert out["seeds"] == list(range(10)) and out["excluded_seeds"] == []
    for arm in runs[0]["arms"]:
        for metric in METRICS:
            values = [r["arms"][arm][metric] for r in runs]
            ci = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
            cell = out["intervals"][arm][metric]
            assert cell["n"] == 10
            assert cell["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert cell["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
            assert (cell["low"], cell["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
            assert out["seed_values"][arm][metric] == values


def test_comparisons_are_paired_over_seeds_for_every_reviewer_pair(runs: list[dict[str, Any]]) -> None:
    out = aggregate(runs)
    arm_pairs = {(c["a"], c["b"]) for c in out["comparisons"] if c["a"] == "federated"}
    assert arm_pairs == {("federated", b) for b in ("centralized", "local:9999", "local:9998", "local:10000")}
    for c in out["comparisons"]:
        if c["a"] != "federated":
            continue
        a = [r["arms"][c["a"]][c["metric"]] for r in runs]
        b = [r["arms"][c["b"]][c["metric"]] for r in runs]
        ci = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert (c["low"], c["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert c["p_value"] == pytest.approx(stats.wilcoxon(a, b, method="exact").pvalue, abs=1e-12)
    assert {c["metric"] for c in out["comparisons"] if c["a"] == "federated"} == set(COMPARE_METRICS)


def test_sweep_gets_bands_per_split_and_compares_with_the_least_balanced(runs: list[dict[str, Any]]) -> None:
    out = aggregate(runs)
    assert [r["split"] for r in out["sweep_intervals"]] == ["10/90", "20/80", "30/70", "40/60", "50/50"]
    row = out["sweep_intervals"][2]
    values = [r["sweep"][2]["federated"]["auc"] for r in runs]
    assert row["federated"]["auc"]["mean"] == pytest.approx(np.mean(values))
    assert row["parties"] == ["9999", "9998"]
    sweep_cmp = [c for c in out["comparisons"] if c["a"] != "federated"]
    assert [c["a"] for c in sweep_cmp] == [f"federated {s}" for s in ("20/80", "30/70", "40/60", "50/50")]
    assert {c["b"] for c in sweep_cmp} == {"federated 10/90"}
    assert out["claims"][2]["evidence"][0]["a"] == "federated 50/50"


def test_a_seed_with_a_one_class_party_is_excluded_from_that_arm_only(runs: list[dict[str, Any]]) -> None:
    runs[3]["arms"]["local:9999"] = {"error": "party 9999's training rows contain only class 1"}
    out = aggregate(runs)
    assert out["excluded_seeds"] == [
        {"seed": 3, "arm": "local:9999", "reason": "party 9999's training rows contain only class 1"}]
    assert out["intervals"]["local:9999"]["auc"]["n"] == 9
    assert out["intervals"]["federated"]["auc"]["n"] == 10
    c = next(c for c in out["comparisons"] if c["b"] == "local:9999" and c["metric"] == "auc")
    assert c["n"] == 9 and 3 not in c["seeds"]
    assert out["claims"][1]["evidence"][0]["n"] == 9


def test_missing_arm_nan_metric_and_missing_split_are_reported(runs: list[dict[str, Any]]) -> None:
    del runs[1]["arms"]["centralized"]
    runs[2]["arms"]["federated"]["ks"] = None  # NaN in the run, null in JSON
    runs[4]["sweep"] = runs[4]["sweep"][:-1]
    out = aggregate(runs)
    by_seed = {(e["seed"], e["arm"]): e for e in out["excluded_seeds"]}
    assert by_seed[(1, "centralized")]["reason"] == "arm missing from this seed's results"
    assert by_seed[(2, "federated")] == {"seed": 2, "arm": "federated", "metric": "ks",
                                         "reason": "ks is missing, not a number"}
    assert by_seed[(4, "federated")]["split"] == "50/50"
    assert out["intervals"]["federated"]["ks"]["n"] == 9 and out["intervals"]["federated"]["auc"]["n"] == 10
    assert out["sweep_intervals"][-1]["federated"]["auc"]["n"] == 9


def test_a_failed_seed_run_names_its_own_error_for_every_arm(runs: list[dict[str, Any]]) -> None:
    runs[5] = {"seed": 5, "error": "launcher party process exited with code 1"}
    out = aggregate(runs)
    reasons = {e["reason"] for e in out["excluded_seeds"] if e["seed"] == 5}
    assert reasons == {"launcher party process exited with code 1"}
    assert sum(1 for e in out["excluded_seeds"] if e["seed"] == 5 and "split" not in e) == 5


def test_one_seed_aggregates_without_intervals_and_without_verdicts(runs: list[dict[str, Any]]) -> None:
    out = aggregate(runs[:1])
    cell = out["intervals"]["federated"]["auc"]
    assert cell["n"] == 1 and cell["low"] is None and "no interval" in cell["note"]
    assert all(c["verdict"] == NOT_SHOWN for c in out["claims"])
    assert all("no interval" in e["why"] for c in out["claims"] for e in c["evidence"])


def test_output_is_strict_json(runs: list[dict[str, Any]]) -> None:
    runs[0]["arms"]["federated"]["auc"] = float("nan")
    out = aggregate(runs)
    json.dumps(to_jsonable(out), allow_nan=False)
    assert out["stats_method"]["margin"] == 0.01 and out["stats_method"]["claim_metric"] == "auc"


def test_a_real_effect_is_found_and_a_null_one_is_not() -> None:
    gain = aggregate(synthetic_runs(arm_shift={"federated": 0.02}))
    assert [c["verdict"] for c in gain["claims"][:2]] == ["shown", "shown"]
    loss = aggregate(synthetic_runs(arm_shift={"federated": -0.03}))
    assert [c["verdict"] for c in loss["claims"][:2]] == ["refuted", "refuted"]


@pytest.mark.parametrize(("per_seed", "match"), [
    ([], "at least one seed"),
    ([{"seed": 1, "arms": {}}, {"seed": 1, "arms": {}}], "distinct"),
    ([{"seed": "1", "arms": {}}], "integer 'seed'"),
    ([{"arms": {}}], "integer 'seed'"),
])
def test_caller_bugs_raise_value_error(per_seed: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        aggregate(per_seed)


def test_an_arm_failing_in_every_seed_says_there_is_no_data_not_too_few_seeds() -> None:
    runs = synthetic_runs(4)
    for r in runs:
        r["arms"]["federated"] = {"error": "launcher died"}
    out = aggregate(runs)
    assert out["intervals"]["federated"]["auc"] == {"mean": None, "std": None, "low": None, "high": None, "n": 0,
                                                    "note": "no seed produced this metric"}
    assert out["claims"][0]["verdict"] == NOT_SHOWN
    assert out["claims"][0]["evidence"][0]["why"].startswith("no seed in which both arms have this metric")
    assert sum(1 for e in out["excluded_seeds"] if e["arm"] == "federated") == 4
