"""Thin client for the FATE-Flow 1.8 REST API (``/v1/``), as used by fate_client 1.8.

Only the calls the study needs: upload a CSV, submit a job, poll job and task status, download
job logs, and fetch a component's summary, metrics and output data. It uses the standard library
only, so the harness can talk to a FATE 1.8 cluster without installing fate_client (which needs
old Flask/MarkupSafe/urllib3 pins that clash with FATE 2.2 in the project venv).

Every non-zero ``retcode`` or HTTP failure becomes an :class:`EngineError` naming the endpoint.
A failed job raises :class:`EngineError` whose message carries the tail of the guest's ERROR.log.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engines.jobs import LOG_LINES, TERMINAL_FAILURES, Pace, Poll, tail, wait_job
from harness.errors import ConfigError, EngineError


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    model_id: str | None = None
    model_version: str | None = None
    board_url: str | None = None


@dataclass(frozen=True)
class OutputData:
    header: list[str]
    rows: list[list[str]]
    meta: dict[str, Any] = field(default_factory=dict)


class Flow18Client:
    """Talks to one FATE-Flow 1.8 server (normally the initiator's, i.e. the guest's)."""

    def __init__(self, host: str, port: int = 9380, timeout: float = 30.0, scheme: str = "http") -> None:
        if scheme not in ("http", "https"):
            raise ConfigError(f"FATE-Flow scheme must be http or https, got {scheme!r}")
        self.base_url = f"{scheme}://{host}:{port}/v1"
        self.timeout = timeout

    # -- transport -----------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        query: str | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        url = f"{self.base_url}/{endpoint.lstrip('/')}"
        if query is not None:
            url += "?" + query
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type or "application/json"}
        # base_url is always http(s):// (built in __init__), never file: or custom schemes.
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise EngineError(
                f"FATE-Flow {endpoint} answered HTTP {exc.code}: {detail}",
                hint="check the FATE-Flow version (1.8 expected) and the request",
            ) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise EngineError(
                f"cannot reach FATE-Flow at {self.base_url} ({endpoint}): {getattr(exc, 'reason', exc)}",
                hint="check that the party's python container is up and port 9380 is allowed from this host",
            ) from exc

    def _json(self, method: str, endpoint: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        payload = self._call(method, endpoint, body, **kw)
        try:
            reply = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise EngineError(f"FATE-Flow {endpoint} did not return JSON: {payload[:200]!r}") from exc
        if reply.get("retcode", 0) != 0:
            raise EngineError(
                f"FATE-Flow {endpoint} failed with retcode {reply.get('retcode')}: {reply.get('retmsg')}",
                hint="see the retmsg; for job failures download the job log",
            )
        return reply

    def _file(self, method: str, endpoint: str, body: dict[str, Any]) -> bytes:
        payload = self._call(method, endpoint, body)
        # Errors come back as JSON instead of a tar.gz.
        if payload[:1] == b"{":
            self._json_from_bytes(endpoint, payload)
        return payload

    def _json_from_bytes(self, endpoint: str, payload: bytes) -> None:
        reply = json.loads(payload)
        if reply.get("retcode", 0) != 0:
            raise EngineError(f"FATE-Flow {endpoint} failed with retcode {reply.get('retcode')}: {reply.get('retmsg')}")

    # -- API -----------------------------------------------------------------------------------
    def version(self) -> str:
        return str(self._json("POST", "version/get", {"module": "FATE"}).get("data", {}).get("FATE", ""))

    def upload(
        self,
        csv_path: str | Path,
        table_name: str,
        namespace: str,
        *,
        head: bool = True,
        partition: int = 4,
        drop: bool = True,
        id_delimiter: str = ",",
    ) -> str:
        """Upload a local CSV to the server's storage; return the upload job ID."""
        path = Path(csv_path).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"upload file {path} does not exist", hint="pass an existing CSV file")
        conf = {
            "file": str(path),
            "table_name": table_name,
            "namespace": namespace,
            "head": int(head),
            "partition": partition,
            "id_delimiter": id_delimiter,
            "extend_sid": False,
            "auto_increasing_sid": False,
            "verbose": 1,
            "drop": int(drop),
        }
        # FATE-Flow 1.8 json-decodes the single query-string key, so the conf goes there raw.
        query = urllib.parse.quote(json.dumps(conf, separators=(",", ":")), safe="")
        boundary = uuid.uuid4().hex
        body = _multipart(boundary, "file", path.name, path.read_bytes())
        reply = self._json(
            "POST",
            "data/upload",
            query=query,
            raw=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        return str(reply["jobId"])

    def submit(self, dsl: dict[str, Any], conf: dict[str, Any]) -> SubmittedJob:
        reply = self._json("POST", "job/submit", {"job_runtime_conf": conf, "job_dsl": dsl})
        data = reply.get("data") or {}
        info = data.get("model_info") or {}
        return SubmittedJob(str(reply["jobId"]), info.get("model_id"), info.get("model_version"), data.get("board_url"))

    def job_record(self, job_id: str, role: str, party_id: int) -> dict[str, Any]:
        """The job as this party's FATE-Flow records it (``f_status``, ``f_elapsed``, ...)."""
        data = self._json("POST", "job/query", {"job_id": job_id, "role": role, "party_id": party_id}).get("data")
        if not data:
            raise EngineError(
                f"FATE-Flow at {self.base_url} knows no job {job_id} for {role} {party_id}",
                hint="check the job ID and that you query the initiator's FATE-Flow",
            )
        return dict(data[0])

    def job_status(self, job_id: str, role: str, party_id: int) -> str:
        return str(self.job_record(job_id, role, party_id)["f_status"])

    def tasks(self, job_id: str, role: str, party_id: int, status: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"job_id": job_id, "role": role, "party_id": party_id}
        if status:
            body["status"] = status
        return list(self._json("POST", "job/task/query", body).get("data") or [])

    def download_logs(self, job_id: str) -> dict[str, str]:
        """Return {member path: text} of the job's log archive (paths like guest/9999/ERROR.log)."""
        blob = self._file("POST", "job/log/download", {"job_id": job_id})
        return _read_tar_texts(blob)

    def error_log(self, job_id: str, role: str, party_id: int, lines: int = LOG_LINES) -> str:
        """The last lines of <role>/<party_id>/ERROR.log (INFO.log if there is no ERROR.log), secrets masked."""
        logs = self.download_logs(job_id)
        for name in ("ERROR.log", "INFO.log"):
            suffix = f"{role}/{party_id}/{name}"
            for member, text in logs.items():
                if member.endswith(suffix) and text.strip():
                    return tail(text, lines)
        return ""

    def stop(self, job_id: str) -> None:
        """Ask this FATE-Flow to stop the job (nothing to stop is not an error)."""
        with suppress(EngineError):
            self._json("POST", "job/stop", {"job_id": job_id})

    def wait(
        self,
        job_id: str,
        role: str,
        party_id: int,
        *,
        timeout: float = 3600.0,
        poll: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll until the job ends (harness.engines.jobs' loop); 'success', or EngineError with the log tail."""
        wait_job(
            lambda: Poll(self.job_status(job_id, role, party_id)),
            job_id,
            what=f"{role} {party_id}",
            failure=lambda state, _down: self.job_failure(job_id, role, party_id, state),
            stop=lambda: self.stop(job_id),
            progress=False,
            pace=Pace(timeout=timeout, poll_seconds=poll, sleep=sleep, clock=clock),
        )
        return "success"

    def job_failure(self, job_id: str, role: str, party_id: int, state: str) -> EngineError:
        """The job's failed components and the tail of this party's log."""
        tasks = self.tasks(job_id, role, party_id)
        failed = [t.get("f_component_name") for t in tasks if t.get("f_status") == "failed"]
        log = self.error_log(job_id, role, party_id)
        return EngineError(
            f"FATE job {job_id} {'ended ' + state if state in TERMINAL_FAILURES else state}"
            + (f" in {', '.join(str(c) for c in failed)}" if failed else "")
            + (f"; {role}/{party_id} log tail:\n{log}" if log else ""),
            hint=f'full logs: POST {self.base_url}/job/log/download {{"job_id": "{job_id}"}}',
        )

    def summary(self, job_id: str, component: str, role: str, party_id: int) -> dict[str, Any]:
        body = {"job_id": job_id, "component_name": component, "role": role, "party_id": party_id}
        return dict(self._json("POST", "tracking/component/summary/download", body).get("data") or {})

    def metrics(self, job_id: str, component: str, role: str, party_id: int) -> dict[str, Any]:
        body = {"job_id": job_id, "component_name": component, "role": role, "party_id": party_id}
        return dict(self._json("POST", "tracking/component/metric/all", body).get("data") or {})

    def output_data(self, job_id: str, component: str, role: str, party_id: int, limit: int = -1) -> OutputData:
        body = {
            "job_id": job_id,
            "component_name": component,
            "role": role,
            "party_id": party_id,
            "limit": limit,
        }
        # FATE-Flow 1.8 serves this as GET with a JSON body (fate_client does the same).
        texts = _read_tar_texts(self._file("GET", "tracking/component/output/data/download", body))
        csv_name = next((n for n in texts if n.endswith("data.csv")), None)
        if csv_name is None:
            raise EngineError(f"output of {component} in job {job_id} has no data.csv (got {sorted(texts)})")
        meta_name = csv_name.removesuffix("data.csv") + "data.meta"
        meta = json.loads(texts[meta_name]) if meta_name in texts else {}

        rows = list(csv.reader(io.StringIO(texts[csv_name])))
        header = list(meta.get("header") or [])
        if rows and header and rows[0] == header:
            rows = rows[1:]
        elif rows and not header:
            header, rows = rows[0], rows[1:]
        return OutputData(header=header, rows=rows, meta=meta)


def _multipart(boundary: str, field_name: str, filename: str, content: bytes) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode()


def _read_tar_texts(blob: bytes) -> dict[str, str]:
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
            return {
                m.name.removeprefix("./"): tar.extractfile(m).read().decode(errors="replace")  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except tarfile.TarError as exc:
        raise EngineError(f"FATE-Flow returned a corrupt archive: {exc}") from exc
