"""The arms of a deep-learning scenario (HomoNN), all scored on the same held-out test set.

- ``federated``: FATE HomoNN (FedAvg after every local epoch) across the data parties' partitions;
- ``centralized``: the same model and settings trained in-process on the union of the partitions;
- ``local:<party>``: the same on one party's partition;
- a last step (:class:`ConvergenceSummary`) that reads the others: rounds and bytes the federated
  model needed to reach the centralised accuracy minus one point.

Besides ``arms`` (accuracy, macro precision / recall / F1, per-class recall, confusion matrix) each
arm writes its test-accuracy curve (per round / per epoch) into the seed's ``curves`` section and its
cost (seconds per round per party, bytes per party per round, wall time) into ``cost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.engines.base import JobResult
from harness.model.multiclass import rounds_to_reach
from harness.study.arms import Arm, InProcessArm, PlannedFit, SeedContext, SeedOutcome, score_metrics, traffic_entry
from harness.study.scenario import CENTRALIZED, FEDERATED, LOCAL_PREFIX, say

if TYPE_CHECKING:
    from harness.model.nn_local import LocalFit

CURVES = "curves"
COST = "cost"
TARGET_GAP = 0.01  # "centralised accuracy minus one point"


@dataclass(frozen=True)
class NNSeedData:
    """One seed's split and partition of an image/sequence table (no scaling, no balancing)."""

    train: pd.DataFrame
    test: pd.DataFrame
    parts: Mapping[str, pd.DataFrame]
    features: tuple[str, ...]
    label: str
    id_column: str
    parties: tuple[str, ...]

    @property
    def union(self) -> pd.DataFrame:
        """Every partition's rows, party after party: what the centralised arms train on."""
        return pd.concat([self.parts[p] for p in self.parties])

    @property
    def test_pooled(self) -> pd.DataFrame:
        """What SeedContext.test_requests uploads: the test rows as they are."""
        return self.test

    def arrays(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return frame[list(self.features)].to_numpy(np.float32), frame[self.label].to_numpy(np.int64)


def nn_arms() -> list[Arm]:
    return [FederatedNNArm(), CentralizedNNArm(), LocalNNArms(), ConvergenceSummary()]


def _record(out: SeedOutcome, arm: str, curve: Sequence[float], cost: Mapping[str, Any]) -> None:
    out.sections.setdefault(CURVES, {})[arm] = [round(float(a), 6) for a in curve]
    out.sections.setdefault(COST, {})[arm] = dict(cost)


def federated_cost(result: JobResult) -> dict[str, Any]:
    """Seconds per round per party and bytes per party per round, from the launcher's wire records."""
    parties = (result.traffic or {}).get("parties", {})
    per_party = {}
    for name, record in parties.items():
        rounds = {k: v["bytes"] for k, v in record.get("by_round", {}).items() if k != "setup"}
        per_party[name] = {
            "round_s": [round(s, 3) for s in record.get("round_s", [])],
            "compute_s": [round(s, 3) for s in record.get("compute_s", [])],
            "bytes_per_round": [rounds[k] for k in sorted(rounds, key=int)],
            "setup_bytes": record.get("by_round", {}).get("setup", {}).get("bytes", 0),
            "bytes": record.get("bytes", 0),
        }
    return {"wall_s": round(result.wall_s, 2), "parties": per_party, "bytes": (result.traffic or {}).get("bytes")}


def local_cost(fit: LocalFit, rows: int) -> dict[str, Any]:
    return {"wall_s": round(sum(fit.epoch_seconds), 2), "epoch_s": [round(s, 3) for s in fit.epoch_seconds],
            "train_rows": rows, "bytes": 0}


def fit_in_process(ctx: SeedContext, train: pd.DataFrame, name: str) -> tuple[dict, LocalFit]:
    from harness.model.nn_local import train_local  # torch: only when an arm trains

    d = ctx.data
    settings = ctx.scenario.model_settings(ctx.config)
    x, y = d.arrays(train)
    x_test, y_test = d.arrays(d.test)
    say(f"{name}: {settings.epochs} epochs on {len(train):,} rows in-process")
    fit = train_local(settings, x, y, x_test, y_test,
                      on_epoch=lambda e, acc: say(f"{name}: epoch {e}/{settings.epochs}, test accuracy {acc:.4f}"))
    metrics, _ = ctx.scenario.metrics(y_test, fit.predictions.astype(float), ctx.config)
    return metrics, fit


class FederatedNNArm:
    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        d = ctx.data
        train = {p: ctx.request(p, d.parts[p], f"train_p{p}") for p in d.parties}
        model = ctx.scenario.model_settings(ctx.config)
        return [PlannedFit("federated HomoNN", ctx.config.roles, train, ctx.test_requests(d.parties), model)]

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        [fed] = results
        roles, settings = ctx.config.roles, ctx.scenario.model_settings(ctx.config)
        out.arms[FEDERATED], _ = score_metrics(ctx, fed.scores)
        out.details[FEDERATED] = {
            "ran": (
                f"{ctx.engine_name}: HomoNN (FedAVG, {settings.aggregator}), guest {roles.guest}, hosts "
                f"{', '.join(roles.hosts)}, arbiter {roles.arbiter}; {settings.epochs} rounds of one local epoch "
                "each on the party's own partition; scored by the final aggregated model on the shared test set"
            ),
            "job_ids": [fed.job_id],
            "wall_s": round(fed.wall_s, 2),
            "task_seconds": fed.task_seconds,
        } | traffic_entry(fed)
        out.wall_s[FEDERATED] = fed.wall_s
        _record(out, FEDERATED, fed.curves.get("test_accuracy", []), federated_cost(fed))


class CentralizedNNArm(InProcessArm):
    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        rows = ctx.data.union
        out.arms[CENTRALIZED], fit = fit_in_process(ctx, rows, CENTRALIZED)
        out.details[CENTRALIZED] = {
            "ran": "in-process PyTorch, the same model and settings, on the union of all partitions "
            f"({len(rows):,} rows)",
            "wall_s": round(sum(fit.epoch_seconds), 2),
            "epochs_run": len(fit.test_accuracy),
        }
        out.wall_s[CENTRALIZED] = sum(fit.epoch_seconds)
        _record(out, CENTRALIZED, fit.test_accuracy, local_cost(fit, len(rows)))


class LocalNNArms(InProcessArm):
    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        d = ctx.data
        for p in d.parties:
            arm = f"{LOCAL_PREFIX}{p}"
            out.arms[arm], fit = fit_in_process(ctx, d.parts[p], arm)
            out.details[arm] = {
                "ran": f"in-process PyTorch, the same model and settings, on party {p}'s partition only "
                f"({len(d.parts[p]):,} rows)",
                "wall_s": round(sum(fit.epoch_seconds), 2),
                "epochs_run": len(fit.test_accuracy),
            }
            _record(out, arm, fit.test_accuracy, local_cost(fit, len(d.parts[p])))


class ConvergenceSummary(InProcessArm):
    """Rounds (and bytes) the federated model needed to come within one point of the centralised accuracy."""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        curves, cost = out.sections.get(CURVES, {}), out.sections.get(COST, {})
        central = out.arms.get(CENTRALIZED, {}).get("accuracy")
        fed_curve = curves.get(FEDERATED, [])
        if central is None or not fed_curve:
            note = "no federated curve (this engine records none) or no centralised arm"
            out.sections["convergence"] = {"note": note}
            return
        target = central - TARGET_GAP
        rounds = rounds_to_reach(fed_curve, target)
        parties = cost.get(FEDERATED, {}).get("parties", {})
        sent = None
        if rounds is not None and parties:
            sent = sum(sum(p["bytes_per_round"][:rounds]) + p["setup_bytes"] for p in parties.values())
        out.sections["convergence"] = {
            "target_accuracy": round(target, 6),
            "centralized_accuracy": central,
            "federated_rounds_to_target": rounds,
            "federated_bytes_to_target": sent,
            "centralized_epochs_to_target": rounds_to_reach(curves.get(CENTRALIZED, []), target),
            "rounds_run": len(fed_curve),
        }


TFIDF = "centralized tf-idf + logistic regression"


def token_documents(frame: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """Each row's non-padding ids as one whitespace-separated document (ids are the tokens)."""
    ids = frame[list(features)].to_numpy(np.int64)
    return [" ".join(map(str, row[row != 0])) for row in ids]


def tfidf_arm() -> Arm:
    return TfidfBaselineArm()


class TfidfBaselineArm(InProcessArm):
    """A text classifier without deep learning, on the same (cut) token sequences: is the deep model worth it?"""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        import time

        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        d = ctx.data
        rows = d.union
        started = time.monotonic()
        model = make_pipeline(
            TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=2, sublinear_tf=True),  # noqa: S106
            LogisticRegression(max_iter=2000, random_state=ctx.config.seed),
        )
        model.fit(token_documents(rows, d.features), rows[d.label].to_numpy())
        predicted = model.predict(token_documents(d.test, d.features))
        wall_s = time.monotonic() - started
        out.arms[TFIDF], _ = ctx.scenario.metrics(d.test[d.label].to_numpy(), predicted.astype(float), ctx.config)
        out.details[TFIDF] = {
            "ran": "scikit-learn TF-IDF (word ids as tokens, 1-2 grams, min_df 2, sublinear tf) + logistic "
            f"regression on the union of all partitions ({len(rows):,} rows), the same cut sequences as the deep model",
            "wall_s": round(wall_s, 2),
        }
