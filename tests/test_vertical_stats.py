"""The vertical study over seeds: the equivalence rule (SecureBoost's lossless claim), the planned claims and
comparisons of the vertical plan, and the scenario's default engine and seed count."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.aggregate import aggregate
from harness.stats.claims import NOT_SHOWN, REFUTED, SHOWN, equivalence
from harness.stats.paired import Comparison, compare
from harness.stats.plan import BINARY_PLAN, PlannedClaim, StatsPlan
from harness.study.config import load_config
from harness.study.vertical import VerticalConfig
from harness.study.vertical_arms import (
    CENTRALIZED_GBDT,
    CENTRALIZED_LR,
    FEDERATED_HETEROLR,
    FEDERATED_SECUREBOOST,
    GUEST_ONLY_GBDT,
    GUEST_ONLY_LR,
    vertical_stats_plan,
)


def cmp(diffs: list[float]) -> Comparison:
    return compare("a", "b", "auc", [(s, 0.72 + d, 0.72) for s, d in enumerate(diffs)])


def spread(centre: float, width: float, n: int = 10) -> list[float]:
    return list(np.linspace(centre - width, centre + width, n) + np.linspace(0, 1e-5, n))


@pytest.mark.parametrize(
    ("diffs", "verdict", "why"),
    [
        (spread(0.002, 0.003), SHOWN, "within ±0.01"),
        (spread(-0.002, 0.003), SHOWN, "within ±0.01"),
        # Well above +0.01: federated is *better* by more than the margin, so not equivalent either.
        (spread(0.03, 0.004), REFUTED, "outside ±0.01"),
        (spread(-0.03, 0.004), REFUTED, "outside ±0.01"),
        (spread(0.008, 0.01), NOT_SHOWN, "reaches past ±0.01"),
        # Inside the margin but on five seeds: the signed-rank tests cannot reach p < 0.025.
        (spread(0.0, 0.002, n=5), NOT_SHOWN, "≥ 0.025"),
        ([0.001], NOT_SHOWN, "no interval"),
    ],
)
def test_equivalence_needs_the_whole_interval_within_the_margin(diffs: list[float], verdict: str, why: str) -> None:
    e = equivalence(cmp(diffs), 0.01)
    assert e["verdict"] == verdict, e["why"]
    assert why in e["why"]


def seed_result(seed: int, rng: np.random.Generator) -> dict:
    base = 0.70 + rng.normal(0, 0.01)

    def arm(auc: float) -> dict:
        return {"auc": auc, "ks": auc / 2, "specificity": 0.2, "recall": 0.9, "precision": 0.8, "f1": 0.85,
                "accuracy": 0.8}

    return {"seed": seed, "arms": {
        FEDERATED_SECUREBOOST: arm(base + 0.001 * rng.normal()),
        CENTRALIZED_GBDT: arm(base),
        GUEST_ONLY_GBDT: arm(base - 0.02 + 0.002 * rng.normal()),
        FEDERATED_HETEROLR: arm(base - 0.01),
        CENTRALIZED_LR: arm(base - 0.01),
        GUEST_ONLY_LR: arm(base - 0.01 + 0.002 * rng.normal()),
    }}  # fmt: skip


def test_the_vertical_plan_compares_the_gap_pairs_and_decides_its_three_claims() -> None:
    rng = np.random.default_rng(0)
    out = aggregate([seed_result(s, rng) for s in range(42, 50)], plan=vertical_stats_plan(VerticalConfig()))
    assert set(out["intervals"]) == {FEDERATED_SECUREBOOST, CENTRALIZED_GBDT, GUEST_ONLY_GBDT, FEDERATED_HETEROLR,
                                     CENTRALIZED_LR, GUEST_ONLY_LR}  # fmt: skip
    pairs = {(c["a"], c["b"]) for c in out["comparisons"] if c["metric"] == "auc"}
    assert pairs == {(FEDERATED_SECUREBOOST, CENTRALIZED_GBDT), (FEDERATED_SECUREBOOST, GUEST_ONLY_GBDT),
                     (FEDERATED_HETEROLR, CENTRALIZED_LR), (FEDERATED_HETEROLR, GUEST_ONLY_LR)}  # fmt: skip
    verdicts = {c["claim"].split(":")[0]: c["verdict"] for c in out["claims"]}
    assert len(out["claims"]) == 3
    assert verdicts["SecureBoost is lossless"] == SHOWN
    assert out["claims"][1]["verdict"] == SHOWN  # SecureBoost beats guest-only by 0.02
    assert out["claims"][2]["verdict"] == NOT_SHOWN  # HeteroLR = guest-only LR up to noise
    assert set(out["stats_method"]["rules"]) == {"equivalence", "superiority"}


def test_a_plan_without_heterolr_claims_nothing_about_it() -> None:
    plan = vertical_stats_plan(VerticalConfig(federated=("secureboost",)))
    assert {c.a for c in plan.claims} == {FEDERATED_SECUREBOOST}
    assert all(a == FEDERATED_SECUREBOOST for a, _ in plan.pairs)


def test_a_claim_on_a_pair_the_plan_does_not_compare_is_a_bug_said_at_once() -> None:
    with pytest.raises(ValueError, match="need those pairs"):
        StatsPlan(**{**BINARY_PLAN.__dict__, "claims": (PlannedClaim("superiority", "x", "y", "x beats y"),)})
    with pytest.raises(ValueError, match="claim kind"):
        PlannedClaim("non-inferiority-ish", "x", "y", "?")


def test_the_vertical_scenario_runs_six_seeds_on_the_launcher_without_flow_validation() -> None:
    config = load_config(scenario="lending-club-vertical")
    assert (config.engine, config.seeds) == ("launcher", 6)
    assert load_config(scenario="lending-club-vertical", engine="standalone").seeds == 1
    assert load_config(scenario="lending-club-vertical", seeds=3).seeds == 3
    # The other scenarios keep their defaults.
    assert load_config().seeds == 10
    assert load_config(scenario="lending-club-homolr").seeds == 10
