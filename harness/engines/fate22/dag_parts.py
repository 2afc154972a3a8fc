"""The pieces every FATE-Flow 2.2 fit's DAG shares (HomoLR, HomoNN, SecureBoost, coordinated LR).

A Reader per split naming each data party's table, the guest's binary Evaluation, compiling
the pipeline with the job conf. The family-specific tasks between them stay in ``client.py``
(homo) and ``dag_hetero.py`` (vertical).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from harness.engines.base import Roles, Table


def split_reader(name: str, tables: Mapping[str, Table], roles: Roles, runtime_parties: Mapping[str, Any]) -> Any:
    """A Reader task that reads each data party's own table of one split (train or test)."""
    from fate_client.pipeline.components.fate import Reader

    reader = Reader(name, runtime_parties=dict(runtime_parties))
    reader.guest.task_parameters(namespace=tables[roles.guest].namespace, name=tables[roles.guest].name)
    for index, host in enumerate(roles.hosts):
        reader.hosts[index].task_parameters(namespace=tables[host].namespace, name=tables[host].name)
    return reader


def binary_evaluation(guest: str, scored: Any) -> Any:
    """FATE's binary Evaluation of ``scored`` (a task's output data) on the guest."""
    from fate_client.pipeline.components.fate import Evaluation

    return Evaluation(
        "evaluation_0", runtime_parties={"guest": guest}, default_eval_setting="binary", input_datas=[scored]
    )


def compiled_dag(pipeline: Any, job_conf: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline's DAG with ``job_conf`` set, as FATE-Flow's submit takes it."""
    for key, value in job_conf.items():
        pipeline.conf.set(key, value)
    pipeline.compile()
    return yaml.safe_load(pipeline.get_dag())

