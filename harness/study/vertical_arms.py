"""The arms of the vertical study, all scored on the held-out customers both parties hold.

- ``federated_secureboost``: FATE 2.2 PSI -> HeteroSecureBoost, guest and host each on its own columns;
- ``centralized_gbdt``: XGBoost with the same tree settings on the joined training customers;
- ``guest_only_gbdt``: the same trees on every training customer the guest holds, guest columns only;
- ``federated_heterolr``: FATE 2.2 PSI -> coordinated LR (arbiter holds the Paillier key);
- ``centralized_lr`` / ``guest_only_lr``: coordinated LR's update rule in-process (harness/model/hetero_lr.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.engines.base import JobResult, UploadRequest
from harness.errors import EngineError
from harness.model.hetero_lr import fit_taylor_lr, predict_lr
from harness.model.secureboost import fit_gbdt
from harness.stats.claims import EQUIVALENCE, SUPERIORITY_KIND
from harness.stats.plan import BINARY_PLAN, PlannedClaim, StatsPlan
from harness.study.arms import InProcessArm, PlannedFit, SeedContext, SeedOutcome, score_metrics, traffic_entry
from harness.study.tables import upload_request

if TYPE_CHECKING:
    from harness.study.vertical import VerticalConfig, VerticalSeedData

# FATE 2.2's SecureBoost reads the class from "<label>_<class>" dummies with split("_")[1]: a label named
# loan_status fails ("status" is no int). The guest's tables call it "label" (FATE's own output name).
FATE_LABEL = "label"
FEDERATED_SECUREBOOST = "federated_secureboost"
CENTRALIZED_GBDT = "centralized_gbdt"
GUEST_ONLY_GBDT = "guest_only_gbdt"
FEDERATED_HETEROLR = "federated_heterolr"
CENTRALIZED_LR = "centralized_lr"
GUEST_ONLY_LR = "guest_only_lr"


def vertical_of(ctx: SeedContext) -> VerticalConfig:
    return ctx.scenario.vertical(ctx.config)  # type: ignore[attr-defined]


def data_of(ctx: SeedContext) -> VerticalSeedData:
    return ctx.data  # type: ignore[return-value]


class FederatedVerticalArm:
    """One FATE fit: each party uploads only its own columns of the customers it holds; PSI aligns them."""

    def __init__(self, arm: str, family: str) -> None:
        self.arm, self.family = arm, family  # family: "secureboost" or "heterolr"

    def plan(self, ctx: SeedContext) -> list[PlannedFit]:
        d, v = data_of(ctx), vertical_of(ctx)
        prepare = d.scaled if self.family == "heterolr" else (lambda frame: frame)
        tag = "sbt" if self.family == "secureboost" else "hlr"

        def request(party: str, frame: pd.DataFrame, cols: tuple[str, ...], name: str, labelled: bool) -> UploadRequest:
            frame, label = prepare(frame).rename(columns={d.label: FATE_LABEL}), FATE_LABEL if labelled else ""
            name = f"{tag}_{name}"
            return upload_request(party, frame, cols, ctx.tables_dir, name, label=label, id_column=d.id_column)

        train = {
            v.guest: request(v.guest, d.guest_train, d.split.guest, "train_guest", True),
            v.host: request(v.host, d.host_train, d.split.host, "train_host", False),
        }
        test = {
            v.guest: request(v.guest, d.guest_test, d.split.guest, "test_guest", True),
            v.host: request(v.host, d.host_test, d.split.host, "test_host", False),
        }
        model = v.secureboost if self.family == "secureboost" else v.hetero_lr
        what = "PSI + HeteroSecureBoost" if self.family == "secureboost" else "PSI + HeteroLR (coordinated LR)"
        return [PlannedFit(what, v.roles, train, test, model)]

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        [fit] = results
        d, v = data_of(ctx), vertical_of(ctx)
        psi = psi_found(fit, v.guest)
        if psi["by_split"] != dict(d.true_overlap):
            raise EngineError(
                f"FATE's PSI found {psi['by_split']} shared ids, but the parties share {dict(d.true_overlap)}",
                hint="the id columns were not read alike on both sides",
            )
        d.observed.setdefault("psi", psi)
        out.arms[self.arm], out.roc[self.arm] = score_metrics(ctx, fit.scores)
        who = f"guest {v.guest}, host {v.host}" + (f", arbiter {v.arbiter}" if self.family == "heterolr" else "")
        out.details[self.arm] = {
            "ran": f"{ctx.engine_name}: {fit_what(self.family)}; {who}; each party holds only its own columns of "
            f"its own customers; scored on the {len(d.test):,} held-out customers both hold",
            "job_ids": [fit.job_id],
            "wall_s": round(fit.wall_s, 2),
            "phase_seconds": fit.task_seconds,
            "loss_history": fit.loss_history,
            "psi": psi,
        } | traffic_entry(fit) | per_round(fit, v, self.family) | cost_entry(fit)
        out.wall_s[self.arm] = fit.wall_s


def per_round(fit: JobResult, v: VerticalConfig, family: str) -> dict[str, float]:
    """Fit + predict seconds per tree (SecureBoost) or per epoch (HeteroLR), where the engine timed it."""
    seconds = fit.task_seconds.get("fit_predict_s")
    if seconds is None:
        return {}
    if family == "secureboost":
        return {"seconds_per_tree": round(seconds / v.secureboost.num_trees, 2)}
    return {"seconds_per_epoch": round(seconds / v.hetero_lr.epochs, 2)}


def cost_entry(fit: JobResult) -> dict[str, Any]:
    """SecureBoost's measured cost (the launcher times it inside the party processes; FATE-Flow jobs do not)."""
    cost = fit.extras.get("cost")
    # Measured per tree (the guest's booster_fit), so it replaces per_round's fit + predict seconds / trees.
    return {"cost": cost, "seconds_per_tree": cost["seconds_per_tree"]} if cost else {}


