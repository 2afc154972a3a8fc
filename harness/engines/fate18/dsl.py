"""Build the study's FATE 1.8 HomoLR job as DSL v2 + runtime conf, without fate_client.

The output matches what fate_client 1.8's ``PipeLine.compile()`` emits for the same job
(Reader -> DataTransform -> HomoLR -> Evaluation), key for key, so it can be POSTed to
``/v1/job/submit`` directly. Unlike the client, every HomoLR parameter is written explicitly:
the job then does not depend on server-side defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engines.base import Roles, Table
from harness.errors import ConfigError

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
PENALTIES = ("L1", "L2", None)
EARLY_STOP = ("diff", "abs", "weight_diff")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
MIN_BATCH_SIZE = 10  # federatedml's MIN_BATCH_SIZE; -1 means full batch
# The HomoLRParams fields FATE 1.8 accepts only from a closed set.
CHOICES = {"optimizer": OPTIMIZERS, "penalty": PENALTIES, "early_stop": EARLY_STOP, "init_method": INIT_METHODS}


def check_roles(roles: Roles) -> None:
    """The party layout FATE 1.8's HomoLR accepts (at least one host; no party in two data roles)."""
    if not roles.hosts:
        raise ConfigError("a HomoLR job needs at least one host party", hint="set hosts, e.g. (9998, 10000)")
    if roles.guest in roles.hosts:
        raise ConfigError(f"party {roles.guest} cannot be guest and host in one job")
    if len(set(roles.hosts)) != len(roles.hosts):
        raise ConfigError(f"host parties repeat: {list(roles.hosts)}")


@dataclass(frozen=True)
class HomoLRParams:
    """HomoLR hyper-parameters; defaults are federatedml 1.8's HomoLogisticParam defaults."""

    penalty: str | None = "L2"
    tol: float = 1e-4
    alpha: float = 1.0
    optimizer: str = "rmsprop"
    batch_size: int = -1
    learning_rate: float = 0.01
    max_iter: int = 100
    early_stop: str = "diff"
    init_method: str = "zeros"
    decay: float = 1
    decay_sqrt: bool = True
    aggregate_iters: int = 1
    paillier: bool = False
    paillier_key_length: int = 1024
    metrics: tuple[str, ...] = ("auc", "ks")
    validation_freqs: int = 1

    def validate(self) -> None:
        # fate_client 1.8 accepts any value and the job fails minutes later on the server; fail here.
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"HomoLR {name} {value!r} is not one of {allowed}")
        if self.batch_size != -1 and self.batch_size < MIN_BATCH_SIZE:
            raise ConfigError(
                f"HomoLR batch_size {self.batch_size} is below FATE's minimum {MIN_BATCH_SIZE}",
                hint="use -1 for full batch or a batch size >= 10",
            )
        if self.max_iter < 1 or self.tol <= 0 or self.alpha < 0 or self.learning_rate <= 0:
            raise ConfigError("HomoLR needs max_iter >= 1, tol > 0, alpha >= 0 and learning_rate > 0")
        if self.paillier and self.optimizer != "sgd":
            raise ConfigError(
                f"HomoLR with Paillier encryption needs optimizer 'sgd', got {self.optimizer!r}",
                hint="set optimizer='sgd' when paillier=True (FATE 1.8 rejects other optimizers)",
            )
        if self.paillier and self.penalty == "L1":
            raise ConfigError("HomoLR with Paillier encryption does not support penalty 'L1'", hint="use L2")


@dataclass(frozen=True)
class HomoLRJob:
    """The study's roles and tables (engines/base.py): party ids become ints in the conf only."""

    roles: Roles
    guest_table: Table
    host_tables: tuple[Table, ...]
    params: HomoLRParams = field(default_factory=HomoLRParams)
    label_name: str = "y"
    job_parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_roles(self.roles)


