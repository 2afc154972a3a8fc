"""The study, end to end: prepare, split, partition, balance, run every arm, and write the report.

Arms, all scored on the same held-out test set:
- ``federated``: FATE HomoLR across the data parties, each party holding only its own partition;
- ``centralized``: the same model trained in-process on the union of all parties' training rows;
- ``local:<party>``: the same model on one party's partition only;
- ``sweep``: two parties sharing all training rows 10/90 ... 50/50, federated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.data import csv_io, csv_writer, plausible, prepare
from harness.data.partition import SizePartitioner, partitioner_from_config
from harness.data.split import Scaler, fit_scaler, smote_balance, stratified_split, synthetic_id_offsets
from harness.engines.base import Engine, FitJob, JobResult, Roles, Table, UploadRequest
from harness.errors import DataError, EngineError
from harness.model.logreg import LocalLogisticRegression
from harness.model.metrics import binary_metrics, roc_points
from harness.output_pair import replace_file
from harness.report.markdown import render_summary_line, write_report
from harness.study.config import StudyConfig

LABEL = prepare.LABEL
ID = prepare.ID_COLUMN
CENTRAL = "central"


def say(message: str) -> None:
    print(f"[fatelab] {message}", flush=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- data
def preparation_code_digest() -> str:
    """Prepared data is reused only while every module that shapes it is unchanged."""
    digest = hashlib.sha256()
    for module in (prepare, csv_io, csv_writer, plausible):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def prepared_data(config: StudyConfig) -> tuple[pd.DataFrame, dict[str, Any], float]:
    """Prepare the input once per (input content, preparation code) and reuse it afterwards."""
    started = time.monotonic()
    if not config.data.exists():
        raise DataError(f"input file {config.data} does not exist", hint="pass --data PATH/TO/loan.csv")
    key = file_sha256(config.data)[:16] + "-" + preparation_code_digest()[:8]
    out_dir = config.work_dir / "prepared" / key
    card = prepare.prepared_card(out_dir)  # only a card that matches its prepared.csv
    if card is not None:
        say(f"prepared data reused from {out_dir}")
    else:
        say(f"preparing {config.data} ...")
        card = prepare.prepare_file(config.data, out_dir, progress=True)
    frame = pd.read_csv(out_dir / "prepared.csv")
    say(f"prepared: {card['rows_in']:,} rows in, {card['rows_out']:,} rows out, {len(card['features'])} features")
    return frame, card, time.monotonic() - started


@dataclass(frozen=True)
class PartyTrain:
    rows: pd.DataFrame  # scaled and balanced training rows: id, features, label
    real_rows: int
    smote: dict[str, Any]


def balance(frame: pd.DataFrame, features: Sequence[str], config: StudyConfig, id_offset: int) -> PartyTrain:
    if config.balance == "none":
        info = {"skipped": "balancing disabled (balance: none)", "rows_before": len(frame), "rows_after": len(frame)}
        return PartyTrain(frame, len(frame), info)
    rows, info = smote_balance(frame, features=features, label=LABEL, seed=config.seed, id_offset=id_offset)
    info = {k: v for k, v in info.items() if k != "synthetic_ids"}
    return PartyTrain(rows, len(frame), info)


def write_table_csv(frame: pd.DataFrame, features: Sequence[str], directory: Path, tag: str) -> tuple[Path, str]:
    """Write id, features, label; the file name carries a digest of its content so uploads are reused."""
    payload = frame[[ID, *features, LABEL]].to_csv(index=False).encode()
    digest = hashlib.sha256(payload).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{tag}_{digest[:12]}.csv"
    if not path.exists():
        replace_file(path, payload)
    return path, digest


def upload_request(
    party: str, frame: pd.DataFrame, features: Sequence[str], directory: Path, tag: str
) -> UploadRequest:
    path, digest = write_table_csv(frame, features, directory, tag)
    return UploadRequest(
        party_id=party, path=path.resolve(), name=f"{tag}_{digest[:12]}", rows=len(frame), sha256=digest
    )


# ------------------------------------------------------------------------------------------- arms
def score_metrics(scores: pd.DataFrame, test: pd.DataFrame, threshold: float) -> tuple[dict, dict]:
    """Recompute every metric from returned scores, after checking they cover exactly the test rows."""
    merged = test[[ID, LABEL]].merge(scores, on=ID, how="left", validate="one_to_one")
    if merged["score"].isna().any():
        missing = int(merged["score"].isna().sum())
        raise EngineError(f"FATE returned no score for {missing} of {len(test)} test rows")
    if (merged["label"] != merged[LABEL]).any():
        raise EngineError("FATE's output labels disagree with the test set's labels: rows were mismatched")
    y, s = merged[LABEL].to_numpy(), merged["score"].to_numpy()
    return binary_metrics(y, s, threshold=threshold), roc_points(y, s)


def local_fit(
    train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], config: StudyConfig
) -> tuple[dict, dict, float, int]:
    started = time.monotonic()
    model = LocalLogisticRegression(config.model).fit(train[list(features)], train[LABEL])
    scores = model.predict_proba(test[list(features)])
    y = test[LABEL].to_numpy()
    return (
        binary_metrics(y, scores, threshold=config.model.threshold),
        roc_points(y, scores),
        time.monotonic() - started,
        model.n_iter_,
    )


def fate_job(roles: Roles, train: Mapping[str, Table], test: Mapping[str, Table], config: StudyConfig) -> FitJob:
    return FitJob(roles=roles, train=dict(train), test=dict(test), model=config.model, label=LABEL, id_column=ID)


def traffic_entry(result: JobResult) -> dict[str, Any]:
    """Bytes on the wire of one fit, from engines that count them (the launcher)."""
    return {"bytes": result.traffic} if result.traffic else {}


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
    fed, central = arms.get("federated", {}), arms.get("centralized", {})
    if "auc" not in fed or "auc" not in central:
        return "The federated or centralised arm did not produce metrics; no gap to explain."
    gap = fed["auc"] - central["auc"]
    locals_ = [m["auc"] for a, m in arms.items() if a.startswith("local:") and "auc" in m]
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


# ------------------------------------------------------------------------------------------- main
def run_study(
    config: StudyConfig, engine: Engine, *, after_start: Callable[[], None] | None = None
) -> tuple[Path, dict[str, Any]]:
    """The whole study; ``after_start`` runs once the engine answers (the CLI stops dead runs' jobs there)."""
    total_started = time.monotonic()
    run_id = config.run_id or new_run_id()
    frame, card, prepare_s = prepared_data(config)
    features = prepare.feature_columns(frame.columns)
    parties = list(config.data_parties())
    threshold = config.model.threshold

    train, test = stratified_split(frame, label=LABEL, test_size=config.test_size, seed=config.seed)
    partitioner = partitioner_from_config(config.partition, party_ids=parties)
    parts = partitioner.partition(train, config.seed)
    sweep_parties = list(config.sweep.parties) if config.sweep.enabled else []
    offsets = synthetic_id_offsets(frame[ID], [*parties, CENTRAL, *[f"sweep:{p}" for p in sweep_parties]])

    # Scaling statistics are pooled from per-party summaries (count, mean, M2), never from rows.
    scalers = {p: fit_scaler(parts[p], features, log_columns=config.log_columns) for p in parties}
    pooled = Scaler.merge([scalers[p] for p in parties])
    test_pooled = pooled.transform(test)
    fed_train = {p: balance(pooled.transform(parts[p]), features, config, offsets[p]) for p in parties}
    say(
        "partitions: "
        + ", ".join(f"{p}: {len(parts[p]):,} rows -> {len(fed_train[p].rows):,} after SMOTE" for p in parties)
        + f"; test set {len(test):,} rows"
    )

    engine.start()
    if after_start is not None:
        after_start()
    tables_dir = config.work_dir / "tables"
    requests: list[UploadRequest] = []
    main_train = {p: upload_request(p, fed_train[p].rows, features, tables_dir, f"train_p{p}") for p in parties}
    main_test = {p: upload_request(p, test_pooled, features, tables_dir, "test") for p in parties}
    requests += [*main_train.values(), *main_test.values()]

    sweep_plan: list[tuple[tuple[float, float], dict[str, PartyTrain], dict[str, UploadRequest]]] = []
    for ratio in config.sweep.ratios if config.sweep.enabled else ():
        shares = dict(zip(sweep_parties, ratio, strict=True))
        split = SizePartitioner(shares, stratify=LABEL).partition(train, config.seed)
        balanced = {
            p: balance(pooled.transform(split[p]), features, config, offsets[f"sweep:{p}"]) for p in sweep_parties
        }
        tag = f"sweep{round(ratio[0] * 100):02d}"
        reqs = {p: upload_request(p, balanced[p].rows, features, tables_dir, f"{tag}_p{p}") for p in sweep_parties}
        sweep_plan.append((ratio, balanced, reqs))
        requests += list(reqs.values())
        # The sweep's parties are scored on the same test table as the main arm.
        for p in sweep_parties:
            if p not in main_test:
                requests.append(upload_request(p, test_pooled, features, tables_dir, "test"))

    say(f"uploading {len(requests)} tables into {engine.name} (reused when already there)")
    upload_started = time.monotonic()
    tables = engine.upload_many(requests)
    by_request = {(r.party_id, r.name): t for r, t in zip(requests, tables, strict=True)}
    upload_s = time.monotonic() - upload_started

    def table(request: UploadRequest) -> Table:
        return by_request[(request.party_id, request.name)]

    test_tables = {r.party_id: table(r) for r in requests if r.name.startswith("test_")}
    jobs = [
        (
            "federated HomoLR",
            fate_job(
                config.roles,
                {p: table(main_train[p]) for p in parties},
                {p: test_tables[p] for p in parties},
                config,
            ),
        )
    ]
    for ratio, _balanced, reqs in sweep_plan:
        roles = Roles(guest=sweep_parties[0], hosts=(sweep_parties[1],), arbiter=config.sweep.arbiter)
        jobs.append(
            (
                f"sweep {round(ratio[0] * 100)}/{round(ratio[1] * 100)}",
                fate_job(
                    roles,
                    {p: table(reqs[p]) for p in sweep_parties},
                    {p: test_tables[p] for p in sweep_parties},
                    config,
                ),
            )
        )
    say(f"running {len(jobs)} FATE job(s): {', '.join(what for what, _ in jobs)}")
    jobs_started = time.monotonic()
    results: list[JobResult] = engine.run_many(jobs)
    jobs_s = time.monotonic() - jobs_started

    arms: dict[str, Any] = {}
    roc: dict[str, Any] = {}
    details: dict[str, Any] = {}
    fed = results[0]
    arms["federated"], roc["federated"] = score_metrics(fed.scores, test, threshold)
    details["federated"] = {
        "ran": (
            f"{engine.name}: HomoLR, guest {config.roles.guest}, hosts {', '.join(config.roles.hosts)}, "
            f"arbiter {config.roles.arbiter}; each party trains on its own SMOTE-balanced partition, "
            f"FedAvg after every epoch; scored by the final model on the shared test set"
        ),
        "job_ids": [fed.job_id],
        "wall_s": round(fed.wall_s, 2),
        "fate_metrics": fed.fate_metrics,
        "task_seconds": fed.task_seconds,
    } | traffic_entry(fed)

    # Baselines: same model family and settings, trained in this process.
    central_rows = pd.concat([pooled.transform(parts[p]) for p in parties])
    central = balance(central_rows, features, config, offsets[CENTRAL])
    arms["centralized"], roc["centralized"], central_s, central_iter = local_fit(
        central.rows, test_pooled, features, config
    )
    details["centralized"] = {
        "ran": (
            "in-process HomoLR-equivalent logistic regression (torch, same settings as FATE) on the union of "
            f"all parties' training rows ({len(central_rows):,}), SMOTE applied once to the pooled rows"
        ),
        "wall_s": round(central_s, 2),
        "epochs_run": central_iter,
        "smote": central.smote,
    }
    for p in parties:
        own = scalers[p]
        local = balance(own.transform(parts[p]), features, config, offsets[p])
        arm = f"local:{p}"
        arms[arm], roc[arm], local_s, local_iter = local_fit(local.rows, own.transform(test), features, config)
        details[arm] = {
            "ran": (
                f"in-process HomoLR-equivalent logistic regression on party {p}'s partition only "
                f"({len(parts[p]):,} rows, SMOTE within the party, scaled with its own statistics)"
            ),
            "wall_s": round(local_s, 2),
            "epochs_run": local_iter,
        }

    sweep_results = []
    for (ratio, balanced, _), result in zip(sweep_plan, results[1:], strict=True):
        metrics, _ = score_metrics(result.scores, test, threshold)
        sweep_results.append(
            {
                "ratio": list(ratio),
                "parties": sweep_parties,
                "rows": {p: balanced[p].real_rows for p in sweep_parties},
                "federated": metrics,
                "fate_metrics": result.fate_metrics,
                "job_ids": [result.job_id],
                "wall_s": round(result.wall_s, 2),
            }
            | traffic_entry(result)
        )

    roles_of = {p: [] for p in config.roles.all_parties()}
    roles_of[config.roles.guest].append("guest")
    for h in config.roles.hosts:
        roles_of[h].append("host")
    roles_of[config.roles.arbiter].append("arbiter")
    party_info = {
        p: {
            "roles": roles_of.get(p, []),
            "train_rows": len(parts[p]),
            "train_rows_balanced": len(fed_train[p].rows),
            "test_rows": len(test),
            "class_balance": {str(k): int(v) for k, v in parts[p][LABEL].value_counts().sort_index().items()},
            "smote": fed_train[p].smote,
        }
        for p in parties
    }
    for p, r in roles_of.items():
        party_info.setdefault(p, {"roles": r, "train_rows": 0, "note": "holds no data (aggregator only)"})

    total_s = time.monotonic() - total_started
    fate_wall = sum(r.wall_s for r in results)
    results_doc: dict[str, Any] = {
        "run_id": run_id,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": config.seed,
        "test_size": config.test_size,
        "engine": engine.describe(),
        "versions": versions(),
        "config": config.to_dict(),
        "data": {"input": str(config.data), "sha256": card["input"]["sha256"], "card": card},
        "parties": party_info,
        "partitioner": dict(config.partition),
        "balance": (
            "SMOTE on training rows only: per party in the federated and local arms (a party sees only its "
            "own rows), once on the pooled rows in the centralised arm; the test set is never balanced"
            if config.balance == "smote"
            else "none"
        ),
        "model": {"family": "logistic regression", "settings": config.model.__dict__}
        | engine.model_mapping(jobs[0][1]).section(),
        "arms": arms,
        "arm_details": details,
        "sweep": sweep_results,
        "roc": roc,
        "timings": {
            "prepare_s": round(prepare_s, 2),
            "upload_s": round(upload_s, 2),
            "fate_jobs_s": round(jobs_s, 2),
            "federated_s": round(fed.wall_s, 2),
            "sweep_s": round(sum(r.wall_s for r in results[1:]), 2),
            "total_s": round(total_s, 2),
            # Everything a FATE job costs beyond the same training done in-process is start-up,
            # scheduling and federation overhead.
            "fate_startup_share": round(max(0.0, 1.0 - central_s / fed.wall_s), 4) if fed.wall_s else None,
            "fate_job_wall_s_sum": round(fate_wall, 2),
        },
    }
    results_doc["gap_note"] = gap_note(arms)
    validation = engine.validation()
    if validation is not None:
        # The launcher with --validate: the federated fit again through FATE-Flow, compared.
        results_doc["validation"] = validation
    placement = engine.placement()
    if placement is not None:
        # Cluster engines report where each party's files went: host, remote path, sha256, rows.
        results_doc["placement"] = placement
    run_dir = write_report(_plain(results_doc), config.reports_dir)
    say(render_summary_line(results_doc))
    say(f"report: {run_dir / 'report.md'}")
    return run_dir, results_doc


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
