"""The study's HomoLR job, as the experiment describes it, turned into a FATE 1.8 job; and back.

Pure functions only. The study hands every engine its neutral model settings (``FitJob.model``);
this module maps them onto FATE 1.8's ``HomoLogisticParam`` directly and builds the job with
:mod:`harness.engines.fate18.dsl` (golden-tested against fate_client 1.8's compile output). The
one addition is the test set: a second Reader and a DataTransform that reuses the training
transform's model feed HomoLR's ``validate_data``, FATE's own train-and-evaluate
pattern (``examples/dsl/v2/homo_logistic_regression/homo_lr_train_eval_*.json``), so the final
model scores the held-out rows in the same job, as on the FATE 2.2 engines.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import singledispatch
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from harness.engines.base import FitJob, ModelMapping
from harness.engines.fate18 import dsl as f18
from harness.engines.fate18.client import OutputData
from harness.errors import ConfigError, EngineError
from harness.model.logreg import HomoLRSettings

# The study's convergence rule, which FATE 1.8 (unlike 2.2) can express: stop when the arbiter's
# aggregated loss changes by less than tol between iterations.
STUDY_TOL = 1e-4
STUDY_EARLY_STOP = "diff"
# KubeFATE 1.8's compose file mounts <deploy_dir>/confs-<id>/shared_dir/examples (volume
# shared_dir_examples, bind-backed) at this path in both the client and the python container.
CONTAINER_EXAMPLES = PurePosixPath("/data/projects/fate/examples")
UPLOAD_PARTITIONS = 4
VALIDATE = "validate"  # FATE 1.x's data type for validate_data rows in output and Evaluation

_PENALTY = {"l2": "L2", "l1": "L1", "none": None}
_INIT = {"zeros": "zeros", "ones": "ones", "consts": "const", "random": "random_uniform"}


@dataclass(frozen=True)
class Fate18Options:
    """What only a FATE 1.8 job can set: encryption and the convergence check."""

    paillier: bool = False
    paillier_key_length: int = 1024
    tol: float = STUDY_TOL
    early_stop: str = STUDY_EARLY_STOP

    @classmethod
    def for_study(cls, settings: HomoLRSettings, *, paillier: bool) -> Fate18Options:
        # A study that sets tol gets it in FATE too; otherwise the study's 1e-4.
        return cls(paillier=paillier, tol=settings.tol if settings.tol else STUDY_TOL)


@singledispatch
def settings_params(settings: object, options: Fate18Options, *, max_train_rows: int) -> f18.HomoLRParams:
    raise ConfigError(f"the FATE 1.8 engine cannot train {type(settings).__name__} models")


@settings_params.register
def homo_lr_params(settings: HomoLRSettings, options: Fate18Options, *, max_train_rows: int) -> f18.HomoLRParams:
    """FATE 1.8 HomoLR parameters equivalent to the study's settings.

    FATE 1.8 can say full batch (-1); a batch at least as large as the biggest party's table
    (``max_train_rows``) is full batch too. A constant learning rate is ``decay=0``.
    """
    if settings.penalty not in _PENALTY:
        raise ConfigError(
            f"HomoLR penalty {settings.penalty!r} has no FATE 1.8 equivalent", hint="use l1, l2 or none"
        )
    if settings.init_method not in _INIT:
        raise ConfigError(f"HomoLR init method {settings.init_method!r} has no FATE 1.8 equivalent")
    if settings.fit_intercept is not True:
        raise ConfigError(
            "fit_intercept=false is not expressible by this FATE 1.8 job builder",
            hint="set model.fit_intercept: true",
        )
    scheduler = {"method": settings.lr_scheduler, "scheduler_params": dict(settings.lr_scheduler_params)}
    if settings.lr_scheduler != "constant" or float(scheduler["scheduler_params"].get("factor", 1.0)) != 1.0:
        raise ConfigError(
            f"learning-rate scheduler {scheduler} is not expressible in FATE 1.8 HomoLR",
            hint="FATE 1.8 only decays as lr/sqrt(1+decay*t); use model.lr_scheduler: constant",
        )
    batch = settings.batch_size
    p = f18.HomoLRParams(
        penalty=_PENALTY[settings.penalty],
        tol=options.tol,
        alpha=float(settings.alpha),
        optimizer=str(settings.optimizer),
        batch_size=-1 if batch is None or batch >= max_train_rows else batch,
        learning_rate=float(settings.learning_rate),
        max_iter=int(settings.epochs),
        early_stop=options.early_stop,
        init_method=_INIT[settings.init_method],
        decay=0,
        decay_sqrt=True,
        paillier=options.paillier,
        paillier_key_length=options.paillier_key_length,
    )
    p.validate()
    return p


def check_settings(settings: HomoLRSettings, options: Fate18Options) -> None:
    """Refuse, before any data moves, study settings a FATE 1.8 job cannot run (e.g. Paillier + RMSProp)."""
    try:
        settings_params(settings, options, max_train_rows=1)
    except ConfigError as exc:
        raise ConfigError(f"the study's model settings cannot run on FATE 1.8: {exc.message}", hint=exc.hint) from exc


MAPPING_TARGET = "FATE 1.8 HomoLR (HomoLogisticParam)"


def model_mapping(job: FitJob, options: Fate18Options) -> ModelMapping:
    """The report's model section for ``job`` on FATE 1.8 with these options."""
    return settings_mapping(job.model, options, max_rows=job.max_party_rows())


