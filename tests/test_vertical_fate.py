"""lending-club-vertical on FATE 2.2's launcher, CI-sized (marker ``fate``): PSI finds exactly the shared
customers, SecureBoost matches XGBoost trained on the joined table, coordinated LR matches its in-process rule.

Two trees and two LR epochs on the bundled sample: one launch of three party processes, both fits in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engines.fate22.launcher import LauncherEngine
from harness.report.markdown import render_markdown
from harness.study.config import load_config
from harness.study.pipeline import run_study
from harness.study.vertical_arms import (
    CENTRALIZED_GBDT,
    CENTRALIZED_LR,
    FEDERATED_HETEROLR,
    FEDERATED_SECUREBOOST,
    GUEST_ONLY_GBDT,
    GUEST_ONLY_LR,
)

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
METRIC_KEYS = {"auc", "ks", "specificity", "recall", "precision", "f1", "accuracy"}
ARMS = {FEDERATED_SECUREBOOST, CENTRALIZED_GBDT, GUEST_ONLY_GBDT, FEDERATED_HETEROLR, CENTRALIZED_LR, GUEST_ONLY_LR}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    config = load_config(
        scenario="lending-club-vertical",
        data=ROOT / "data" / "loan_2011q4_head5k.csv",
        work_dir=ROOT / ".fatelab" / "work",
        reports_dir=tmp_path_factory.mktemp("reports"),
        engine="launcher",
        seeds=1,  # the scenario's default is 6 on the launcher; one seed is CI-sized
        vertical={"secureboost": {"num_trees": 2}, "hetero_lr": {"epochs": 2}},
    )
    engine = LauncherEngine(ROOT / ".fatelab" / "work" / "launcher", progress=False)
    return run_study(config, engine)[1]


def test_every_arm_is_scored_on_the_same_held_out_customers(results: dict) -> None:
    assert set(results["arms"]) == ARMS
    scored = results["vertical"]["scored_rows"]
    for arm, metrics in results["arms"].items():
        assert set(metrics) >= METRIC_KEYS, arm
        assert metrics["n"] == scored, arm


def test_psi_finds_exactly_the_customers_both_parties_hold(results: dict) -> None:
    psi = results["psi"]
    assert psi["found_overlap"] == psi["true_overlap"]
    assert psi["by_split"]["found"] == psi["by_split"]["true"]
    # Partial overlap, as configured: neither side holds every customer of the other.
    assert psi["true_overlap"] < min(psi["guest_ids"], psi["host_ids"])
    assert psi["seconds"] > 0


def test_secureboost_is_within_001_auc_of_xgboost_on_the_joined_table(results: dict) -> None:
    arms = results["arms"]
    assert abs(arms[FEDERATED_SECUREBOOST]["auc"] - arms[CENTRALIZED_GBDT]["auc"]) <= 0.01, results["gaps"]


def test_coordinated_lr_equals_its_update_rule_trained_centralised(results: dict) -> None:
    arms = results["arms"]
    assert arms[FEDERATED_HETEROLR]["auc"] == pytest.approx(arms[CENTRALIZED_LR]["auc"], abs=2e-3)
    # Each party sent something: the host's columns took part only through FATE's federation.
    parties = results["arm_details"][FEDERATED_HETEROLR]["bytes"]["parties"]
    assert parties["host:9998"]["bytes"] > 0 and parties["arbiter:10000"]["bytes"] > 0


def test_secureboost_cost_is_timed_per_tree_with_the_encryption_share(results: dict) -> None:
    details = results["arm_details"][FEDERATED_SECUREBOOST]
    cost = details["cost"]
    assert cost["parties"]["guest:9999"]["trees"] == cost["parties"]["host:9998"]["trees"] == 2
    assert cost["parties"]["guest:9999"]["encrypt_gh_calls"] == 2  # one Paillier encryption of g/h per tree
    assert 0 < cost["encrypt_share"] < 1 and 0 < cost["host_histogram_share"] < 1
    assert details["seconds_per_tree"] == cost["seconds_per_tree"] > 0
    assert "## SecureBoost cost" in render_markdown(results, [])
