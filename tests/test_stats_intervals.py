"""harness.stats.intervals: the t-interval over seeds, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.stats.intervals import finite_values, has_interval, t_interval

AUCS = [0.722, 0.740, 0.756, 0.731, 0.728, 0.719, 0.744, 0.735, 0.726, 0.750]
# t(0.975, 9) from a printed table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2): 2.262
T_975_DF9 = 2.2621571627982053


def test_ten_seeds_match_a_hand_computation_with_the_tabled_t_quantile() -> None:
    x = np.array(AUCS)
    mean = x.sum() / x.size
    sd = math.sqrt(((x - mean) ** 2).sum() / (x.size - 1))
    half = T_975_DF9 * sd / math.sqrt(x.size)
    got = t_interval(AUCS)
    assert got["n"] == 10
    assert got["mean"] == pytest.approx(mean, abs=1e-12)
    assert got["std"] == pytest.approx(sd, abs=1e-12)
    assert got["low"] == pytest.approx(mean - half, abs=1e-9)
    assert got["high"] == pytest.approx(mean + half, abs=1e-9)
    assert "note" not in got


@pytest.mark.parametrize("values", [AUCS[:2], AUCS[:3], AUCS[:6], AUCS])
def test_interval_equals_scipys_one_sample_t_test_interval(values: list[float]) -> None:
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    got = t_interval(values)
    assert (got["low"], got["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_other_confidence_levels_follow_the_t_distribution() -> None:
    ci = stats.ttest_1samp(AUCS, 0.0).confidence_interval(0.9)
    got = t_interval(AUCS, confidence=0.9)
    assert (got["low"], got["high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert got["high"] - got["low"] < t_interval(AUCS)["high"] - t_interval(AUCS)["low"]


def test_one_seed_gives_the_mean_and_says_why_there_is_no_interval() -> None:
    got = t_interval([0.73])
    assert got == {"mean": 0.73, "std": None, "low": None, "high": None, "n": 1,
                   "note": "one seed: no spread, so no interval"}
    assert not has_interval(got)


def test_no_seed_gives_no_numbers_and_n_zero() -> None:
    got = t_interval([])
    assert got["n"] == 0 and got["mean"] is None and got["low"] is None
    assert "no seed" in got["note"]


def test_identical_values_give_a_zero_width_interval() -> None:
    got = t_interval([0.7, 0.7, 0.7])
    assert got["std"] == pytest.approx(0.0, abs=1e-12)
    assert got["low"] == pytest.approx(0.7) and got["high"] == pytest.approx(0.7)


def test_unusable_values_are_dropped_before_counting() -> None:
    assert finite_values([0.7, None, float("nan"), float("inf"), True, 0.8, np.float64(0.75)]) == [0.7, 0.8, 0.75]


def test_confidence_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        t_interval(AUCS, confidence=95)
