"""`fatelab security --preset ci` end to end without FATE (leakage, images, poisoning, adversarial)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_ci_run_writes_the_acceptance_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["security", "--preset", "ci", "--studies", "leakage,poisoning,adversarial",
                 "--data", str(ROOT / "data" / "loan_2011q4_head5k.csv"), "--reports", str(tmp_path),
                 "--run-id", "ci"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    results = json.loads(Path(out["results"]).read_text())
    assert set(results["leakage"]) >= {"single_record", "batches", "aggregated", "images"}
    assert set(results["leakage"]["single_record"]) >= {"records", "exact", "max_rel_error"}
    for row in results["poisoning"]:
        assert set(row) >= {"attack", "strength", "aggregator", "auc", "specificity", "backdoor_success"}
        assert row["attack"] in ("label_flip", "scaling", "backdoor")
        assert row["aggregator"] in ("fedavg", "median", "trimmed_mean", "krum")
        assert len(row["auc_interval"]) == 2
    assert {r["attack"] for r in results["adversarial"]} == {"fgsm", "pgd", "transfer"}
    assert {r["model"] for r in results["adversarial"]} == {"federated", "centralized"}
    report = (tmp_path / "ci" / "security.md").read_text()
    assert "## Poisoning" in report and "## Adversarial" in report
    assert (tmp_path / "ci" / "poisoning_scaling.png").stat().st_size > 1000
    assert not (tmp_path / "ci.partial").exists()


def test_existing_report_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").mkdir()
    assert main(["security", "--preset", "ci", "--reports", str(tmp_path), "--run-id", "taken"]) == 2
    assert "already exists" in capsys.readouterr().err
