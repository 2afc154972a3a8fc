"""Paired comparisons of two arms over the same seeds: a t-interval of the differences and a
Wilcoxon signed-rank p-value.

Pairing: a seed contributes only when both arms have the metric in that seed, so ``n`` can be
smaller than the number of seeds (the excluded ones are listed by the aggregate).

The signed-rank test, as computed here:

- Differences are rounded to 1e-12 first. Metrics such as specificity are ratios of counts
  (true negatives / 232); two differences equal in exact arithmetic can differ in the last bit as
  floats and must tie, not get distinct ranks.
- Zero differences are dropped (Wilcox's original method, scipy's ``zero_method="wilcox"``);
  ``n_nonzero`` says how many differences the test used. All zero: no test, ``p_value`` None.
- Up to 50 non-zero differences without ties: ``scipy.stats.wilcoxon(method="exact")``. With tied
  absolute differences scipy 1.12's exact path truncates half ranks, so the exact distribution of
  the midrank sum is computed here instead (every sign assignment equally likely under H0, a
  dynamic programme over the doubled ranks); without ties it equals scipy's exact p. Above 50:
  scipy's normal approximation with its tie correction.
- With n non-zero differences the smallest two-sided p the exact test can give is 2 / 2**n:
  0.0625 for n = 5. Below 6 the test cannot reach p < 0.05 whatever the effect; the comparison
  carries a note saying so instead of a p-value that looks like weak evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict

import numpy as np
from scipy import stats

from harness.stats.intervals import CONFIDENCE, t_interval

Alternative = Literal["two-sided", "greater", "less"]
ROUND_DECIMALS = 12
EXACT_MAX_N = 50
ALPHA = 0.05


class RankTest(TypedDict):
    p_value: float | None
    method: str
    n_nonzero: int
    notes: list[str]


class Comparison(TypedDict, total=False):
    """``a`` − ``b`` on ``metric`` over the ``seeds`` where both have it; ``diffs`` per seed."""

    a: str
    b: str
    metric: str
    mean_diff: float | None
    std_diff: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_method: str
    n: int
    n_nonzero: int
    seeds: list[int]
    diffs: list[float]
    note: str


def smallest_p(n_nonzero: int, alternative: Alternative = "two-sided") -> float:
    """The smallest p-value the exact signed-rank test can give with ``n_nonzero`` differences."""
    one_sided = 0.5 ** n_nonzero
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


def _exact_midrank_p(d: np.ndarray, alternative: Alternative) -> float:
    """Exact p of the signed-rank sum with midranks: all 2**n sign assignments equally likely."""
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(np.int64)  # midranks are multiples of 0.5
    counts = np.zeros(int(doubled.sum()) + 1)
    counts[0] = 1.0
    for r in doubled:
        shifted = np.zeros_like(counts)
        shifted[r:] = counts[: counts.size - r]
        counts = counts + shifted
    pmf = counts / counts.sum()
    t = int(doubled[d > 0].sum())
    p_less, p_greater = float(pmf[: t + 1].sum()), float(pmf[t:].sum())
    if alternative == "greater":
        return min(1.0, p_greater)
    if alternative == "less":
        return min(1.0, p_less)
    return min(1.0, 2 * min(p_less, p_greater))


def signed_rank(diffs: Sequence[float], alternative: Alternative = "two-sided", alpha: float = ALPHA) -> RankTest:
    """Wilcoxon signed-rank test of H0 "the differences are symmetric about 0" (see the module doc)."""
    d = np.round(np.asarray(diffs, dtype=float), ROUND_DECIMALS)
    nonzero = d[d != 0]
    n = int(nonzero.size)
    notes: list[str] = []
    zeros = int(d.size) - n
    if zeros:
        notes.append(f"{zeros} zero difference(s) dropped before ranking")
    if n == 0:
        notes.append("every difference is zero: no signed-rank test")
        return {"p_value": None, "method": "none", "n_nonzero": 0, "notes": notes}
    tied = np.unique(np.abs(nonzero)).size < n
    if n > EXACT_MAX_N:
        p = float(stats.wilcoxon(nonzero, method="approx", alternative=alternative).pvalue)
        method = "normal approximation, tie-corrected"
    elif tied:
        p = _exact_midrank_p(nonzero, alternative)
        method = "exact, midranks for ties"
        notes.append("tied absolute differences: exact distribution of the midrank sum")
    else:
        p = float(stats.wilcoxon(nonzero, method="exact", alternative=alternative).pvalue)
        method = "exact"
    level = alpha if alternative == "two-sided" else alpha / 2
    if n <= EXACT_MAX_N and smallest_p(n, alternative) >= level:
        notes.append(f"with {n} non-zero difference(s) the smallest possible p is "
                     f"{smallest_p(n, alternative):.4g}: this test cannot reach p < {level:g} "
                     "at any effect size; more seeds are needed")
    return {"p_value": p, "method": method, "n_nonzero": n, "notes": notes}


def compare(a: str, b: str, metric: str, pairs: Sequence[tuple[int, float, float]],
            confidence: float = CONFIDENCE) -> Comparison:
    """``a`` − ``b`` over ``pairs`` of (seed, value of a, value of b), all finite numbers."""
    seeds = [int(s) for s, _, _ in pairs]
    diffs = [float(va) - float(vb) for _, va, vb in pairs]
    ci = t_interval(diffs, confidence)
    out: Comparison = {"a": a, "b": b, "metric": metric, "mean_diff": ci["mean"], "std_diff": ci["std"],
                       "low": ci["low"], "high": ci["high"], "n": ci["n"], "seeds": seeds, "diffs": diffs}
    notes = [ci["note"]] if "note" in ci else []
    if diffs:
        test = signed_rank(diffs)
        out.update(p_value=test["p_value"], p_method=test["method"], n_nonzero=test["n_nonzero"])
        notes += test["notes"]
    else:
        out.update(p_value=None, p_method="none", n_nonzero=0)
    if notes:
        out["note"] = "; ".join(notes)
    return out
