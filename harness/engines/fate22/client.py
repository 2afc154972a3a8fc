"""FATE 2.2 adapter: build the study's HomoLR DAG and drive one FATE-Flow over its REST API.

One job per federated fit: the train tables feed HomoLR's ``train_data`` and the test tables its
``validate_data``, so the final (aggregated) model scores the held-out test set inside the same
job. A FATE job costs about a minute of process start-up, so a separate predict job would double
the cost of every arm for nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from harness.engines.base import FitJob
from harness.engines.fate22.dag_parts import binary_evaluation, compiled_dag, split_reader
from harness.engines.fate22.homo_nn import build_nn_task, family
from harness.engines.fate22.mapping import fit_params
from harness.engines.jobs import LOG_LINES, TERMINAL_FAILURES, tail
from harness.engines.validation import coefficients_from_model, find_model
from harness.errors import EngineError
from harness.ids import job_id as valid_job_id

# Small tables on a 2-core machine: one partition and one core per task avoid spawning process
# pools whose start-up dwarfs the work.
DEFAULT_JOB_CONF: dict[str, Any] = {"computing_partitions": 1, "cores": 1, "task": {"engine_run": {"cores": 1}}}


def build_fit_dag(job: FitJob, job_conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Compile one fit's DAG (readers, HomoLR, Evaluation) with FATE's own pipeline compiler."""
    from fate_client.pipeline import FateFlowPipeline
    from fate_client.pipeline.components.fate import HomoLR

    roles = job.roles
    pipeline = FateFlowPipeline().set_parties(guest=roles.guest, host=list(roles.hosts), arbiter=roles.arbiter)
    data_parties = {"guest": roles.guest, "host": list(roles.hosts)}
    readers = [
        split_reader(name, tables, roles, data_parties)
        for name, tables in (("reader_train", job.train), ("reader_test", job.test))
    ]
    if family(job) == "homo_nn":
        # The study scores HomoNN's predictions itself (multi-class); no Evaluation task.
        pipeline.add_tasks([*readers, build_nn_task(job, *(r.outputs["output_data"] for r in readers))])
    else:
        homo_lr = HomoLR(
            "homo_lr_0",
            train_data=readers[0].outputs["output_data"],
            validate_data=readers[1].outputs["output_data"],
            **fit_params(job),
        )
        evaluation = binary_evaluation(roles.guest, homo_lr.outputs["train_output_data"])
        pipeline.add_tasks([*readers, homo_lr, evaluation])
    return compiled_dag(pipeline, DEFAULT_JOB_CONF if job_conf is None else job_conf)


def upload_meta(label: str, id_column: str) -> dict[str, str]:
    """An empty ``label``: a table without one (a vertical fit's host)."""
    meta = {"delimiter": ",", "dtype": "float64", "input_format": "dense", "match_id_name": id_column}
    return meta | ({"label_type": "int64", "label_name": label} if label else {})


