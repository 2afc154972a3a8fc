"""The arms of a study, all scored on the same held-out test set.

- ``federated``: FATE HomoLR across the data parties, each party holding only its own partition;
- ``centralized``: the same model trained in-process on the union of all parties' training rows;
- ``local:<party>``: the same model on one party's partition only;
- ``sweep``: two parties sharing all training rows 10/90 ... 50/50, federated.

An arm first ``plan``s the FATE fits it needs (none for the in-process arms); the pipeline runs every
planned fit of the run in one engine call and hands each arm its results in ``finish``, where it
scores them, or trains in-process, and writes its metrics into the seed's :class:`SeedOutcome`.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from harness.data.partition import SizePartitioner
from harness.engines.base import JobResult, Roles, UploadRequest
from harness.errors import EngineError
from harness.study.scenario import CENTRALIZED, FEDERATED, LOCAL_PREFIX, Scenario
from harness.study.tables import SWEEP_BLOCK, SeedData, balance, upload_request

if TYPE_CHECKING:
    from harness.engines.base import ModelSettings
    from harness.study.config import StudyConfig

SWEEP = "sweep"


@dataclass(frozen=True)
class PlannedFit:
    """One federated fit an arm needs: who plays which role, and each party's tables to upload."""

    what: str  # shown in progress lines: "federated HomoLR", "sweep 10/90"
    roles: Roles
    train: Mapping[str, UploadRequest]
    test: Mapping[str, UploadRequest]
    model: ModelSettings


@dataclass
class SeedOutcome:
    """What the arms of one seed produced: the per-seed part of results.json."""

    seed: int
    arms: dict[str, Any] = field(default_factory=dict)
    roc: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)  # extra top-level blocks, e.g. "sweep"
    wall_s: dict[str, float] = field(default_factory=dict)  # per arm, for the timings block


@dataclass(frozen=True)
class SeedContext:
    scenario: Scenario
    config: StudyConfig
    data: SeedData
    engine_name: str
    tables_dir: Path

    def request(self, party: str, frame: pd.DataFrame, tag: str) -> UploadRequest:
        d = self.data
        return upload_request(party, frame, d.features, self.tables_dir, tag, label=d.label, id_column=d.id_column)

    def test_requests(self, parties: Sequence[str]) -> dict[str, UploadRequest]:
        # Every party scores the same pooled-scaled test table (same content, so one name): written
        # once per seed, not once per party and fit (13 times a seed with the sweep).
        return {p: dataclasses.replace(self._test_table, party_id=p) for p in parties}

    @functools.cached_property
    def _test_table(self) -> UploadRequest:
        return self.request(self.data.parties[0], self.data.test_pooled, "test")


class Arm(Protocol):
    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        """The FATE fits this arm needs, in the order ``finish`` receives their results."""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        """Score the fits' results (or train in-process) and record the arm in ``out``."""


def standard_arms(config: StudyConfig) -> list[Arm]:
    """Federated, centralised, local-only per party, and the sweep when enabled, in report order."""
    arms: list[Arm] = [FederatedArm(), CentralizedArm(), LocalArms()]
    return [*arms, SweepArm()] if config.sweep.enabled else arms


# ------------------------------------------------------------------------------------ helpers
def traffic_entry(result: JobResult) -> dict[str, Any]:
    """Bytes on the wire of one fit, from engines that count them (the launcher)."""
    return {"bytes": result.traffic} if result.traffic else {}


def score_metrics(ctx: SeedContext, scores: pd.DataFrame) -> tuple[dict, dict]:
    """Recompute every metric from returned scores, after checking they cover exactly the test rows."""
    test, id_column, label = ctx.data.test, ctx.data.id_column, ctx.data.label
    merged = test[[id_column, label]].merge(scores, on=id_column, how="left", validate="one_to_one")
    if merged["score"].isna().any():
        missing = int(merged["score"].isna().sum())
        raise EngineError(f"FATE returned no score for {missing} of {len(test)} test rows")
    if (merged["label"] != merged[label]).any():
        raise EngineError("FATE's output labels disagree with the test set's labels: rows were mismatched")
    return ctx.scenario.metrics(merged[label].to_numpy(), merged["score"].to_numpy(), ctx.config)


def local_fit(ctx: SeedContext, train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, dict, float, int]:
    """Train the scenario's model in-process and score ``test``: metrics, ROC, seconds, epochs run."""
    started = time.monotonic()
    scores, epochs = ctx.scenario.fit_local(train, test, ctx.data.features, ctx.config)
    metrics, roc = ctx.scenario.metrics(test[ctx.data.label].to_numpy(), scores, ctx.config)
    return metrics, roc, time.monotonic() - started, epochs


