"""results.json of one run: every number the report shows, assembled from the run's parts.

Keys (kept stable; tests/test_study_fate.py and the report read them): run_id, created, scenario, seed,
test_size, engine, versions, config, data, parties, partitioner, balance, model, arms, arm_details, sweep,
roc, timings, gap_note, and from engines that have them, validation and placement.
"""

from __future__ import annotations

import importlib.metadata
import platform
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harness.engines.base import Engine, FitJob, JobResult
from harness.study.arms import SWEEP, SeedOutcome
from harness.study.scenario import CENTRALIZED, FEDERATED, LOCAL_PREFIX, Dataset, Scenario

if TYPE_CHECKING:
    from harness.study.config import StudyConfig


@dataclass(frozen=True)
class RunClock:
    """Seconds spent in each step of a run (monotonic clock)."""

    prepare_s: float
    upload_s: float
    jobs_s: float
    total_s: float


def versions() -> dict[str, str]:
    names = ["fatelab", "pandas", "numpy", "scikit-learn", "imbalanced-learn", "torch", "pyfate", "fate_flow"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def gap_note(arms: Mapping[str, Any]) -> str:
    fed, central = arms.get(FEDERATED, {}), arms.get(CENTRALIZED, {})
    if "auc" not in fed or "auc" not in central:
        if "accuracy" in fed and "accuracy" in central:
            # Multi-class arms (the deep-learning scenarios): the report states their accuracy gap itself
            # (harness/report/claims.py); the note below is about the binary study's SMOTE and FedAvg.
            return ""
        return "The federated or centralised arm did not produce metrics; no gap to explain."
    gap = fed["auc"] - central["auc"]
    locals_ = [m["auc"] for a, m in arms.items() if a.startswith(LOCAL_PREFIX) and "auc" in m]
    text = (
        f"Federated AUC minus centralised AUC is {gap:+.4f}. Both arms train the same model with the same "
        "settings and are scored on the same test rows. The remaining differences are by design: federated "
        "averaging (FedAvg after every epoch) of models each trained on one party's rows instead of one model "
        "on all rows, and SMOTE applied within each party instead of once over the pooled rows."
    )
    if locals_:
        text += f" The best local-only party reaches {max(locals_):.4f}, the worst {min(locals_):.4f}."
    if abs(gap) > 0.02:
        text += " The gap exceeds 0.02: check the partition (a very skewed split) and the number of epochs."
    return text


def timings(clock: RunClock, outcome: SeedOutcome, fits: Sequence[JobResult]) -> dict[str, Any]:
    fed_s, central_s = outcome.wall_s.get(FEDERATED, 0.0), outcome.wall_s.get(CENTRALIZED, 0.0)
    return {
        "prepare_s": round(clock.prepare_s, 2),
        "upload_s": round(clock.upload_s, 2),
        "fate_jobs_s": round(clock.jobs_s, 2),
        "federated_s": round(fed_s, 2),
        "sweep_s": round(outcome.wall_s.get(SWEEP, 0.0), 2),
        "total_s": round(clock.total_s, 2),
        # Everything a FATE job costs beyond the same training done in-process is start-up,
        # scheduling and federation overhead.
        "fate_startup_share": round(max(0.0, 1.0 - central_s / fed_s), 4) if fed_s else None,
        "fate_job_wall_s_sum": round(sum(r.wall_s for r in fits), 2),
    }


def assemble(
    *,
    run_id: str,
    scenario: Scenario,
    config: StudyConfig,
    engine: Engine,
    dataset: Dataset,
    seed_data: Any,
    outcome: SeedOutcome,
    fits: Sequence[JobResult],
    clock: RunClock,
    first_job: FitJob | None,
) -> dict[str, Any]:
    """The results dict of a run of one seed, in the order results.json shows it."""
    doc: dict[str, Any] = {
        "run_id": run_id,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scenario": scenario.name,
        "seed": outcome.seed,
        "test_size": config.test_size,
        "engine": engine.describe(),
        "versions": versions(),
        "config": config.to_dict(),
        "data": {"input": str(config.data), "sha256": dataset.sha256, "card": dataset.card},
        **scenario.results_sections(config, seed_data),
        "model": {"family": scenario.model_family, "settings": scenario.model_settings(config).__dict__}
        | (engine.model_mapping(first_job).section() if first_job is not None else {}),
        "arms": outcome.arms,
        "arm_details": outcome.details,
        SWEEP: outcome.sections.get(SWEEP, []),
        "roc": outcome.roc,
        "timings": timings(clock, outcome, fits),
        # A scenario's own per-seed blocks besides the sweep (the NN scenarios' curves, cost, convergence).
        **{k: v for k, v in outcome.sections.items() if k != SWEEP},
    }
    doc["gap_note"] = gap_note(outcome.arms)
    return doc | engine_sections(engine)


def engine_sections(engine: Engine) -> dict[str, Any]:
    """What some engines add to results.json: the launcher's validation, the cluster engines' placement."""
    results_doc: dict[str, Any] = {}
    validation = engine.validation()
    if validation is not None:
        # The launcher with --validate: the federated fit again through FATE-Flow, compared.
        results_doc["validation"] = validation
    placement = engine.placement()
    if placement is not None:
        # Cluster engines report where each party's files went: host, remote path, sha256, rows.
        results_doc["placement"] = placement
    return results_doc
