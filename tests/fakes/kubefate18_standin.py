"""STAND-INS for what a KubeFATE 1.8 party runs and this machine cannot (no FATE 1.8 images here).

Neither is FATE. They exist so the KubeFATE engine's SSH, placement, upload and job logic can be
exercised for real around them:

- :class:`KubeFlow18StandIn`: the recorded FATE-Flow 1.8 stand-in (``flow18_standin.py``) plus the
  calls the engine adds: ``table/table_info`` (row count of what was uploaded), ``table/delete``,
  ``job/stop``, logs of upload jobs (``local/0/...``), HomoLR output holding the job's real test
  rows as ``validate`` rows, and Evaluation's summary with a ``validate`` set. Upload failures can
  be injected per table; such an upload leaves a partial table behind, as an interrupted FATE
  upload would, so tests can check the engine removes it.
- :func:`write_standin_compose`: a ``docker-compose`` stand-in for ``exec -T client flow data upload
  -c CONF [--drop]`` run in ``confs-<id>/``. It maps ``/data/projects/fate/examples`` to
  ``./shared_dir/examples`` (the bind mount the client container has), reads the conf there and
  POSTs the file to that party's stand-in FATE-Flow the way fate_client 1.8's ``flow`` CLI does
  (multipart, conf as JSON in the query string, ``--drop`` overriding the conf's ``drop``), then
  prints the reply as JSON. Every call is appended to a log for assertions.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.fakes import flow18_standin as base
from tests.fakes.flow18_standin import Flow18StandIn, Recorded, StandInState, _ok, _tar_gz


@dataclass
class KubeStandInState(StandInState):
    fail_uploads: set[str] = field(default_factory=set)  # table names whose upload job fails
    partial_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)


def uploaded_csv(body: bytes) -> str:
    """The file part of a multipart body (one part, as the flow CLI sends it)."""
    start = body.index(b"\r\n\r\n") + 4
    end = body.rindex(b"\r\n--")
    return body[start:end].decode()


def _upload(state: KubeStandInState, rec: Recorded) -> Any:
    reply = base._upload(state, rec)
    conf = json.loads(urllib.parse.unquote(rec.query))
    if reply.get("retcode") == 0 and conf["table_name"] in state.fail_uploads:
        state.jobs[reply["jobId"]].fails = True
        key = (conf["namespace"], conf["table_name"])
        rows = len(uploaded_csv(rec.body).splitlines()) - 1
        state.partial_rows[key] = rows // 2  # what an upload dying half-way leaves behind
    return reply


def _table_info(state: KubeStandInState, rec: Recorded) -> Any:
    req = rec.json()
    key = (req.get("namespace"), req.get("table_name") or req.get("name"))
    if key not in state.tables:
        return _ok({"table_name": key[1], "namespace": key[0], "exist": 0, "count": 0})
    count = state.partial_rows.get(key, len(uploaded_csv(state.uploads[key]).splitlines()) - 1)
    return _ok({"table_name": key[1], "namespace": key[0], "exist": 1, "count": count, "partition": 4})


def _table_delete(state: KubeStandInState, rec: Recorded) -> Any:
    req = rec.json()
    key = (req.get("namespace"), req.get("table_name"))
    if key not in state.tables:
        return {"retcode": 101, "retmsg": "no find table"}
    state.tables.discard(key)
    state.uploads.pop(key, None)
    state.partial_rows.pop(key, None)
    return _ok({"table_name": key[1], "namespace": key[0]})


def _job_stop(state: KubeStandInState, rec: Recorded) -> Any:
    state.stopped.append(str(rec.json().get("job_id")))
    return _ok()


def _log_download(state: KubeStandInState, rec: Recorded) -> Any:
    job = state.jobs.get(str(rec.json().get("job_id")))
    if job is None or "role" in job.conf:
        return base._log_download(state, rec)
    # An upload job: FATE-Flow 1.8 keeps its logs under local/0/.
    files = {"./local/0/INFO.log": f"[INFO] [{job.job_id}] upload {job.conf['table_name']}\n"}
    if job.fails:
        files["./local/0/ERROR.log"] = (
            f"[ERROR] [{job.job_id}_upload_0] task run failed\n"
            "Traceback (most recent call last):\n"
            '  File "/data/projects/fate/fateflow/python/fate_flow/components/upload.py", line 273, in upload\n'
            f"ValueError: stand-in: upload of {job.conf['table_name']} failed "
            f"after {job.conf['partition']} partitions\n"
        )
    return _tar_gz(files)


def _summary(state: KubeStandInState, rec: Recorded) -> Any:
    if rec.json().get("component_name") != "evaluation_0":
        return _ok({})
    return _ok({"homo_lr_0": {"train": {"auc": 0.7412, "ks": 0.4031}, "validate": {"auc": 0.7123, "ks": 0.3655}}})


def standin_score(label: int, sample_id: int) -> float:
    return round(0.15 + 0.6 * label + (sample_id % 7) / 100, 4)


def _output_data(state: KubeStandInState, rec: Recorded) -> Any:
    """HomoLR output over the job's real tables: train rows, then the test table's rows as 'validate'."""
    req = rec.json()
    job = state.jobs[str(req["job_id"])]
    guest = job.conf["component_parameters"]["role"]["guest"]["0"]
    rows: list[list[str]] = []
    header: list[str] = []
    for reader, kind in (("reader_0", "train"), ("reader_1", "validate")):
        if reader not in guest:
            continue
        table = guest[reader]["table"]
        lines = uploaded_csv(state.uploads[(table["namespace"], table["name"])]).splitlines()
        columns = lines[0].split(",")
        label_at = columns.index(job.conf["component_parameters"]["common"]["data_transform_0"]["label_name"])
        header = [columns[0], "label", "predict_result", "predict_score", "predict_detail", "type"]
        for line in lines[1:]:
            cells = line.split(",")
            label = int(float(cells[label_at]))
            score = standin_score(label, int(cells[0]))
            detail = json.dumps({"0": round(1 - score, 4), "1": score}).replace('"', '""')
            rows.append([cells[0], str(label), str(int(score > 0.5)), str(score), f'"{detail}"', kind])
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    return _tar_gz({"data.csv": text, "data.meta": json.dumps({"header": header, "total": len(rows)})})


EXTRA_ROUTES = {
    ("POST", "/v1/data/upload"): _upload,
    ("POST", "/v1/table/table_info"): _table_info,
    ("POST", "/v1/table/delete"): _table_delete,
    ("POST", "/v1/job/stop"): _job_stop,
    ("POST", "/v1/job/log/download"): _log_download,
    ("POST", "/v1/tracking/component/summary/download"): _summary,
    ("GET", "/v1/tracking/component/output/data/download"): _output_data,
}


class _KubeHandler(base._Handler):
    def _route(self, method: str, path: str) -> Any:
        return EXTRA_ROUTES.get((method, path)) or super()._route(method, path)


class KubeFlow18StandIn(Flow18StandIn):
    """STAND-IN FATE-Flow 1.8 for one KubeFATE party (not FATE; see the module docstring)."""

    state: KubeStandInState

    def __init__(self) -> None:
        super().__init__()
        self.state = KubeStandInState()
        handler: type[BaseHTTPRequestHandler] = type("KubeHandler", (_KubeHandler,), {"state": self.state})
        self._server.RequestHandlerClass = handler
        # A short poll interval makes shutdown (three servers per test) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def paths(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


_COMPOSE_TEMPLATE = '''#!{python} -S
"""STAND-IN for docker-compose + the KubeFATE client container's `flow` CLI. Not Docker, not FATE."""
import json, pathlib, socket, sys, urllib.parse, uuid

