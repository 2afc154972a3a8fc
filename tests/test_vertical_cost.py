"""SecureBoost's cost: the method wrapper the launcher's party processes time FATE with, the cost blocks built
from it, and the report's cost section; and the launcher-vs-FATE-Flow comparison of a vertical fit. The real
fits are checked in tests/test_vertical_fate.py and tests/test_vertical_flow.py."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from harness.engines.base import JobResult
from harness.engines.fate22.sbt_cost import fit_cost, party_cost, timed
from harness.engines.validation import compare_hetero_fits
from harness.report.markdown import render_markdown
from tests.test_vertical_report import results


class Tree:
    def booster_fit(self, seconds: float) -> str:
        time.sleep(seconds)
        return "grown"

    def encrypt(self) -> None:
        raise RuntimeError("key lost")


def test_timed_counts_calls_and_seconds_then_puts_the_methods_back() -> None:
    original = Tree.__dict__["booster_fit"]
    with timed({"tree": (Tree, "booster_fit"), "encrypt_gh": (Tree, "encrypt")}) as clock:
        tree = Tree()
        assert tree.booster_fit(0.02) == "grown" and tree.booster_fit(0.0) == "grown"
        with pytest.raises(RuntimeError, match="key lost"):
            tree.encrypt()  # a failing call is timed too, and its error passes through
    assert Tree.__dict__["booster_fit"] is original
    assert clock["tree"]["calls"] == 2 and clock["tree"]["seconds"] >= 0.02
    assert clock["encrypt_gh"]["calls"] == 1


def test_a_method_that_is_not_there_leaves_nothing_wrapped() -> None:
    original = Tree.__dict__["booster_fit"]
    with pytest.raises(KeyError), timed({"tree": (Tree, "booster_fit"), "x": (Tree, "no_such_method")}):
        pass
    assert Tree.__dict__["booster_fit"] is original


def test_party_cost_gives_per_tree_seconds_and_shares_of_training() -> None:
    clock = {"tree": {"seconds": 8.0, "calls": 4}, "encrypt_gh": {"seconds": 2.5, "calls": 4}}
    cost = party_cost(clock, train_s=10.0, predict_s=1.0)
    assert cost["seconds_per_tree"] == 2.0 and cost["trees"] == 4
    assert cost["encrypt_gh_share"] == 0.25 and cost["encrypt_gh_calls"] == 4
    fit = fit_cost({"guest:9999": cost, "host:9998": party_cost({"tree": {"seconds": 6.0, "calls": 4},
                                                                   "histogram": {"seconds": 3.0, "calls": 12}},
                                                                  train_s=10.0, predict_s=1.0)})
    assert (fit["seconds_per_tree"], fit["encrypt_share"], fit["host_histogram_share"]) == (2.0, 0.25, 0.3)


def test_the_report_has_a_cost_section_when_the_fit_was_timed() -> None:
    doc = results(3113)
    assert "## SecureBoost cost" not in render_markdown(doc, [])
    guest = party_cost({"tree": {"seconds": 8.0, "calls": 4}, "encrypt_gh": {"seconds": 2.5, "calls": 4},
                        "split_decrypt": {"seconds": 1.0, "calls": 8}}, 10.0, 1.0)
    doc["arm_details"] = {"federated_secureboost": {"cost": fit_cost({"guest:9999": guest})}}
    text = render_markdown(doc, [])
    assert "## SecureBoost cost" in text
    assert "Paillier encryption of g, h | 2.50 | 25.0 %" in text


# ------------------------------------------------------------------------------------ launcher vs FATE-Flow
def hetero_fit(scores: list[float], found: tuple[int, int] = (700, 230)) -> JobResult:
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "label": [0, 1, 1, 0], "score": scores})
    psi = {"train_in": 957, "train_found": found[0], "test_in": 300, "test_found": found[1]}
    return JobResult("j", frame, {}, 1.0, extras={"family": "hetero_secureboost", "psi": {"guest:9999": psi}})


def test_hetero_validation_needs_equal_psi_counts_and_scores() -> None:
    engines = ("flow", "launcher")
    same = compare_hetero_fits(hetero_fit([0.1, 0.9, 0.8, 0.3]), hetero_fit([0.1, 0.9, 0.8, 0.3 + 1e-9]),
                               engines=engines, id_column="id", guest="9999")
    assert same["within_bounds"] and same["psi_equal"] and same["auc_diff"] == 0
    assert same["max_abs_score_diff"] == pytest.approx(1e-9)
    other_psi = compare_hetero_fits(hetero_fit([0.1, 0.9, 0.8, 0.3]), hetero_fit([0.1, 0.9, 0.8, 0.3], (699, 230)),
                                    engines=engines, id_column="id", guest="9999")
    assert not other_psi["psi_equal"] and not other_psi["within_bounds"]
    drifted = compare_hetero_fits(hetero_fit([0.1, 0.9, 0.8, 0.3]), hetero_fit([0.1, 0.9, 0.8, 0.31]),
                                  engines=engines, id_column="id", guest="9999")
    assert not drifted["within_bounds"]
