"""A vertical fit as one FATE-Flow 2.2 job: Reader -> PSI -> HeteroSecureBoost (train, then predict) -> Evaluation.

The DAG the research plan names (Reader, Intersection, HeteroSecureBoost, Evaluation), compiled with
FATE's own pipeline classes, with the parameters :mod:`harness.engines.fate22.mapping_hetero` builds (the
launcher runs the same ones). Train and test ids each go through their own PSI; the trained model then
predicts the intersected test rows in a second ``hetero_secureboost`` task (stage ``predict``, inferred by
the pipeline from ``test_data`` + ``input_model``). Only SecureBoost is wired here; coordinated LR runs on
the launcher (``dag_for`` refuses it with a ConfigError).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.engines.base import FitJob, JobResult
from harness.engines.fate22.dag_parts import binary_evaluation, compiled_dag, split_reader
from harness.engines.fate22.scores import evaluated_result

TRAIN_TASK = "hetero_secureboost_0"
PREDICT_TASK = "hetero_secureboost_1"
LR_TRAIN_TASK = "coordinated_lr_0"
LR_PREDICT_TASK = "coordinated_lr_1"
# The pipeline class has no complete_secure (the component's default, 0, is what the study sets).
NOT_IN_PIPELINE_CLASS = ("complete_secure",)


def is_hetero(job: FitJob) -> bool:
    return type(job.model).__name__ in ("SecureBoostSettings", "HeteroLRSettings")


def fit_family(job: FitJob) -> str:
    return "coordinated_lr" if type(job.model).__name__ == "HeteroLRSettings" else "hetero_secureboost"


def build_hetero_dag(job: FitJob, job_conf: Mapping[str, Any]) -> dict[str, Any]:
    """Compile PSI -> HeteroSecureBoost or coordinated LR (train, then predict) -> Evaluation."""
    from fate_client.pipeline import FateFlowPipeline
    from fate_client.pipeline.components.fate import PSI

    from harness.engines.fate22.mapping import fit_params

    params = fit_params(job)
    roles = job.roles
    [host] = roles.hosts
    lr = params["family"] == "coordinated_lr"
    parties = {"guest": roles.guest, "host": host} | ({"arbiter": roles.arbiter} if lr else {})
    pipeline = FateFlowPipeline().set_parties(**parties)
    data_parties = {"guest": roles.guest, "host": host}
    psis = []
    for split, tables in (("train", job.train), ("test", job.test)):
        reader = split_reader(f"reader_{split}", tables, roles, data_parties)
        source = reader.outputs["output_data"]
        psi = PSI(f"psi_{split}", runtime_parties=data_parties, input_data=source, **params["psi"])
        pipeline.add_tasks([reader, psi])
        psis.append(psi)
    train, predict = (coordinated_lr_tasks if lr else secureboost_tasks)(params, psis, data_parties)
    pipeline.add_tasks([train, predict, binary_evaluation(roles.guest, predict.outputs["test_output_data"])])
    return compiled_dag(pipeline, job_conf)


def secureboost_tasks(params: Mapping[str, Any], psis: list, data_parties: Mapping[str, str]) -> tuple[Any, Any]:
    from fate_client.pipeline.components.fate import HeteroSecureBoost

    tree = {k: v for k, v in params["tree"].items() if k not in NOT_IN_PIPELINE_CLASS}
    train_data = psis[0].outputs["output_data"]
    train = HeteroSecureBoost(TRAIN_TASK, train_data=train_data, he_param=params["he_param"], **tree)
    predict = HeteroSecureBoost(
        PREDICT_TASK, test_data=psis[1].outputs["output_data"], input_model=train.outputs["output_model"]
    )
    return train, predict


def coordinated_lr_tasks(params: Mapping[str, Any], psis: list, data_parties: Mapping[str, str]) -> tuple[Any, Any]:
    """coordinated_lr train on guest, host and arbiter (the key holder); predict on guest and host."""
    from fate_client.pipeline.components.fate import CoordinatedLR

    train = CoordinatedLR(
        LR_TRAIN_TASK, train_data=psis[0].outputs["output_data"], he_param=params["he_param"], **params["lr"]
    )
    predict = CoordinatedLR(
        LR_PREDICT_TASK,
        runtime_parties=dict(data_parties),
        test_data=psis[1].outputs["output_data"],
        input_model=train.outputs["output_model"],
    )
    return train, predict


def collect_hetero_result(
    guest_client: Any, job_id: str, job: FitJob, *, wall_s: float, tasks: Iterable[Mapping[str, Any]]
) -> JobResult:
    """The guest's test scores (the predict task's output), PSI counts and Evaluation metrics of one job."""
    from harness.engines.fate22.client import task_timings

    guest = job.roles.guest
    family = fit_family(job)
    predict_task = LR_PREDICT_TASK if family == "coordinated_lr" else PREDICT_TASK
    psi: dict[str, Any] = {}
    for split in ("train", "test"):
        payload = guest_client.metrics(job_id, "guest", guest, f"psi_{split}")
        summary = find_keys(payload, ("input_count", "intersect_count"))
        psi[f"{split}_in"], psi[f"{split}_found"] = summary.get("input_count"), summary.get("intersect_count")
    seconds = task_timings(tasks)
    psi_s = sum(s for name, s in seconds.items() if name.startswith("psi_") and name.endswith(f"@guest:{guest}"))
    return evaluated_result(
        guest_client,
        job_id,
        job,
        task=predict_task,
        dataset_type="test_set",
        wall_s=wall_s,
        task_seconds=seconds | {"psi_s": psi_s},
        extras={"family": family, "psi": {f"guest:{guest}": psi}},
    )


def find_keys(payload: Any, keys: Sequence[str]) -> dict[str, Any]:
    """The first value of each of ``keys`` anywhere in FATE's nested metric payload."""
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in keys and key not in found and isinstance(value, int | float):
                    found[key] = value
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found
