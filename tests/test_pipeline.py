"""The pipeline's shape, on the bundled sample with an engine double that records what it is asked.

A run plans every federated fit first, then uploads every table those fits need in ONE ``upload_many``
(each table once) and runs every fit in ONE ``run_many``: what lets the launcher train a whole run in
one launch, and multi-seed runs batch their fits. The double scores the test rows it is handed with
a fixed rule, so the federated metrics are computed from what the engine returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.engines.base import FitJob, JobResult, ModelMapping, Table, UploadRequest
from harness.engines.fate22 import mapping as fate22_mapping
from harness.errors import DataError
from harness.study.config import load_config
from harness.study.pipeline import run_study

ROOT = Path(__file__).resolve().parents[1]
RESULT_KEYS = {
    "run_id", "created", "scenario", "seed", "test_size", "engine", "versions", "config", "data", "parties",
    "partitioner", "balance", "model", "arms", "arm_details", "sweep", "roc", "timings", "gap_note",
}  # fmt: skip


class RecordingEngine:
    name = "recording"

    def __init__(self) -> None:
        self.uploads: list[list[UploadRequest]] = []
        self.runs: list[list[tuple[str, FitJob]]] = []
        self.paths: dict[tuple[str, str], Path] = {}

    def start(self) -> None:
        pass

    def describe(self) -> dict:
        return {"name": self.name}

    def flow_clients(self) -> dict:
        return {}

    def model_mapping(self, job: FitJob) -> ModelMapping:
        return ModelMapping("recording", {"epochs": str(job.model.epochs)}, [])

    def placement(self) -> None:
        return None

    def validation(self) -> None:
        return None

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        self.uploads.append(list(requests))
        self.paths |= {(r.party_id, r.name): r.path for r in requests}
        return [Table(r.party_id, "fatelab", r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, FitJob]]) -> list[JobResult]:
        self.runs.append(list(jobs))
        return [self.score(what, job) for what, job in jobs]

    def score(self, what: str, job: FitJob) -> JobResult:
        table = job.test[job.roles.guest]
        test = pd.read_csv(self.paths[(table.party_id, table.name)])
        # A fixed rule instead of a model: the interest rate's rank (higher rate, more likely to default).
        score = 1.0 - test["int_rate"].rank(pct=True).to_numpy()
        scores = pd.DataFrame({job.id_column: test[job.id_column], "label": test[job.label], "score": score})
        return JobResult(job_id=what, scores=scores, fate_metrics={}, wall_s=1.0)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecordingEngine, Path, dict]:
    reports = tmp_path_factory.mktemp("reports")
    config = load_config(work_dir=ROOT / ".fatelab" / "work", reports_dir=reports, seeds=1)
    engine = RecordingEngine()
    run_dir, results = run_study(config, engine)
    return engine, run_dir, results


def test_one_upload_and_one_run_for_every_fit_of_the_run(run: tuple[RecordingEngine, Path, dict]) -> None:
    engine, _, _ = run
    [uploads], [jobs] = engine.uploads, engine.runs
    keys = [(r.party_id, r.name) for r in uploads]
    assert len(keys) == len(set(keys)), "a table was uploaded twice"
    assert [what for what, _ in jobs] == [
        "federated HomoLR", "sweep 10/90", "sweep 20/80", "sweep 30/70", "sweep 40/60", "sweep 50/50"
    ]  # fmt: skip
    for _, job in jobs:
        # Every fit reads only uploaded tables; FATE 2.2's "full batch" is its largest party's rows.
        used = [(t.party_id, t.name) for t in [*job.train.values(), *job.test.values()]]
        assert set(used) <= set(keys)
        assert fate22_mapping.fit_params(job)["batch_size"] == max(t.rows for t in job.train.values())
    assert set(jobs[0][1].train) == {"9999", "9998", "10000"}
    assert all(set(job.train) == {"9999", "9998"} for _, job in jobs[1:])


def test_results_keep_their_keys_and_name_the_scenario(run: tuple[RecordingEngine, Path, dict]) -> None:
    _, run_dir, results = run
    assert set(results) == RESULT_KEYS
    assert results["scenario"] == "lending-club-homolr"
    assert list(results["arms"]) == ["federated", "centralized", "local:9999", "local:9998", "local:10000"]
    ratios = [entry["ratio"] for entry in results["sweep"]]
    assert ratios == [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.5, 0.5]]
    assert json.loads((run_dir / "results.json").read_text()) == results


def test_the_federated_metrics_come_from_the_engines_scores(run: tuple[RecordingEngine, Path, dict]) -> None:
    engine, _, results = run
    what, job = engine.runs[0][0]
    returned = engine.score(what, job).scores
    fed = results["arms"]["federated"]
    assert fed["n"] == len(returned) == results["parties"]["9999"]["test_rows"]
    # The rule ranks by interest rate: better than chance, and not the trained centralised arm.
    assert 0.6 < fed["auc"] < 0.75 and fed["auc"] != results["arms"]["centralized"]["auc"]
    assert all(np.isclose(fed["auc"], s["federated"]["auc"]) for s in results["sweep"])


# ------------------------------------------------------------------------------------ several seeds
# Party 10000 holds 0.2 % of the training rows (6 of ~3,000): for seeds 45 and 46 all six are fully
# paid, so that seed cannot train party 10000's local model and is excluded; 44 and 47 draw a charged-off loan.
TINY_PARTY = {"kind": "size", "ratios": {"10000": 0.002, "9999": 0.499, "9998": 0.499}, "stratify": None}


def tiny_party_run(tmp: Path, seed: int, seeds: int) -> tuple[RecordingEngine, Path, dict]:
    config = load_config(work_dir=ROOT / ".fatelab" / "work", reports_dir=tmp, partition=TINY_PARTY, seed=seed,
                         seeds=seeds, sweep={"ratios": [[0.2, 0.8], [0.5, 0.5]]})
    engine = RecordingEngine()
    run_dir, results = run_study(config, engine)
    return engine, run_dir, results


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecordingEngine, Path, dict]:
    return tiny_party_run(tmp_path_factory.mktemp("reports"), 44, 4)


def test_every_seed_in_one_upload_and_one_run_and_failed_seeds_plan_nothing(
    seeds_run: tuple[RecordingEngine, Path, dict],
) -> None:
    engine, _, results = seeds_run
    [jobs] = engine.runs
    assert len(engine.uploads) == 1
    assert [what for what, _ in jobs] == [f"seed {s}: {w}" for s in (44, 47)
                                          for w in ("federated HomoLR", "sweep 20/80", "sweep 50/50")]
    assert results["seeds"] == [44, 45, 46, 47] and results["seed"] == 44


def test_a_seed_leaving_a_party_one_class_is_excluded_not_averaged(
    seeds_run: tuple[RecordingEngine, Path, dict],
) -> None:
    _, run_dir, results = seeds_run
    excluded = results["excluded_seeds"]
    assert {e["seed"] for e in excluded} == {45, 46}
    arms = set(results["arms"])
    for seed in (45, 46):
        mine = [e for e in excluded if e["seed"] == seed and "split" not in e]
        assert {e["arm"] for e in mine} == arms
        assert all("party 10000 with one class only" in e["reason"] for e in mine)
    for arm in arms:
        assert results["intervals"][arm]["auc"]["n"] == 2
        assert [v is None for v in results["seed_values"][arm]["auc"]] == [False, True, True, False]
    report = (run_dir / "report.md").read_text()
    assert report.splitlines()[2].startswith("**Across 4 seeds: ")
    assert "Seed 45, Federated" in report and "one class only" in report
    assert report.index("## Claims across 4 seeds") < report.index("## Arms")


def test_the_first_seed_keeps_the_single_seed_runs_numbers(
    seeds_run: tuple[RecordingEngine, Path, dict], tmp_path: Path
) -> None:
    _, _, many = seeds_run
    _, _, one = tiny_party_run(tmp_path, 44, 1)
    for key in ("arms", "parties", "seed", "roc", "partitioner"):
        assert many[key] == one[key], key

    def numbers(entry: dict) -> dict:  # job ids name the seed in a multi-seed run
        return {k: v for k, v in entry.items() if k != "job_ids"}

    assert [numbers(e) for e in many["sweep"]] == [numbers(e) for e in one["sweep"]]
    assert "intervals" not in one and "seeds" not in one


def test_a_run_whose_every_seed_fails_is_one_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no seed of the run could be planned: seed 45: .*one class.*; seed 46"):
        tiny_party_run(tmp_path, 45, 2)
    assert not list(tmp_path.iterdir())
