"""Build the study's FATE 1.8 HomoLR job as DSL v2 + runtime conf, without fate_client.

The output matches what fate_client 1.8's ``PipeLine.compile()`` emits for the same job
(Reader -> DataTransform -> HomoLR -> Evaluation), key for key, so it can be POSTed to
``/v1/job/submit`` directly. Unlike the client, every HomoLR parameter is written explicitly:
the job then does not depend on server-side defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
PENALTIES = ("L1", "L2", None)
EARLY_STOP = ("diff", "abs", "weight_diff")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
MIN_BATCH_SIZE = 10  # federatedml's MIN_BATCH_SIZE; -1 means full batch


@dataclass(frozen=True)
class Table:
    name: str
    namespace: str = "experiment"


@dataclass(frozen=True)
class Roles:
    """guest, hosts (ordered: host index i = hosts[i]) and arbiter party IDs."""

    guest: int
    hosts: tuple[int, ...]
    arbiter: int

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ConfigError("a HomoLR job needs at least one host party", hint="set hosts, e.g. (9998, 10000)")
        if self.guest in self.hosts:
            raise ConfigError(f"party {self.guest} cannot be guest and host in one job")
        if len(set(self.hosts)) != len(self.hosts):
            raise ConfigError(f"host parties repeat: {list(self.hosts)}")


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
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"HomoLR optimizer {self.optimizer!r} is not one of {OPTIMIZERS}")
        if self.penalty not in PENALTIES:
            raise ConfigError(f"HomoLR penalty {self.penalty!r} is not one of {PENALTIES}")
        if self.early_stop not in EARLY_STOP:
            raise ConfigError(f"HomoLR early_stop {self.early_stop!r} is not one of {EARLY_STOP}")
        if self.init_method not in INIT_METHODS:
            raise ConfigError(f"HomoLR init_method {self.init_method!r} is not one of {INIT_METHODS}")
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
    roles: Roles
    guest_table: Table
    host_tables: tuple[Table, ...]
    params: HomoLRParams = field(default_factory=HomoLRParams)
    label_name: str = "y"
    job_parameters: dict[str, Any] = field(default_factory=dict)


def build_dsl() -> dict[str, Any]:
    """DSL v2 for Reader -> DataTransform -> HomoLR -> Evaluation (same for every party count)."""
    return {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}, "provider": "fate_flow"},
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {"data": ["reader_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
                "provider": "fate",
            },
            "homo_lr_0": {
                "module": "HomoLR",
                "input": {"data": {"train_data": ["data_transform_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
                "provider": "fate",
            },
            "evaluation_0": {
                "module": "Evaluation",
                "input": {"data": {"data": ["homo_lr_0.data"]}},
                "output": {"data": ["data"]},
                "provider": "fate",
            },
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
        "host": {
            str(i): {"reader_0": {"table": {"name": t.name, "namespace": t.namespace}}}
            for i, t in enumerate(job.host_tables)
        },
        "guest": {"0": {"reader_0": {"table": {"name": job.guest_table.name, "namespace": job.guest_table.namespace}}}},
    }
    if p.paillier:
        # Only hosts encrypt their model in HomoLR; the guest keeps encrypt_param.method = None.
        all_hosts = "|".join(str(i) for i in range(len(job.roles.hosts)))
        role_params["host"][all_hosts] = {
            "homo_lr_0": {"encrypt_param": {"method": "Paillier", "key_length": p.paillier_key_length}}
        }
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": job.roles.guest},
        "role": {"guest": [job.roles.guest], "host": list(job.roles.hosts), "arbiter": [job.roles.arbiter]},
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


def model_id(roles: Roles) -> str:
    """FATE-Flow's model ID for a job: roles sorted, party IDs sorted and joined with '_'."""
    parts = {"guest": [roles.guest], "host": list(roles.hosts), "arbiter": [roles.arbiter]}
    return "#".join(f"{r}-{'_'.join(str(x) for x in sorted(parts[r]))}" for r in sorted(parts)) + "#model"
