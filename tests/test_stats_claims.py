"""harness.stats.claims: the verdict rules on constructed cases (shown, refuted, inconclusive)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.claims import (
    NOT_SHOWN,
    REFUTED,
    SHOWN,
    non_inferiority,
    study_claims,
    superiority,
)
from harness.stats.paired import Comparison, compare


def cmp(diffs: list[float], a: str = "federated", b: str = "centralized", metric: str = "auc") -> Comparison:
    """A comparison whose per-seed differences are exactly ``diffs`` (b fixed at 0.72)."""
    return compare(a, b, metric, [(s, 0.72 + d, 0.72) for s, d in enumerate(diffs)])


def spread(centre: float, width: float, n: int = 10) -> list[float]:
    return list(np.linspace(centre - width, centre + width, n) + np.linspace(0, 1e-5, n))


# --------------------------------------------------------------------------------------------------
# Non-inferiority (margin 0.01)


def test_small_loss_well_inside_the_margin_is_shown() -> None:
    e = non_inferiority(cmp(spread(-0.003, 0.002)))
    assert e["verdict"] == SHOWN
    assert e["low"] > -0.01 and e["p_non_inferiority"] < 0.025
    assert "lies entirely above -0.01" in e["why"]


def test_loss_beyond_the_margin_is_refuted() -> None:
    e = non_inferiority(cmp(spread(-0.03, 0.004)))
    assert e["verdict"] == REFUTED
    assert e["high"] < -0.01 and e["p_non_inferiority"] < 0.025


def test_interval_straddling_the_margin_is_not_shown() -> None:
    e = non_inferiority(cmp(spread(-0.008, 0.02)))
    assert e["verdict"] == NOT_SHOWN
    assert e["low"] < -0.01 < e["high"]
    assert "contains -0.01" in e["why"]


def test_a_wider_margin_turns_the_same_data_into_shown() -> None:
    c = cmp(spread(-0.008, 0.02))
    assert non_inferiority(c, margin=0.01)["verdict"] == NOT_SHOWN
    assert non_inferiority(c, margin=0.05)["verdict"] == SHOWN


def test_five_seeds_inside_the_margin_are_not_enough_for_the_signed_rank_test() -> None:
    e = non_inferiority(cmp(spread(-0.002, 0.001, n=5)))
    assert e["low"] > -0.01  # the t-interval alone would say shown
    assert e["verdict"] == NOT_SHOWN
    assert "cannot reach p < 0.025" in e["why"]


def test_one_seed_is_not_shown_without_crashing() -> None:
    e = non_inferiority(cmp([-0.001]))
    assert e["verdict"] == NOT_SHOWN and e["why"] == "1 paired seed(s): no interval"


# --------------------------------------------------------------------------------------------------
# Superiority over local-only parties


def test_clear_gain_over_a_local_party_is_shown() -> None:
    e = superiority(cmp(spread(0.01, 0.004), b="local:9999"))
    assert e["verdict"] == SHOWN and e["low"] > 0 and e["p_value"] < 0.05


def test_clear_loss_to_a_local_party_refutes() -> None:
    e = superiority(cmp(spread(-0.01, 0.004), b="local:9999"))
    assert e["verdict"] == REFUTED and e["high"] < 0


def test_gain_whose_interval_contains_zero_is_not_shown() -> None:
    e = superiority(cmp(spread(0.002, 0.01), b="local:9999"))
    assert e["verdict"] == NOT_SHOWN and "contains 0" in e["why"]


def test_superiority_needs_six_seeds_for_the_signed_rank_test() -> None:
    e = superiority(cmp([0.010, 0.011, 0.012, 0.013, 0.014], b="local:9999"))
    assert e["low"] > 0
    assert e["verdict"] == NOT_SHOWN and "cannot reach p < 0.05" in e["why"]


# --------------------------------------------------------------------------------------------------
# The study's claims together


def claims_for(local: dict[str, list[float]], cen: list[float] | None = None) -> list[dict]:
    comps = [cmp(cen or spread(-0.002, 0.002))]
    comps += [cmp(d, b=f"local:{p}") for p, d in local.items()]
    comps += [cmp(spread(-0.05, 0.01), b=f"local:{p}", metric="specificity") for p in local]  # not a claim metric
    return study_claims(comps, sweep_pair=cmp(spread(0.001, 0.003), a="federated 50/50", b="federated 10/90"))


def test_better_than_every_party_is_shown_only_when_shown_for_each() -> None:
    gain = spread(0.01, 0.004)
    claims = claims_for({"9999": gain, "9998": gain, "10000": gain})
    assert [c["verdict"] for c in claims] == [SHOWN, SHOWN, SHOWN]
    assert len(claims[1]["evidence"]) == 3  # specificity comparisons do not enter the AUC claim


def test_one_inconclusive_party_makes_the_claim_not_shown() -> None:
    gain = spread(0.01, 0.004)
    claims = claims_for({"9999": gain, "9998": gain, "10000": spread(0.001, 0.01)})
    assert claims[1]["verdict"] == NOT_SHOWN
    assert [e["verdict"] for e in claims[1]["evidence"]] == [SHOWN, SHOWN, NOT_SHOWN]


def test_one_party_beating_federated_refutes_the_claim() -> None:
    gain = spread(0.01, 0.004)
    claims = claims_for({"9999": gain, "9998": spread(-0.01, 0.003), "10000": spread(0.001, 0.01)})
    assert claims[1]["verdict"] == REFUTED


def test_claims_carry_the_numbers_that_decide_them() -> None:
    claims = claims_for({"9999": spread(0.01, 0.004)})
    first = claims[0]
    assert first["claim"] == "Federated is not worse than centralised by more than 0.01 AUC"
    e = first["evidence"][0]
    assert {"mean_diff", "low", "high", "n", "p_value", "p_non_inferiority", "margin", "why"} <= set(e)
    assert "0.025" in first["rule"] and "-0.01" in first["rule"]
    assert "federated - centralized" in first["summary"] and "n 10" in first["summary"]
    assert claims[2]["claim"] == ("The most balanced split (50/50) is not worse than the least balanced (10/90) "
                                  "by more than 0.01 AUC")


def test_without_local_arms_or_sweep_the_claims_say_what_is_missing() -> None:
    claims = study_claims([cmp(spread(-0.002, 0.002))])
    assert len(claims) == 2
    assert claims[1]["verdict"] == NOT_SHOWN and claims[1]["summary"] == "no local-only arm to compare with"
    none = study_claims([])
    assert none[0]["verdict"] == NOT_SHOWN and none[0]["summary"] == "no centralised arm to compare with"


@pytest.mark.parametrize("metric", ["auc", "specificity"])
def test_the_claim_metric_selects_the_comparisons(metric: str) -> None:
    comps = [cmp(spread(-0.002, 0.002), metric="auc"), cmp(spread(-0.05, 0.004), metric="specificity")]
    verdict = study_claims(comps, metric=metric)[0]["verdict"]
    assert verdict == (SHOWN if metric == "auc" else REFUTED)
