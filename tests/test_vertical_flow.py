"""lending-club-vertical on FATE's launcher against the same fit as a FATE-Flow job (marker ``fate``).

One CI-sized SecureBoost fit (2 trees of depth 2, the first ROWS loans of the bundled sample, so a few
hundred ids per party) runs in one launch of FATE's launcher, then again as one job on the embedded
FATE-Flow (Reader -> PSI -> SecureBoost -> predict -> Evaluation; the launcher's ``validation``). Both
must find the same intersection, score the same held-out customers alike within
:data:`harness.engines.validation.HETERO_BOUNDS`, and reach the same AUC.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.validation import HETERO_BOUNDS
from harness.study.config import load_config
from harness.study.pipeline import run_study

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
ROWS = 1200  # loans of the bundled sample: ~1,000 after preparation, ~700 customers both parties hold


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("vertical_flow")
    sample = ROOT / "data" / "loan_2011q4_head5k.csv"
    head = work / "loan_head.csv"
    with sample.open() as src, head.open("w") as dst:
        dst.writelines(line for _, line in zip(range(ROWS + 1), src, strict=False))
    config = load_config(
        scenario="lending-club-vertical",
        data=head,
        work_dir=work,
        reports_dir=work / "reports",
        engine="launcher",
        seeds=1,
        vertical={"federated": ["secureboost"], "secureboost": {"num_trees": 2, "max_depth": 2}},
    )
    flow = StandaloneEngine(ROOT / ".fatelab" / "flow", progress=False)
    engine = LauncherEngine(work / "launcher", reference=flow, progress=False)
    results = run_study(config, engine)[1]
    print(json.dumps(results["validation"], indent=1))  # the measured gaps, kept in CI's log
    return results


def test_psi_finds_the_same_customers_on_both_engines(results: dict) -> None:
    block = results["validation"]
    flow, launcher = (block["psi"][e] for e in block["engines"])
    assert flow == launcher and block["psi_equal"]
    true = results["psi"]["by_split"]["true"]
    assert (launcher["train_found"], launcher["test_found"]) == (true["train"], true["test"])
    # Partial overlap: PSI dropped ids on both splits.
    assert launcher["train_found"] < launcher["train_in"] and launcher["test_found"] < launcher["test_in"]


def test_secureboost_scores_and_auc_agree_between_launcher_and_fate_flow(results: dict) -> None:
    block = results["validation"]
    for key, bound in HETERO_BOUNDS.items():
        assert block[key] <= bound, f"{key} {block[key]:.3g} exceeds {bound:g}: {block}"
    assert block["within_bounds"] and block["rows"] == results["vertical"]["scored_rows"]
    launcher_auc = block["auc"]["fate-2.2-launcher"]
    # Trees that learned nothing would agree trivially.
    assert 0.55 < launcher_auc < 1.0
    assert launcher_auc == pytest.approx(results["arms"]["federated_secureboost"]["auc"], abs=1e-12)


def test_the_launcher_timed_the_fit(results: dict) -> None:
    cost = results["arm_details"]["federated_secureboost"]["cost"]
    guest = cost["parties"]["guest:9999"]
    host = cost["parties"]["host:9998"]
    assert guest["trees"] == host["trees"] == 2
    # One encryption of g/h per tree, several histograms per tree (one per layer).
    assert guest["encrypt_gh_calls"] == 2 and host["histogram_calls"] >= 2
    assert 0 < cost["encrypt_share"] < 1 and 0 < cost["host_histogram_share"] < 1
    assert 0 < guest["seconds_per_tree"] <= guest["train_s"]