@singledispatch
def settings_mapping(settings: object, options: Fate18Options, *, max_rows: int) -> ModelMapping:
    raise ConfigError(f"the FATE 1.8 engine cannot describe {type(settings).__name__} models")


@settings_mapping.register
def homo_lr_mapping(settings: HomoLRSettings, options: Fate18Options, *, max_rows: int) -> ModelMapping:
    """The report's view of :func:`homo_lr_params`: each study setting and the FATE 1.8 value it became,
    then where FATE 1.8 trains differently from the in-process baselines.

    Every value is read from the parameters the job is built with, so the report cannot drift from
    what was submitted. ``max_rows`` is the largest party's balanced training rows (full batch).
    """
    p = homo_lr_params(settings, options, max_train_rows=max_rows)
    if p.batch_size == -1:
        batch = "batch_size=-1 (FATE 1.8's full batch; the largest party's rows fit in one batch)"
    else:
        batch = f"batch_size={p.batch_size}"
    if not settings.tol:
        tol_source = "model.tol is unset; the FATE 1.8 engine's default"
    elif settings.tol == p.tol:
        tol_source = "model.tol"
    else:
        tol_source = f"the engine's option; model.tol is {settings.tol}"
    if p.paillier:
        encryption = (
            f"hosts: encrypt_param.method='Paillier', key_length={p.paillier_key_length}; guest unencrypted "
            f"(FATE 1.8 allows Paillier only with optimizer 'sgd'; this job uses {p.optimizer!r})"
        )
    else:
        encryption = "encrypt_param.method=None (Paillier is available with --paillier and needs optimizer 'sgd')"
    mapping = {
        "penalty, alpha": f"penalty={p.penalty!r}, alpha={p.alpha}",
        "optimizer, learning rate": f"optimizer={p.optimizer!r}, learning_rate={p.learning_rate}",
        "full batch" if settings.batch_size is None else f"batch_size {settings.batch_size}": batch,
        "epochs": f"max_iter={p.max_iter} (an upper bound: early_stop may end training sooner)",
        "convergence": (
            f"tol={p.tol}, early_stop={p.early_stop!r}: stop when the arbiter's aggregated loss changes by "
            f"less than tol between iterations ({tol_source})"
        ),
        "init": f"init_param.init_method={p.init_method!r}; FATE 1.8 HomoLR always fits an intercept",
        "learning rate decay (constant)": (
            f"decay={p.decay}, decay_sqrt={p.decay_sqrt}: lr/sqrt(1+decay*t) stays at learning_rate"
        ),
        "aggregation": f"aggregate_iters={p.aggregate_iters} (FedAvg after every iteration)",
        "encryption": encryption,
    }
    caveats = []
    if settings.max_grad_norm is not None:
        caveats.append(
            f"gradient clipping: FATE 1.8 HomoLR does not clip gradients; the in-process baselines (and "
            f"FATE 2.2) clip them to global norm {settings.max_grad_norm} before each step"
        )
    if settings.tol:
        caveats.append(
            f"early stopping: FATE 1.8 stops once the arbiter's aggregated loss changes by less than "
            f"tol={p.tol}, each baseline once its own epoch loss changes by less than model.tol={settings.tol}, "
            f"so they can stop at different epochs"
        )
    else:
        caveats.append(
            f"early stopping: FATE 1.8 stops once the aggregated loss changes by less than tol={p.tol} and "
            f"may finish before {p.max_iter} epochs, while the baselines run all {settings.epochs} "
            f"(model.tol is unset); set model.tol to give both the same rule"
        )
    if p.paillier:
        caveats.append(
            f"Paillier encryption (key length {p.paillier_key_length}) on the hosts has no counterpart in the "
            f"baselines, which train in plain text"
        )
    return ModelMapping(MAPPING_TARGET, mapping, caveats)