PORTS = {ports}
CALLS = pathlib.Path({calls!r})
MOUNT = "/data/projects/fate/examples"

cwd = pathlib.Path.cwd()
argv = sys.argv[1:]
with CALLS.open("a") as log:
    log.write(json.dumps({{"cwd": str(cwd), "argv": argv}}) + "\\n")
if not cwd.name.startswith("confs-"):
    sys.exit("stand-in docker-compose: not run in a confs-<id> directory: " + str(cwd))
party = cwd.name[len("confs-"):]
if (cwd / "STANDIN_CLIENT_DOWN").exists():
    sys.exit("ERROR: No container found for client_1")
prefix = ["exec", "-T", "client", "flow", "data", "upload", "-c"]
if argv[:7] != prefix or len(argv) < 8:
    sys.exit("stand-in docker-compose: unsupported command: " + " ".join(argv))

def host_path(container_path):
    if not container_path.startswith(MOUNT + "/"):
        return None
    return cwd / "shared_dir" / "examples" / container_path[len(MOUNT) + 1:]

conf_file = host_path(argv[7])
if conf_file is None or not conf_file.is_file():
    sys.exit("stand-in flow: conf " + argv[7] + " is not visible in the client container")
conf = json.loads(conf_file.read_text())
conf["drop"] = 1 if "--drop" in argv[8:] else 0
data_file = host_path(conf["file"])
if data_file is None or not data_file.is_file():
    print(json.dumps({{"retcode": 100, "retmsg": "The file is obtained from the fate flow client machine, "
                      "but it does not exist, please check the path: " + conf["file"]}}, indent=4))
    sys.exit(0)
boundary = uuid.uuid4().hex
body = (
    ("--" + boundary + "\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"" + data_file.name
     + "\\"\\r\\nContent-Type: application/octet-stream\\r\\n\\r\\n").encode()
    + data_file.read_bytes() + ("\\r\\n--" + boundary + "--\\r\\n").encode()
)
query = urllib.parse.quote(json.dumps(conf, separators=(",", ":")), safe="")
# Plain HTTP/1.0 over a socket: importing urllib.request would double this script's start-up time.
head = ("POST /v1/data/upload?%s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\nContent-Type: multipart/form-data; boundary=%s"
        "\\r\\nContent-Length: %d\\r\\n\\r\\n" % (query, boundary, len(body))).encode()
with socket.create_connection(("127.0.0.1", PORTS[party]), timeout=30) as conn:
    conn.sendall(head + body)
    reply = b"".join(iter(lambda: conn.recv(65536), b""))
print(json.dumps(json.loads(reply.split(b"\\r\\n\\r\\n", 1)[1]), indent=4))
'''


def write_standin_compose(path: Path, ports: dict[int, int], calls: Path) -> Path:
    """Write the executable ``docker-compose`` stand-in; ``ports`` maps party id -> its stand-in FATE-Flow port."""
    text = _COMPOSE_TEMPLATE.format(
        python=sys.executable, ports=json.dumps({str(k): v for k, v in ports.items()}), calls=str(calls)
    )
    path.write_text(text)
    path.chmod(0o755)
    return path