def fit_what(family: str) -> str:
    if family == "secureboost":
        return "FATE 2.2 PSI (ECDH curve25519) -> HeteroSecureBoost (Paillier, the guest holds the key)"
    return "FATE 2.2 PSI (ECDH curve25519) -> coordinated LR (Paillier, the arbiter holds the key)"


def psi_found(fit: JobResult, guest: str) -> dict[str, Any]:
    """The guest's view of the two PSIs of one fit (train ids, test ids)."""
    mine = fit.extras.get("psi", {}).get(f"guest:{guest}")
    if mine is None:
        raise EngineError(f"the vertical fit {fit.job_id} reported no PSI result for guest {guest}")
    by_split = {"train": int(mine["train_found"]), "test": int(mine["test_found"])}
    return {
        "found": sum(by_split.values()),
        "by_split": by_split,
        "inputs": {"train": int(mine["train_in"]), "test": int(mine["test_in"])},
        "seconds": fit.task_seconds.get("psi_s"),
        "sent": mine.get("sent"),
    }


class InProcessVerticalArm(InProcessArm):
    """A baseline trained in this process on the rows and columns one owner (or all) could pool."""

    def __init__(self, arm: str, family: str, rows: str) -> None:
        self.arm, self.family, self.rows = arm, family, rows  # rows: "joined" or "guest"

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        d, v = data_of(ctx), vertical_of(ctx)
        train = d.joined_train if self.rows == "joined" else d.guest_train
        features = d.features if self.rows == "joined" else d.split.guest
        started = time.monotonic()
        if self.family == "secureboost":
            scores = fit_gbdt(train, d.test, features, d.label, v.secureboost, ctx.config.seed)
            how = "XGBoost (hist, depthwise) with SecureBoost's settings"
        else:
            cols = list(features)
            weights, bias = fit_taylor_lr(d.scaled(train)[cols].to_numpy(), train[d.label].to_numpy(), v.hetero_lr)
            scores = predict_lr(d.scaled(d.test)[cols].to_numpy(), weights, bias)
            how = "coordinated LR's Taylor-loss update rule, in-process, same settings"
        wall_s = time.monotonic() - started
        out.arms[self.arm], out.roc[self.arm] = ctx.scenario.metrics(d.test[d.label].to_numpy(), scores, ctx.config)
        whose = (
            f"the {len(train):,} training customers both parties hold, all {len(features)} columns"
            if self.rows == "joined"
            else f"every training customer the guest holds ({len(train):,}), its {len(features)} columns only"
        )
        out.details[self.arm] = {"ran": f"in-process {how} on {whose}", "wall_s": round(wall_s, 3)}
        out.wall_s[self.arm] = wall_s