def fate18_job(job: FitJob, options: Fate18Options) -> f18.HomoLRJob:
    roles = job.roles
    return f18.HomoLRJob(
        roles=roles,
        guest_table=job.train[roles.guest],
        host_tables=tuple(job.train[h] for h in roles.hosts),
        params=settings_params(job.model, options, max_train_rows=job.max_party_rows()),
        label_name=job.label,
    )


def with_validation(dsl: Mapping[str, Any], conf: Mapping[str, Any], job: FitJob) -> tuple[dict, dict]:
    """Add the test tables as HomoLR ``validate_data`` (reader_1 -> data_transform_1 with data_transform_0's model)."""
    dsl, conf = copy.deepcopy(dict(dsl)), copy.deepcopy(dict(conf))
    old = dsl["components"]
    old["homo_lr_0"]["input"]["data"]["validate_data"] = ["data_transform_1.data"]
    transform_test = {"data": {"data": ["reader_1.data"]}, "model": ["data_transform_0.model"]}
    added = {
        "reader_1": f18.component("Reader", None, ("data",), provider="fate_flow"),
        "data_transform_1": f18.component("DataTransform", transform_test, ("data", "model")),
    }
    order = ["reader_0", "reader_1", "data_transform_0", "data_transform_1", "homo_lr_0", "evaluation_0"]
    dsl["components"] = {name: {**old, **added}[name] for name in order}
    roles = job.roles
    by_role = conf["component_parameters"]["role"]
    by_role["guest"]["0"]["reader_1"] = f18.reader_table(job.test[roles.guest])
    for index, host in enumerate(roles.hosts):
        by_role["host"][str(index)]["reader_1"] = f18.reader_table(job.test[host])
    return dsl, conf


def build_study_job(job: FitJob, options: Fate18Options) -> tuple[dict[str, Any], dict[str, Any]]:
    """DSL v2 and runtime conf for one study job, ready for ``POST /v1/job/submit``."""
    return with_validation(f18.build_dsl(), f18.build_conf(fate18_job(job, options)), job)


def upload_conf(container_file: PurePosixPath, table: str, namespace: str) -> dict[str, Any]:
    """``flow data upload -c`` conf; the same keys fate_client 1.8 sends (see fate18.Flow18Client.upload)."""
    return {
        "file": str(container_file),
        "table_name": table,
        "namespace": namespace,
        "head": 1,
        "partition": UPLOAD_PARTITIONS,
        "id_delimiter": ",",
        "extend_sid": False,
        "auto_increasing_sid": False,
        "drop": 1,
    }


def scores_from_output(out: OutputData, *, id_column: str) -> pd.DataFrame:
    """The validate (test) rows of HomoLR's output as ``id_column, label, score``.

    The first column is the table's id column under whatever name the upload gave it.
    """
    header = list(out.header)
    missing = {"label", "predict_score", "type"} - set(header)
    if missing or not header:
        raise EngineError(f"HomoLR output lacks columns {sorted(missing)}; got {header}")
    frame = pd.DataFrame(out.rows, columns=header)
    frame = frame[frame["type"] == VALIDATE]
    if frame.empty:
        types = sorted({row[header.index("type")] for row in out.rows})
        raise EngineError(
            f"HomoLR output holds no '{VALIDATE}' rows (types found: {types})",
            hint="the job must feed the test table to homo_lr_0 as validate_data",
        )
    result = pd.DataFrame({id_column: frame[header[0]], "label": frame["label"], "score": frame["predict_score"]})
    try:
        return result.astype({id_column: "int64", "label": "int64", "score": "float64"}).reset_index(drop=True)
    except ValueError as exc:
        raise EngineError(f"HomoLR output has non-numeric ids, labels or scores: {exc}") from exc


def evaluation_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Scalar metrics of the test (validate) set from Evaluation's summary ``{model: {type: {metric: v}}}``."""
    found: dict[str, float] = {}
    for per_type in summary.values():
        if isinstance(per_type, Mapping) and isinstance(per_type.get(VALIDATE), Mapping):
            for name, value in per_type[VALIDATE].items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found.setdefault(str(name), float(value))
    return found
