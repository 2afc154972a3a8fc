"""The whole study on the embedded FATE 2.2, without the sweep (marker ``fate``).

Uses the same seed, partition and tables as ``make experiment``, so after an experiment run its
uploads are reused and this costs one FATE job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engines.fate22.standalone import StandaloneEngine
from harness.study.config import load_config
from harness.study.pipeline import run_study

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
METRIC_KEYS = {"auc", "ks", "specificity", "recall", "precision", "f1", "accuracy"}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    reports = tmp_path_factory.mktemp("reports")
    config = load_config(
        data=ROOT / "data" / "loan_2011q4_head5k.csv",
        work_dir=ROOT / ".fatelab" / "work",
        reports_dir=reports,
        sweep=False,
        engine="standalone",  # one seed: every fit is a FATE-Flow job
    )
    return run_study(config, StandaloneEngine(ROOT / ".fatelab" / "flow", progress=False))


def test_every_arm_has_every_metric(study: tuple[Path, dict]) -> None:
    _, results = study
    assert results["scenario"] == "lending-club-homolr"
    assert set(results["arms"]) == {"federated", "centralized", "local:9999", "local:9998", "local:10000"}
    for arm, metrics in results["arms"].items():
        assert set(metrics) >= METRIC_KEYS, arm
        assert metrics["n"] == results["parties"]["9999"]["test_rows"]


def test_federated_is_within_002_auc_of_centralised(study: tuple[Path, dict]) -> None:
    _, results = study
    gap = results["arms"]["federated"]["auc"] - results["arms"]["centralized"]["auc"]
    assert abs(gap) <= 0.02, results["gap_note"]
    # FATE's own Evaluation agrees with the metrics recomputed from the returned scores.
    fate_auc = results["arm_details"]["federated"]["fate_metrics"]["auc"]
    assert fate_auc == pytest.approx(results["arms"]["federated"]["auc"], abs=1e-6)


def test_report_on_disk_is_the_results(study: tuple[Path, dict]) -> None:
    run_dir, results = study
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["arms"]["federated"]["auc"] == pytest.approx(results["arms"]["federated"]["auc"])
    report = (run_dir / "report.md").read_text()
    assert f"{results['arms']['federated']['auc']:.3f}" in report
    assert (run_dir / "arms.png").stat().st_size > 10_000 and (run_dir / "roc.png").exists()
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()


def test_parties_train_only_on_their_partition(study: tuple[Path, dict]) -> None:
    _, results = study
    parties = results["parties"]
    total = sum(parties[p]["train_rows"] for p in ("9999", "9998", "10000"))
    assert total == results["data"]["card"]["rows_out"] - parties["9999"]["test_rows"]
    # The study's 25/25/50 split, within one row.
    assert abs(parties["9998"]["train_rows"] - total * 0.5) <= 1
    assert parties["10000"]["roles"] == ["host", "arbiter"]
