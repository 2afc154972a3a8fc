"""FATE's own HomoLR, through the launcher engine: secure aggregation as FATE runs it, and the replay checked.

One real federated HomoLR fit (the study's seed data, roles and settings, ``rounds`` epochs) through
:class:`harness.engines.fate22.launcher.LauncherEngine`. Its WireCounter gives the bytes each data party
sends per aggregation round when FATE itself masks (HomoLR always uses secure aggregation): the cost study's
``secure_aggregation`` case must send exactly as much at the same feature count. Its coefficients are
compared with the in-process replay's fedavg on the same data and epochs. They agree to about 1e-3, not
1e-6: SMOTE balances each party's labels exactly, so at the zero initialisation the bias gradient is
rounding noise (~1e-9) whose value depends on the summation order (FATE's sampler shuffles the rows), and
RMSprop's first step divides that noise by its own magnitude. The test AUCs agree to 1e-3.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from harness.engines.base import Engine, FitJob, Roles
from harness.engines.fate22.launcher import LauncherEngine
from harness.model.logreg import HomoLRSettings
from harness.model.metrics import binary_metrics
from harness.security.data import PartyArrays
from harness.security.replay import federated_fit
from harness.study.tables import upload_request


def homolr_job(engine: Engine, arrays: PartyArrays, settings: HomoLRSettings, roles: Roles,
               tables_dir: Path) -> FitJob:
    """The replay's inputs as a FATE HomoLR fit on ``engine``: each party's scaled, balanced rows, the test set."""
    data = arrays.seed_data
    requests = [upload_request(p, data.federated[p].rows, data.features, tables_dir, f"security_train_p{p}",
                               label=data.label, id_column=data.id_column) for p in data.parties]
    requests += [upload_request(p, data.test_pooled, data.features, tables_dir, "security_test",
                                label=data.label, id_column=data.id_column) for p in data.parties]
    tables = engine.upload_many(requests)
    train = {t.party_id: t for t in tables[: len(data.parties)]}
    test = {t.party_id: t for t in tables[len(data.parties):]}
    return FitJob(roles=roles, train=train, test=test, model=settings, label=data.label, id_column=data.id_column)


def run_homolr(arrays: PartyArrays, settings: HomoLRSettings, roles: Roles, rounds: int,
               work_dir: Path) -> dict[str, Any]:
    settings = dataclasses.replace(settings, epochs=rounds)
    data = arrays.seed_data
    engine = LauncherEngine(work_dir / "launcher")
    engine.start()
    job = homolr_job(engine, arrays, settings, roles, work_dir / "tables")
    [result] = engine.run_many([("security: FATE HomoLR", job)])
    replay = federated_fit(arrays.x, arrays.y, settings)
    fate_w = np.array(result.coefficients["weight"])
    data_parties = {f"guest:{roles.guest}", *(f"host:{h}" for h in roles.hosts)}
    per_round = [
        mean(v["bytes"] for k, v in s["by_round"].items() if k != "setup")
        for name, s in result.traffic["parties"].items()
        if name in data_parties
    ]
    return {
        "features": len(data.features),
        "parties": len(data.parties),
        "rounds": rounds,
        "bytes_per_party_per_round": round(mean(per_round), 1),
        "wall_s": round(result.wall_s, 2),
        "replay_max_abs_coef_diff": float(np.abs(fate_w - replay.weight).max()),
        "replay_bias_diff": abs(result.coefficients["bias"][0] - replay.bias),
        "auc_fate": auc(result.scores["label"], result.scores["score"]),
        "auc_replay": auc(arrays.y_test, replay.scores(arrays.x_test)),
        "traffic": result.traffic,
    }


def auc(y: object, scores: object) -> float:
    return float(binary_metrics(np.asarray(y), np.asarray(scores))["auc"])
