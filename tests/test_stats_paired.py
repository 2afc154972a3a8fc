"""harness.stats.paired: paired t-interval and Wilcoxon signed-rank p, against scipy and brute force."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats

from harness.stats import paired
from harness.stats.paired import compare, signed_rank, smallest_p

SEEDS = list(range(10))
FED = [0.7258, 0.7411, 0.7533, 0.7312, 0.7296, 0.7190, 0.7438, 0.7344, 0.7270, 0.7497]
CEN = [0.7284, 0.7398, 0.7561, 0.7350, 0.7301, 0.7222, 0.7440, 0.7379, 0.7262, 0.7530]


def brute_force_p(d: list[float], alternative: str = "two-sided") -> float:
    """Signed-rank p by enumerating all 2**n sign assignments of the midranks (no shortcut)."""
    d = [x for x in d if x != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = sum(r for r, x in zip(ranks, d, strict=True) if x > 0)
    sums = [sum(r for r, s in zip(ranks, signs, strict=True) if s)
            for signs in itertools.product((0, 1), repeat=len(d))]
    le = sum(1 for s in sums if s <= observed + 1e-9) / len(sums)
    ge = sum(1 for s in sums if s >= observed - 1e-9) / len(sums)
    return {"greater": ge, "less": le}.get(alternative, min(1.0, 2 * min(le, ge)))


def test_paired_interval_and_mean_equal_scipys_paired_t_test() -> None:
    c = compare("federated", "centralized", "auc", list(zip(SEEDS, FED, CEN, strict=True)))
    ci = stats.ttest_rel(FED, CEN).confidence_interval(0.95)
    assert c["mean_diff"] == pytest.approx(np.mean(np.subtract(FED, CEN)), abs=1e-12)
    assert (c["low"], c["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert c["n"] == 10 and c["seeds"] == SEEDS
    assert c["diffs"] == pytest.approx(list(np.subtract(FED, CEN)))


def test_p_value_without_ties_is_scipys_exact_wilcoxon() -> None:
    c = compare("federated", "centralized", "auc", list(zip(SEEDS, FED, CEN, strict=True)))
    expected = stats.wilcoxon(FED, CEN, method="exact").pvalue
    assert c["p_method"] == "exact"
    assert c["p_value"] == pytest.approx(expected, abs=1e-12)
    assert c["p_value"] == pytest.approx(brute_force_p(list(np.subtract(FED, CEN))), abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_tied_differences_get_the_exact_midrank_p(alternative: str) -> None:
    d = [0.004, 0.004, -0.002, 0.006, 0.006, 0.006, -0.001, 0.003]
    got = signed_rank(d, alternative)  # type: ignore[arg-type]
    assert got["method"] == "exact, midranks for ties"
    assert got["p_value"] == pytest.approx(brute_force_p(d, alternative), abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_midrank_path_equals_scipy_exact_when_nothing_ties(alternative: str) -> None:
    d = np.array([0.0031, -0.0012, 0.0047, 0.0005, -0.0021, 0.0063, 0.0018])
    assert paired._exact_midrank_p(d, alternative) == pytest.approx(  # type: ignore[arg-type]
        stats.wilcoxon(d, method="exact", alternative=alternative).pvalue, abs=1e-12)


def test_differences_equal_in_exact_arithmetic_tie_even_when_floats_differ() -> None:
    # Specificity is true negatives / 232: 151/232 - 150/232 and 154/232 - 153/232 are both 1/232.
    d = [151 / 232 - 150 / 232, 154 / 232 - 153 / 232, 3 / 232, -2 / 232, 5 / 232, 7 / 232]
    assert d[0] != d[1]  # the premise: as floats they differ in the last bits
    got = signed_rank(d)
    assert got["method"] == "exact, midranks for ties"
    assert got["p_value"] == pytest.approx(brute_force_p([round(x, 12) for x in d]), abs=1e-12)


def test_zero_differences_are_dropped_and_counted() -> None:
    d = [0.0, 0.003, 0.005, -0.001, 0.0, 0.004, 0.006, 0.007, 0.002]
    got = signed_rank(d)
    assert got["n_nonzero"] == 7
    assert "2 zero difference(s) dropped" in got["notes"][0]
    assert got["p_value"] == pytest.approx(stats.wilcoxon([x for x in d if x], method="exact").pvalue)


def test_all_zero_differences_give_no_p_value_and_say_so() -> None:
    c = compare("federated", "centralized", "specificity", [(s, 0.7, 0.7) for s in range(5)])
    assert c["p_value"] is None and c["p_method"] == "none" and c["n_nonzero"] == 0
    assert "every difference is zero" in c["note"]
    assert c["low"] == c["high"] == 0.0


def test_five_seeds_cannot_reach_five_percent_and_the_note_says_so() -> None:
    got = signed_rank([0.01, 0.02, 0.03, 0.04, 0.05])  # every seed in favour, the strongest possible case
    assert got["p_value"] == pytest.approx(0.0625) == smallest_p(5)
    assert any("cannot reach p < 0.05" in n for n in got["notes"])
    six = signed_rank([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    assert six["p_value"] == pytest.approx(0.03125) and not six["notes"]


def test_one_sided_level_for_the_note_is_half_alpha() -> None:
    assert smallest_p(5, "greater") == pytest.approx(1 / 32)
    got = signed_rank([0.01, 0.02, 0.03, 0.04, 0.05], "greater")
    assert any("cannot reach p < 0.025" in n for n in got["notes"])


def test_one_seed_compares_without_interval_or_crash() -> None:
    c = compare("federated", "local:9999", "auc", [(42, 0.73, 0.72)])
    assert c["n"] == 1 and c["low"] is None and c["high"] is None
    assert c["mean_diff"] == pytest.approx(0.01)
    assert c["p_value"] == 1.0
    assert "no interval" in c["note"] and "cannot reach" in c["note"]


def test_no_common_seed_gives_an_empty_comparison() -> None:
    c = compare("federated", "local:9999", "auc", [])
    assert c["n"] == 0 and c["p_value"] is None and c["mean_diff"] is None


def test_more_than_fifty_differences_use_scipys_normal_approximation() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.002, 0.01, 60)
    got = signed_rank(list(d))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the path chosen must not make scipy warn
        expected = stats.wilcoxon(d, method="approx").pvalue
    assert got["method"].startswith("normal approximation")
    assert got["p_value"] == pytest.approx(expected, abs=1e-12)