# Each family's arms, SecureBoost first: (federated, centralised on the joined columns, guest-only).
FAMILY_ARMS = {
    "secureboost": (FEDERATED_SECUREBOOST, CENTRALIZED_GBDT, GUEST_ONLY_GBDT),
    "heterolr": (FEDERATED_HETEROLR, CENTRALIZED_LR, GUEST_ONLY_LR),
}
# (federated arm, the arm it is compared with): the lossless claim, and what federation adds for the lender.
GAPS = tuple((fed, other) for fed, *baselines in FAMILY_ARMS.values() for other in baselines)


class GapsArm(InProcessArm):
    """Last: this seed's metric differences between the arms above (results.json ``gaps``)."""

    def finish(self, ctx: SeedContext, results: Sequence[JobResult], out: SeedOutcome) -> None:
        gaps = {}
        for fed, other in GAPS:
            if fed in out.arms and other in out.arms:
                gaps[f"{fed} - {other}"] = {
                    k: round(out.arms[fed][k] - out.arms[other][k], 6) for k in ("auc", "ks") if k in out.arms[fed]
                }
        data_of(ctx).observed["gaps"] = gaps


def vertical_stats_plan(vertical: VerticalConfig) -> StatsPlan:
    """Paired comparisons on the GAPS pairs of the families that run; claims on AUC: SecureBoost is lossless
    (equivalent to XGBoost on the joined table within 0.01), and each federated fit beats the lender alone."""
    fams = {FEDERATED_SECUREBOOST: "secureboost", FEDERATED_HETEROLR: "heterolr"}
    pairs = tuple((a, b) for a, b in GAPS if fams[a] in vertical.federated)
    claims = [
        PlannedClaim(EQUIVALENCE, FEDERATED_SECUREBOOST, CENTRALIZED_GBDT,
                     f"SecureBoost is lossless: within ±{BINARY_PLAN.margin:g} AUC of the same trees (XGBoost) "
                     "trained on the joined table"),
        PlannedClaim(SUPERIORITY_KIND, FEDERATED_SECUREBOOST, GUEST_ONLY_GBDT,
                     "Federated SecureBoost has a higher AUC than the lender's trees on its own columns"),
        PlannedClaim(SUPERIORITY_KIND, FEDERATED_HETEROLR, GUEST_ONLY_LR,
                     "Federated HeteroLR has a higher AUC than the lender's LR on its own columns"),
    ]
    return replace(BINARY_PLAN, pairs=pairs, claims=tuple(c for c in claims if (c.a, c.b) in pairs))


def vertical_arms(vertical: VerticalConfig) -> list[Any]:
    """Each enabled family's federated arm and its two baselines, SecureBoost first."""
    arms: list[Any] = []
    for family, (federated, centralized, guest_only) in FAMILY_ARMS.items():
        if family in vertical.federated:
            arms += [
                FederatedVerticalArm(federated, family),
                InProcessVerticalArm(centralized, family, "joined"),
                InProcessVerticalArm(guest_only, family, "guest"),
            ]
    return [*arms, GapsArm()]
