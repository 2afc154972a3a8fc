"""The study's model settings as FATE 2.2 parameters, and the report's account of that mapping.

The one place that knows FATE 2.2's ``homo_lr`` component: every FATE 2.2 engine (standalone,
hosts, launcher) builds its fits from :func:`fit_params`, and the report's model section comes from
:func:`model_mapping`, so the two cannot drift apart. A new model family registers its own
parameter builder and mapping with :func:`fit_params` / :func:`model_mapping` (``singledispatch`` on
the settings type); nothing outside this module looks at the type.

Full batch: the component declares ``batch_size`` as an int >= 0 (default 100) and ``0`` fails the
client's ``batch_size > 0`` assertion, so "full batch" becomes a batch as large as the largest
party's training rows (``FitJob.max_party_rows``).
"""

from __future__ import annotations

import importlib.metadata
from functools import singledispatch
from typing import Any

from harness.engines.base import FitJob, ModelMapping
from harness.errors import ConfigError
from harness.model.logreg import HomoLRSettings

TARGET = "FATE 2.2 HomoLR"


@singledispatch
def settings_params(settings: object, max_party_rows: int) -> dict[str, Any]:
    raise ConfigError(f"FATE 2.2 engines cannot train {type(settings).__name__} models")


@settings_params.register
def homo_lr_params(settings: HomoLRSettings, max_party_rows: int) -> dict[str, Any]:
    """Parameters for FATE 2.2's ``homo_lr`` component that make it train like the in-process trainer.

    ``tol`` is not expressible and is dropped (the mapping's caveats say so).
    """
    if settings.batch_size is None:
        if max_party_rows < 1:
            raise ConfigError(
                "full-batch HomoLR needs the largest party's training row count for FATE's batch_size",
                hint="every party needs at least one training row",
            )
        batch_size = int(max_party_rows)
    else:
        batch_size = settings.batch_size
    return {
        "epochs": settings.epochs,
        "batch_size": batch_size,
        "optimizer": {
            "method": settings.optimizer,
            "penalty": settings.penalty,
            "alpha": float(settings.alpha),
            "optimizer_params": {"lr": float(settings.learning_rate)},
        },
        "learning_rate_scheduler": {
            "method": settings.lr_scheduler,
            "scheduler_params": dict(settings.lr_scheduler_params),
        },
        "init_param": {
            "method": settings.init_method,
            "fill_val": float(settings.init_fill_val),
            "fit_intercept": settings.fit_intercept,
        },
        "threshold": float(settings.threshold),
    }


def fit_params(job: FitJob) -> dict[str, Any]:
    """The FATE 2.2 component parameters of one fit."""
    return settings_params(job.model, job.max_party_rows())


@singledispatch
def settings_mapping(settings: object, max_party_rows: int) -> ModelMapping:
    raise ConfigError(f"FATE 2.2 engines cannot describe {type(settings).__name__} models")


@settings_mapping.register
def homo_lr_mapping(settings: HomoLRSettings, max_party_rows: int) -> ModelMapping:
    m = settings
    mapping = {
        "penalty L2, alpha": f"optimizer.penalty='l2', optimizer.alpha={m.alpha} (torch weight_decay)",
        "optimizer": f"optimizer.method='{m.optimizer}', optimizer_params.lr={m.learning_rate}",
        "full batch (batch_size -1)": f"batch_size={max_party_rows} (the largest party's balanced rows)",
        "max_iter": f"epochs={m.epochs}",
        "init": f"init_param.method='{m.init_method}', fit_intercept={m.fit_intercept}",
        "learning rate decay": "learning_rate_scheduler constant, factor 1.0",
    }
    caveats = [
        "tol 1e-4 with early_stop 'diff': FATE 2.2 HomoLR has no convergence check; it runs every epoch, "
        "and so do the in-process baselines (tol is None) to stay comparable",
        "batch_size -1: FATE 2.2 rejects -1/None for training; a batch at least as large as the biggest "
        "party's data is full batch",
        "FATE 2.2 clips gradients to norm 1.0 (HuggingFace Trainer default); the baselines do the same",
    ]
    return ModelMapping(TARGET, mapping, caveats)


def model_mapping(job: FitJob) -> ModelMapping:
    """The report's model section for a fit run on FATE 2.2 (every FATE 2.2 engine answers with this)."""
    return settings_mapping(job.model, job.max_party_rows())


class Fate22Engine:
    """What every FATE 2.2 engine answers alike: the FATE 2.2 mapping, and no second engine to compare with."""

    name: str

    def describe_fate(self) -> dict[str, Any]:
        """describe()'s first lines: the engine and the FATE it runs."""
        return {"name": self.name, "fate_version": importlib.metadata.version("pyfate")}

    def model_mapping(self, job: FitJob) -> ModelMapping:
        return model_mapping(job)

    def validation(self) -> dict[str, Any] | None:
        return None


# Vertical families (PSI + hetero_secureboost / coordinated_lr): their builders live in mapping_hetero.
from harness.engines.fate22 import mapping_hetero  # noqa: E402
from harness.model.hetero_lr import HeteroLRSettings  # noqa: E402
from harness.model.secureboost import SecureBoostSettings  # noqa: E402

settings_params.register(SecureBoostSettings, mapping_hetero.secureboost_params)
settings_params.register(HeteroLRSettings, mapping_hetero.hetero_lr_params)
settings_mapping.register(SecureBoostSettings, mapping_hetero.secureboost_mapping)
settings_mapping.register(HeteroLRSettings, mapping_hetero.hetero_lr_mapping)
# ------------------------------------------------------------------ HomoNN (harness/engines/fate22/homo_nn.py)
def _register_homo_nn() -> None:
    from harness.engines.fate22 import homo_nn
    from harness.model.nn import HomoNNSettings

    settings_params.register(HomoNNSettings, homo_nn.nn_params)
    settings_mapping.register(HomoNNSettings, homo_nn.nn_mapping)


_register_homo_nn()
