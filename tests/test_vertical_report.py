"""The vertical report: its own sections in report.md (drawn from results at render time), and a headline
naming the vertical arms."""

from __future__ import annotations

from harness.report.claims import render_summary_line
from harness.report.markdown import render_markdown
from harness.report.results import missing_arms

ARM = {"auc": 0.7, "ks": 0.3, "specificity": 0.1, "recall": 0.9, "precision": 0.8, "f1": 0.85, "accuracy": 0.8,
       "n": 900, "threshold": 0.5}  # fmt: skip


def results(found: int) -> dict:
    return {
        "run_id": "r1",
        "seed": 42,
        "arms": {"federated_secureboost": ARM | {"auc": 0.713}, "centralized_gbdt": ARM | {"auc": 0.715}},
        "main_arms": {"federated": "federated_secureboost", "centralized": "centralized_gbdt"},
        "expected_arms": ["federated_secureboost", "centralized_gbdt", "guest_only_gbdt"],
        "psi": {"guest_ids": 3904, "host_ids": 3470, "true_overlap": 3113, "found_overlap": found, "seconds": 3.6,
                "protocol": "ecdh_psi"},
        "gaps": {"federated_secureboost - centralized_gbdt": {"auc": -0.002, "ks": 0.001}},
        "vertical": {"guest": "9999", "host": "9998", "feature_split": {"guest": ["int_rate"], "host": ["annual_inc"]}},
    }  # fmt: skip


def test_the_headline_and_missing_arms_follow_the_scenario() -> None:
    doc = results(3113)
    assert render_summary_line(doc).startswith("Federated AUC 0.713 vs centralised 0.715 (-0.002)")
    assert missing_arms(doc) == ["guest_only_gbdt"]


def test_report_md_carries_psi_and_the_lossless_verdict() -> None:
    text = render_markdown(results(3113), [])
    assert "## Private set intersection" in text and "found exactly the shared customers" in text
    assert "-0.0020 AUC, within the ±0.01" in text
    assert "## Who holds what" in text and "annual_inc" in text
    assert "but the parties share 3113" in render_markdown(results(3000), [])
