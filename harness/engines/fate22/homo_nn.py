"""FATE 2.2 HomoNN: the study's NN settings as the ``homo_nn`` component's DefaultRunner config.

One config for every FATE 2.2 engine: the launcher's party processes build FATE's ``DefaultRunner``
from :func:`runner_conf` themselves (:mod:`harness.engines.fate22.launcher_nn`), and the FATE-Flow
engines put the same dict into a ``homo_nn`` task (:func:`build_nn_dag`). The DAG mirrors the
HomoLR one: readers for each party's train and test tables, HomoNN trained on ``train_data`` with the
test tables as ``validate_data``, so the aggregated model labels the test rows inside the same job.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.engines.base import FitJob, JobResult, ModelMapping
from harness.engines.fate22.scores import scores_from_output
from harness.errors import EngineError
from harness.model.nn import HomoNNSettings

if TYPE_CHECKING:
    from harness.engines.fate22.client import FlowRestClient

TASK = "homo_nn_0"
TARGET = "FATE 2.2 HomoNN (DefaultRunner, FedAVG)"


def runner_conf(settings: HomoNNSettings) -> dict[str, Any]:
    """``DefaultRunner(**conf)``: what fate_client's ``get_config_of_default_runner`` would produce."""
    return {
        "algo": "fedavg",
        "model_conf": settings.model_conf(),
        "optimizer_conf": {
            "module_name": "torch.optim",
            "item_name": settings.optimizer,
            "kwargs": {"lr": float(settings.learning_rate)},
        },
        "loss_conf": {"module_name": "torch.nn", "item_name": settings.loss, "kwargs": {}},
        "training_args_conf": {
            "num_train_epochs": settings.epochs,
            "per_device_train_batch_size": settings.batch_size,
            "per_device_eval_batch_size": 256,
            # Batch order: HF Trainer's sampler seeds from data_seed (else seed).
            "seed": settings.seed,
            "data_seed": settings.seed,
            "max_grad_norm": float(settings.max_grad_norm),
            "disable_tqdm": True,
            "use_cpu": True,
        },
        "fed_args_conf": {"aggregate_strategy": "epoch", "aggregate_freq": 1, "aggregator": settings.aggregator},
        # Rows in match-id order on every engine, so HF's data seed draws the same batches (see the module).
        "dataset_conf": {
            "module_name": "fatelab_nn.dataset",
            "item_name": "IdOrderedTable",
            "kwargs": {"flatten_label": True, "label_dtype": "long", "to_tensor": True}
            if settings.task_type == "multi"
            else {"to_tensor": True},
        },
        "data_collator_conf": None,
        "tokenizer_conf": None,
        "task_type": settings.task_type,
        "threshold": 0.5,
        "local_mode": False,
    }


def nn_params(settings: HomoNNSettings, max_party_rows: int) -> dict[str, Any]:
    """The ``homo_nn`` component's parameters (the runner is FATE's built-in default one)."""
    return {
        "runner_module": "homo_default_runner",
        "runner_class": "DefaultRunner",
        "runner_conf": runner_conf(settings),
    }


def nn_mapping(settings: HomoNNSettings, max_party_rows: int) -> ModelMapping:
    s = settings
    layers = ", ".join(str(entry["item_name"]) for entry in s.layers)
    mapping = {
        "model": f"runner_conf.model_conf: seeded load_seq of torch.nn [{layers}]",
        "optimizer": f"optimizer_conf torch.optim.{s.optimizer}(lr={s.learning_rate})",
        "loss": f"loss_conf torch.nn.{s.loss}",
        "rounds": f"training_args_conf.num_train_epochs={s.epochs}; fed_args_conf aggregate_strategy='epoch', "
        "aggregate_freq=1: FedAvg after every local epoch",
        "batch": f"per_device_train_batch_size={s.batch_size}, data_seed={s.seed}",
        "aggregation": f"fed_args_conf.aggregator='{s.aggregator}' (sample-weighted mean)",
    }
    caveats = [
        f"initial weights: torch seeded with {s.init_seed} right before the layers are built "
        "(fatelab_nn.torch_init.seeded_seq in the model conf), the same on every party and engine",
        "rows sorted by match id before HF's seeded shuffle (fatelab_nn.dataset.IdOrderedTable), so "
        "every engine draws the same batches whatever order its storage returns the rows in",
        f"gradients clipped to norm {s.max_grad_norm} (HF Trainer default that FATE keeps); the in-process arms too",
    ]
    return ModelMapping(TARGET, mapping, caveats)


def build_nn_task(job: FitJob, train: Any, validate: Any) -> Any:
    """The ``homo_nn`` task of a FATE-Flow DAG on the readers' outputs."""
    from fate_client.pipeline.components.fate import HomoNN

    return HomoNN(TASK, train_data=train, validate_data=validate, **nn_params(job.model, job.max_party_rows()))


def family(job: FitJob) -> str:
    """The launcher plan's and the DAG's switch: which FATE component trains this fit."""
    return "homo_nn" if isinstance(job.model, HomoNNSettings) else "homo_lr"


def collect_nn_result(
    client: FlowRestClient, job_id: str, job: FitJob, *, wall_s: float, tasks: dict[str, float]
) -> JobResult:
    """A finished ``homo_nn`` job's guest predictions on the test rows (FATE-Flow records no test curve)."""
    output = client.output_frame(job_id, "guest", job.roles.guest, TASK)
    return JobResult(
        job_id=job_id,
        scores=scores_from_output(
            output, id_column=job.id_column, score_column="predict_result", component="HomoNN"
        ),
        fate_metrics={},
        wall_s=wall_s,
        task_seconds=tasks,
    )


def flow_model_state(client: FlowRestClient, job_id: str, party_id: str, role: str = "guest") -> dict[str, np.ndarray]:
    """The trained model's parameters from a ``homo_nn`` task's output model directory (HF's weights file)."""
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        response = client._client.output.download_model(  # noqa: SLF001 - the REST SDK the client wraps
            job_id=job_id, role=role, party_id=party_id, task_name=TASK, path=tmp
        )
        client._ok(response, f"download the model of {TASK}")  # noqa: SLF001
        files = sorted(Path(tmp).rglob("pytorch_model.bin"))
        if not files:
            found = [p.name for p in Path(tmp).rglob("*") if p.is_file()]
            raise EngineError(f"{TASK} of job {job_id} has no pytorch_model.bin in its model output: {found}")
        state = torch.load(files[0], map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state.items()}