def component(
    module: str, inputs: Mapping[str, Any] | None, outputs: tuple[str, ...], provider: str = "fate"
) -> dict[str, Any]:
    """One DSL v2 component: what it reads (``None`` for a Reader) and the outputs it names."""
    spec: dict[str, Any] = {"module": module}
    if inputs is not None:
        spec["input"] = dict(inputs)
    return spec | {"output": {name: [name] for name in outputs}, "provider": provider}


def reader_table(table: Table) -> dict[str, Any]:
    """A Reader's per-party parameters: the table it reads."""
    return {"table": {"name": table.name, "namespace": table.namespace}}


def build_dsl() -> dict[str, Any]:
    """DSL v2 for Reader -> DataTransform -> HomoLR -> Evaluation (same for every party count)."""
    return {
        "components": {
            "reader_0": component("Reader", None, ("data",), provider="fate_flow"),
            "data_transform_0": component("DataTransform", {"data": {"data": ["reader_0.data"]}}, ("data", "model")),
            "homo_lr_0": component("HomoLR", {"data": {"train_data": ["data_transform_0.data"]}}, ("data", "model")),
            "evaluation_0": component("Evaluation", {"data": {"data": ["homo_lr_0.data"]}}, ("data",)),
        }
    }


def build_conf(job: HomoLRJob) -> dict[str, Any]:
    """Runtime conf (dsl_version 2) with per-party reader tables; host index i = roles.hosts[i]."""
    if len(job.host_tables) != len(job.roles.hosts):
        raise ConfigError(
            f"{len(job.roles.hosts)} host parties but {len(job.host_tables)} host tables",
            hint="give one table per host party, in the same order as the hosts",
        )
    job.params.validate()
    p = job.params
    role_params: dict[str, Any] = {
        "host": {str(i): {"reader_0": reader_table(t)} for i, t in enumerate(job.host_tables)},
        "guest": {"0": {"reader_0": reader_table(job.guest_table)}},
    }
    if p.paillier:
        # Only hosts encrypt their model in HomoLR; the guest keeps encrypt_param.method = None.
        all_hosts = "|".join(str(i) for i in range(len(job.roles.hosts)))
        role_params["host"][all_hosts] = {
            "homo_lr_0": {"encrypt_param": {"method": "Paillier", "key_length": p.paillier_key_length}}
        }
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": int(job.roles.guest)},
        "role": party_ids(job.roles),
        "job_parameters": {"common": {"job_type": "train", **job.job_parameters}},
        "component_parameters": {
            "role": role_params,
            "common": {
                "data_transform_0": {
                    "with_label": True,
                    "label_name": job.label_name,
                    "label_type": "int",
                    "output_format": "dense",
                },
                "homo_lr_0": {
                    "penalty": p.penalty,
                    "tol": p.tol,
                    "alpha": p.alpha,
                    "optimizer": p.optimizer,
                    "batch_size": p.batch_size,
                    "learning_rate": p.learning_rate,
                    "init_param": {"init_method": p.init_method},
                    "max_iter": p.max_iter,
                    "early_stop": p.early_stop,
                    "encrypt_param": {"method": None},
                    "cv_param": {"need_cv": False},
                    "decay": p.decay,
                    "decay_sqrt": p.decay_sqrt,
                    "callback_param": {
                        "callbacks": ["PerformanceEvaluate"],
                        "validation_freqs": p.validation_freqs,
                        "metrics": list(p.metrics),
                    },
                    "aggregate_iters": p.aggregate_iters,
                },
                "evaluation_0": {"eval_type": "binary"},
            },
        },
    }


def party_ids(roles: Roles) -> dict[str, list[int]]:
    """The conf's ``role`` block: FATE 1.8 wants integer party ids, hosts in index order."""
    return {"guest": [int(roles.guest)], "host": [int(h) for h in roles.hosts], "arbiter": [int(roles.arbiter)]}


def model_id(roles: Roles) -> str:
    """FATE-Flow's model ID for a job: roles sorted, party IDs sorted (as numbers) and joined with '_'."""
    parts = party_ids(roles)
    return "#".join(f"{r}-{'_'.join(str(x) for x in sorted(parts[r]))}" for r in sorted(parts)) + "#model"