class FlowRestClient:
    """Thin adapter over one FATE-Flow 2.2 server (``FlowClient`` from fate_client)."""

    def __init__(self, host: str, port: int, auth_key: str | None = None) -> None:
        """``auth_key``: the server's client key; every request is then signed (harness.engines.fate22.auth)."""
        from fate_client.flow_sdk import FlowClient

        from harness.engines.fate22.auth import signed_flow_client

        self.host = host
        self.port = port
        self._client = (
            signed_flow_client(host, port, auth_key) if auth_key else FlowClient(ip=host, port=port, version="v2")
        )

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @staticmethod
    def _ok(response: Any, what: str) -> dict[str, Any]:
        if not isinstance(response, dict) or response.get("code") != 0:
            raise EngineError(f"FATE-Flow refused to {what}: {response}")
        return response

    # -- tables --------------------------------------------------------------------------------
    def table_rows(self, namespace: str, name: str) -> int | None:
        response = self._client.table.query(namespace=namespace, name=name)
        if not isinstance(response, dict) or response.get("code") != 0:
            return None
        data = response.get("data") or {}
        count = data.get("count")
        return int(count) if count is not None else None

    def delete_table(self, namespace: str, name: str) -> None:
        self._client.table.delete(namespace=namespace, name=name)

    def upload(self, file: Path, *, namespace: str, name: str, meta: Mapping[str, str], partitions: int = 4) -> str:
        response = self._ok(
            self._client.data.upload(
                file=str(file),
                head=True,
                partitions=partitions,
                meta=dict(meta),
                namespace=namespace,
                name=name,
                extend_sid=True,
            ),
            f"upload {file.name}",
        )
        return str(response["job_id"])

    # -- jobs ----------------------------------------------------------------------------------
    def submit(self, dag: Mapping[str, Any]) -> str:
        return str(self._ok(self._client.job.submit(dag_schema=dict(dag)), "submit the job")["job_id"])

    def job_status(self, job_id: str, role: str | None = None, party_id: str | None = None) -> dict[str, Any]:
        """One party's record of the job (the first FATE returns unless role and party_id pick one)."""
        response = self._client.job.query(job_id=job_id, role=role, party_id=party_id)
        data = self._ok(response, f"query job {job_id}").get("data") or []
        return data[0] if data else {}

    def tasks(self, job_id: str, role: str | None = None, party_id: str | None = None) -> list[dict[str, Any]]:
        response = self._client.task.query(job_id=job_id, role=role, party_id=party_id)
        if not isinstance(response, dict) or response.get("code") != 0:
            return []
        return list(response.get("data") or [])

    def stop(self, job_id: str) -> None:
        self._client.job.stop(job_id=job_id)

    def jobs_in_state(self, state: str) -> list[dict[str, Any]]:
        """Every party's record of every job in ``state`` (FATE-Flow answers 'no job found' with an error)."""
        response = self._client.job.query(status=state)
        if not isinstance(response, dict) or response.get("code") != 0:
            return []
        return list(response.get("data") or [])

    def job_failure(self, job_id: str, what: str, state: str) -> EngineError:
        return EngineError(
            f"FATE job {job_id} ({what}) {state}.\n{self.failure_report(job_id)}",
            hint="the log above is the failing task's; full logs: 'flow job download-log -j "
            f"{job_id}' against {self.host}:{self.port}.",
        )

    def failure_report(self, job_id: str, lines: int = LOG_LINES) -> str:
        """The failing tasks' names, parties and the tail of their error logs."""
        failed = [t for t in self.tasks(job_id) if str(t.get("status")).lower() in TERMINAL_FAILURES]
        if not failed:
            return "(FATE-Flow reported no failed task; the job was stopped or timed out)"
        parts = []
        for task in failed:
            where = f"task {task.get('task_name')} of {task.get('role')} {task.get('party_id')}"
            text = self.task_log(job_id, task)
            parts.append(f"--- {where} ---\n" + tail(text, lines))
        return "\n".join(parts)

    def task_log(self, job_id: str, task: Mapping[str, Any]) -> str:
        collected: list[str] = []
        for log_type in ("task_error", "task_info"):
            response = self._client.log.query(
                log_type=log_type,
                job_id=job_id,
                role=task.get("role"),
                party_id=task.get("party_id"),
                task_name=task.get("task_name"),
            )
            if isinstance(response, dict) and response.get("code") == 0:
                collected.extend(_log_lines(response.get("data")))
            if collected:
                break
        return "\n".join(collected) or "(no log lines returned by FATE-Flow)"

    # -- outputs -------------------------------------------------------------------------------
    def output_frame(self, job_id: str, role: str, party_id: str, task_name: str) -> pd.DataFrame:
        """Download a task's output data (a tar of CSVs) and concatenate it."""
        with tempfile.TemporaryDirectory() as tmp:
            response = self._client.output.download_data(
                job_id=valid_job_id(job_id), role=role, party_id=party_id, task_name=task_name, path=tmp
            )
            self._ok(response, f"download the output of {task_name}")
            frames = [pd.read_csv(path) for path in sorted(Path(tmp).rglob("*.csv"))]
        if not frames:
            raise EngineError(f"{task_name} of job {job_id} produced no output data.")
        return pd.concat(frames, ignore_index=True)

    def model_coefficients(self, job_id: str, role: str, party_id: str, task_name: str = "homo_lr_0") -> dict:
        """A HomoLR task's output model as {"weight", "bias"} (what the launcher engine returns)."""
        response = self._client.output.query_model(job_id=job_id, role=role, party_id=party_id, task_name=task_name)
        model = find_model(self._ok(response, f"read the model of {task_name}").get("data"))
        if not model:
            raise EngineError(f"{task_name} of job {job_id} returned no HomoLR model for {role} {party_id}")
        return coefficients_from_model(model)

    def metrics(self, job_id: str, role: str, party_id: str, task_name: str) -> Any:
        response = self._client.output.query_metric(job_id=job_id, role=role, party_id=party_id, task_name=task_name)
        return self._ok(response, f"read metrics of {task_name}").get("data")


def _log_lines(data: Any) -> Iterable[str]:
    if isinstance(data, list):
        for item in data:
            yield str(item.get("content", item)) if isinstance(item, dict) else str(item)
    elif data:
        yield str(data)


def table_name(tag: str, digest: str) -> str:
    """Content-addressed table names make re-runs reuse an upload and never mix two versions."""
    return f"{tag}_{digest[:12]}"


def task_timings(tasks: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Seconds per ``task@role:party`` from FATE-Flow's task records (elapsed is in ms)."""
    return {f"{t['task_name']}@{t['role']}:{t['party_id']}": float(t.get("elapsed") or 0) / 1000.0 for t in tasks}
