"""STAND-IN for a FATE-Flow 1.8 HTTP server. It is NOT FATE and runs no federated learning.

It answers the ``/v1/`` endpoints the harness uses with replies shaped like FATE-Flow 1.8's
(``{"retcode", "retmsg", "data", "jobId"}``; logs and output data as tar.gz), as recorded from
fate_client 1.8 against a stub and read in FATE-Flow v1.8.0 (see shared/reference/kubefate-1.8.md
section 3.4). It records every request so tests can check request shapes, e.g. that the upload conf
travels as raw JSON in the query string and that output data is fetched with GET + JSON body.

Job behaviour: a submitted job goes waiting -> running -> success over successive ``job/query``
calls. Like real FATE 1.8, parameters are not validated at submit time: a job whose ``homo_lr_0``
optimizer is unknown ends ``failed`` at runtime, with an ERROR.log holding a traceback.
Binds 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KNOWN_OPTIMIZERS = {"sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd"}
JOB_ID_BASE = 202211260000000000


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeJob:
    job_id: str
    conf: dict[str, Any]
    dsl: dict[str, Any]
    queries: int = 0
    fails: bool = False

    def status(self) -> str:
        steps = ["waiting", "running", "failed" if self.fails else "success"]
        return steps[min(self.queries, len(steps) - 1)]


@dataclass
class StandInState:
    requests: list[Recorded] = field(default_factory=list)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    tables: set[tuple[str, str]] = field(default_factory=set)
    uploads: dict[tuple[str, str], bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_job_id(self) -> str:
        return str(JOB_ID_BASE + len(self.jobs) + 1)


def _tar_gz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ok(data: Any = None, **extra: Any) -> dict[str, Any]:
    return {"retcode": 0, "retmsg": "success", "data": data, **extra}


class _Handler(BaseHTTPRequestHandler):
    state: StandInState  # set on the subclass made per server

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, payload: Any, status: int = 200) -> None:
        if isinstance(payload, bytes):
            body, ctype = payload, "application/gzip"
        else:
            body, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str, path: str) -> Any:
        # Looked up per request so tests can monkeypatch ROUTES; subclasses add routes of their own.
        return ROUTES.get((method, path))

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        rec = Recorded(self.command, path, query, dict(self.headers.items()), body)
        with self.state.lock:
            self.state.requests.append(rec)
            route = self._route(self.command, path)
            if route is None:
                self._reply({"retcode": 404, "retmsg": f"no stand-in route for {self.command} {path}"}, 404)
                return
            self._reply(route(self.state, rec))

    do_GET = _handle
    do_POST = _handle


def _version(state: StandInState, rec: Recorded) -> Any:
    return _ok({rec.json().get("module", "FATE"): "1.8.0"})


def _upload(state: StandInState, rec: Recorded) -> Any:
    conf = json.loads(urllib.parse.unquote(rec.query))
    for key in ("namespace", "table_name", "file", "head", "partition"):
        if key not in conf:
            return {"retcode": 100, "retmsg": f"required argument are missing: {key}"}
    key = (conf["namespace"], conf["table_name"])
    if key in state.tables and conf.get("drop") != 1:
        return {
            "retcode": 100,
            "retmsg": f"The data table already exists, table_name: {key[1]}, namespace: {key[0]}."
            "If you still want to continue uploading, please add the parameter --drop",
        }
    state.tables.add(key)
    state.uploads[key] = rec.body
    job_id = state.new_job_id()
    state.jobs[job_id] = FakeJob(job_id, conf, {}, queries=2)
    return _ok(
        {
            "board_url": f"http://fateboard:8080/index.html#/dashboard?job_id={job_id}&role=local&party_id=0",
            "namespace": key[0],
            "table_name": key[1],
        },
        jobId=job_id,
    )


def _submit(state: StandInState, rec: Recorded) -> Any:
    body = rec.json()
    conf, dsl = body["job_runtime_conf"], body["job_dsl"]
    job_id = state.new_job_id()
    optimizer = conf.get("component_parameters", {}).get("common", {}).get("homo_lr_0", {}).get("optimizer")
    state.jobs[job_id] = FakeJob(
        job_id, conf, dsl, fails=optimizer is not None and optimizer not in KNOWN_OPTIMIZERS
    )
    roles = conf["role"]
    model_id = "#".join(f"{r}-{'_'.join(str(p) for p in sorted(roles[r]))}" for r in sorted(roles)) + "#model"
    return _ok(
        {
            "board_url": f"http://fateboard:8080/index.html#/dashboard?job_id={job_id}",
            "model_info": {"model_id": model_id, "model_version": job_id},
            "logs_directory": f"/data/projects/fate/fateflow/logs/{job_id}",
        },
        jobId=job_id,
    )


def _job_query(state: StandInState, rec: Recorded) -> Any:
    job = state.jobs.get(str(rec.json().get("job_id")))
    if job is None:
        return {"retcode": 101, "retmsg": "no job could be found", "data": []}
    status = job.status()
    job.queries += 1
    return _ok(
        [
            {
                "f_job_id": job.job_id,
                "f_status": status,
                "f_role": rec.json().get("role"),
                "f_party_id": str(rec.json().get("party_id")),
            }
        ]
    )


def _task_query(state: StandInState, rec: Recorded) -> Any:
    job = state.jobs.get(str(rec.json().get("job_id")))
    if job is None:
        return {"retcode": 101, "retmsg": "no task could be found", "data": []}
    final = job.status()
    tasks = []
    for name in job.dsl.get("components", {}):
        status = (
            "failed"
            if (final == "failed" and name == "homo_lr_0")
            else ("success" if final == "success" else "waiting")
        )
        tasks.append({"f_job_id": job.job_id, "f_component_name": name, "f_status": status})
    wanted = rec.json().get("status")
    return _ok([t for t in tasks if not wanted or t["f_status"] == wanted])


def _log_download(state: StandInState, rec: Recorded) -> Any:
    job = state.jobs.get(str(rec.json().get("job_id")))
    if job is None:
        return {"retcode": 210, "retmsg": "Log file path not found. Please check if the job id is valid."}
    guest = job.conf["role"]["guest"][0]
    info = f"[INFO] [{job.job_id}] job status {job.status()}\n"
    files = {f"./guest/{guest}/INFO.log": info}
    if job.fails:
        optimizer = job.conf["component_parameters"]["common"]["homo_lr_0"]["optimizer"]
        files[f"./guest/{guest}/ERROR.log"] = (
            f"[ERROR] [{job.job_id}_homo_lr_0] task run failed\n"
            "Traceback (most recent call last):\n"
            '  File "/data/projects/fate/fate/python/federatedml/model_base.py", line 113, in run\n'
            f"ValueError: Optimizer {optimizer} not supported\n"
        )
    return _tar_gz(files)


def _summary(state: StandInState, rec: Recorded) -> Any:
    if rec.json().get("component_name") != "evaluation_0":
        return _ok({})
    return _ok({"homo_lr_0": {"train": {"auc": 0.7261, "ks": 0.3804}}})


def _metric_all(state: StandInState, rec: Recorded) -> Any:
    return _ok(
        {
            "train": {
                "homo_lr_0": {
                    "data": [["auc", 0.7261], ["ks", 0.3804]],
                    "meta": {"metric_type": "EVALUATION_SUMMARY"},
                }
            }
        }
    )


def _output_data(state: StandInState, rec: Recorded) -> Any:
    header = ["id", "label", "predict_result", "predict_score", "predict_detail", "type"]
    rows = [
        ["1", "0", "0", "0.21", '{"0": 0.79, "1": 0.21}', "train"],
        ["2", "1", "1", "0.67", '{"0": 0.33, "1": 0.67}', "train"],
    ]
    limit = rec.json().get("limit", -1)
    rows = rows if limit in (-1, None) else rows[:limit]
    csv_text = ",".join(header) + "\n" + "".join(",".join(_q(c) for c in r) + "\n" for r in rows)
    return _tar_gz({"data.csv": csv_text, "data.meta": json.dumps({"header": header, "total": len(rows)})})


def _q(cell: str) -> str:
    return f'"{cell.replace(chr(34), chr(34) * 2)}"' if "," in cell or '"' in cell else cell


ROUTES = {
    ("POST", "/v1/version/get"): _version,
    ("POST", "/v1/data/upload"): _upload,
    ("POST", "/v1/job/submit"): _submit,
    ("POST", "/v1/job/query"): _job_query,
    ("POST", "/v1/job/task/query"): _task_query,
    ("POST", "/v1/job/log/download"): _log_download,
    ("POST", "/v1/tracking/component/summary/download"): _summary,
    ("POST", "/v1/tracking/component/metric/all"): _metric_all,
    ("GET", "/v1/tracking/component/output/data/download"): _output_data,
}


class Flow18StandIn:
    """Context manager: ``with Flow18StandIn() as s: Flow18Client('127.0.0.1', s.port)``."""

    def __init__(self) -> None:
        self.state = StandInState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Flow18StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def requests(self) -> list[Recorded]:
        return self.state.requests