# --------------------------------------------------------------------------------------- arms
class FederatedArm:
    """Each party's SMOTE-balanced partition, one federated fit across all data parties."""

    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        d = ctx.data
        train = {p: ctx.request(p, d.federated[p].rows, f"train_p{p}") for p in d.parties}
        model = ctx.scenario.model_settings(ctx.config)
        roles = ctx.config.roles
        return [PlannedFit("federated HomoLR", roles, train, ctx.test_requests(d.parties), model)]

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        [fed] = results
        roles = ctx.config.roles
        out.arms[FEDERATED], out.roc[FEDERATED] = score_metrics(ctx, fed.scores)
        out.details[FEDERATED] = {
            "ran": (
                f"{ctx.engine_name}: HomoLR, guest {roles.guest}, hosts {', '.join(roles.hosts)}, "
                f"arbiter {roles.arbiter}; each party trains on its own SMOTE-balanced partition, "
                f"FedAvg after every epoch; scored by the final model on the shared test set"
            ),
            "job_ids": [fed.job_id],
            "wall_s": round(fed.wall_s, 2),
            "fate_metrics": fed.fate_metrics,
            "task_seconds": fed.task_seconds,
        } | traffic_entry(fed)
        out.wall_s[FEDERATED] = fed.wall_s


class InProcessArm:
    """An arm trained in this process: it needs no FATE fit."""

    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        return []


class CentralizedArm(InProcessArm):
    """The union of all parties' rows, scaled with the pooled statistics, SMOTE once, trained in-process."""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        d = ctx.data
        rows = pd.concat([d.pooled.transform(d.parts[p]) for p in d.parties])
        central = balance(rows, d.features, ctx.config, d.offsets[CENTRALIZED], label=d.label)
        out.arms[CENTRALIZED], out.roc[CENTRALIZED], wall_s, epochs = local_fit(ctx, central.rows, d.test_pooled)
        out.details[CENTRALIZED] = {
            "ran": (
                "in-process HomoLR-equivalent logistic regression (torch, same settings as FATE) on the union of "
                f"all parties' training rows ({len(rows):,}), SMOTE applied once to the pooled rows"
            ),
            "wall_s": round(wall_s, 2),
            "epochs_run": epochs,
            "smote": central.smote,
        }
        out.wall_s[CENTRALIZED] = wall_s


class LocalArms(InProcessArm):
    """One arm per data party: its own rows, scaled with its own statistics, SMOTE within the party."""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        d = ctx.data
        for p in d.parties:
            own = d.scalers[p]
            local = balance(own.transform(d.parts[p]), d.features, ctx.config, d.offsets[p], label=d.label)
            arm = f"{LOCAL_PREFIX}{p}"
            out.arms[arm], out.roc[arm], wall_s, epochs = local_fit(ctx, local.rows, own.transform(d.test))
            out.details[arm] = {
                "ran": (
                    f"in-process HomoLR-equivalent logistic regression on party {p}'s partition only "
                    f"({len(d.parts[p]):,} rows, SMOTE within the party, scaled with its own statistics)"
                ),
                "wall_s": round(wall_s, 2),
                "epochs_run": epochs,
            }


class SweepArm:
    """Figure 4-3: two parties share all training rows in each configured ratio, one federated fit each."""

    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        d, sweep = ctx.data, ctx.config.sweep
        parties = list(sweep.parties)
        roles = Roles(guest=parties[0], hosts=(parties[1],), arbiter=sweep.arbiter)
        model = ctx.scenario.model_settings(ctx.config)
        fits = []
        for ratio in sweep.ratios:
            balanced = {
                p: balance(d.pooled.transform(part), d.features, ctx.config, d.offsets[SWEEP_BLOCK + p], label=d.label)
                for p, part in self.split(ctx, ratio).items()
            }
            tag = f"sweep{round(ratio[0] * 100):02d}"
            train = {p: ctx.request(p, balanced[p].rows, f"{tag}_p{p}") for p in parties}
            what = f"sweep {round(ratio[0] * 100)}/{round(ratio[1] * 100)}"
            fits.append(PlannedFit(what, roles, train, ctx.test_requests(parties), model))
        return fits

    @staticmethod
    def split(ctx: SeedContext, ratio: tuple[float, float]) -> dict[str, pd.DataFrame]:
        """All training rows dealt to the sweep's two parties in ``ratio`` (unscaled, unbalanced)."""
        shares = dict(zip(ctx.config.sweep.parties, ratio, strict=True))
        return SizePartitioner(shares, stratify=ctx.data.label).partition(ctx.data.train, ctx.config.seed)

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        parties = list(ctx.config.sweep.parties)
        entries = []
        for ratio, result in zip(ctx.config.sweep.ratios, results, strict=True):
            split = self.split(ctx, ratio)
            metrics, _ = score_metrics(ctx, result.scores)
            entries.append(
                {
                    "ratio": list(ratio),
                    "parties": parties,
                    "rows": {p: len(split[p]) for p in parties},
                    FEDERATED: metrics,
                    "fate_metrics": result.fate_metrics,
                    "job_ids": [result.job_id],
                    "wall_s": round(result.wall_s, 2),
                }
                | traffic_entry(result)
            )
        out.sections[SWEEP] = entries
        out.wall_s[SWEEP] = sum(r.wall_s for r in results)
