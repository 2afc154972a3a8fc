"""FATE 2.2 on the inventory's hosts: one FATE-Flow per party, data placed over verified SSH.

Each party's CSVs go only to that party's host (SFTP, sha256-verified, atomic rename) and are
uploaded into that party's own FATE-Flow from the host's disk. Jobs are submitted to the guest's
FATE-Flow; when one fails, the report names the failing party and carries the task log fetched
from that party's own FATE-Flow (task logs stay on the host that ran the task).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engines.base import NAMESPACE, HomoLRJob, JobResult, Roles, Table, UploadRequest
from harness.engines.fate22 import (
    TERMINAL_FAILURES,
    FlowRestClient,
    build_homo_lr_dag,
    collect_job_result,
    upload_tables,
)
from harness.errors import ConfigError, DataError, EngineError, FatelabError
from harness.inventory import Cluster, Party, load_inventory
from harness.remote import Placement, RemoteCluster

DEFAULT_FLOW_PORT = 9380
DEFAULT_DATA_DIR = "/var/lib/fatelab/data"
DATA_DIR_VAR = "fatelab_remote_data_dir"
FLOW_PORT_VAR = "fate_flow_http_port"
POLL_SECONDS = 3.0
# A party whose FATE-Flow misses this many liveness probes in a row (one per LIVENESS_SECONDS) is
# declared down and the job is stopped: FATE itself would wait for the party's messages for days.
LIVENESS_SECONDS = 5.0
LIVENESS_MISSES = 3
SITE_TIMEOUT = 5.0
JOB_TIMEOUT = 3600.0
LOG_LINES = 40


@dataclass(frozen=True)
class PartyEndpoint:
    """Where one party's FATE-Flow listens and where its data goes on its host."""

    party: Party
    flow_host: str
    flow_port: int
    data_dir: str

    @property
    def url(self) -> str:
        return f"http://{self.flow_host}:{self.flow_port}"

    def not_answering(self, reason: str = "") -> str:
        detail = f" ({reason})" if reason else ""
        where = f"{self.flow_host}:{self.flow_port}"
        return f"party {self.party.party_id}'s FATE-Flow at {where} is not answering{detail}"


def endpoints_from_cluster(cluster: Cluster) -> dict[int, PartyEndpoint]:
    out = {}
    for p in cluster.parties:
        data_dir = str(p.vars.get(DATA_DIR_VAR) or cluster.vars.get(DATA_DIR_VAR) or DEFAULT_DATA_DIR)
        if not data_dir.startswith("/"):
            raise ConfigError(f"host {p.host} (party {p.party_id}): {DATA_DIR_VAR} must be absolute, got {data_dir!r}")
        port = int(p.vars.get(FLOW_PORT_VAR) or DEFAULT_FLOW_PORT)
        out[p.party_id] = PartyEndpoint(party=p, flow_host=p.address, flow_port=port, data_dir=data_dir)
    return out


def site_party_id(endpoint: PartyEndpoint, timeout: float = SITE_TIMEOUT) -> str:
    """The party id the FATE-Flow says it serves; EngineError when it does not answer properly."""
    url = f"{endpoint.url}/v2/site/info/query"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http to the inventory host
            body = json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EngineError(
            endpoint.not_answering(str(reason)),
            hint=f"check the service on {endpoint.party.host}: 'systemctl status fate-flow' and "
            "/opt/fate/flow/logs/error.log; deploy or repair it with 'make cluster'",
        ) from exc
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or "party_id" not in data:
        raise EngineError(
            f"party {endpoint.party.party_id}'s FATE-Flow at {endpoint.url} reports no party id: {body}",
            hint="a standalone FATE-Flow says 'Site is standalone'; deploy the cluster with 'make cluster'",
        )
    return str(data["party_id"])


class ClusterEngine:
    """FATE 2.2 with one FATE-Flow per party on the inventory's hosts."""

    name = "fate-2.2-cluster"

    def __init__(
        self,
        cluster: Cluster,
        inventory_path: Path,
        *,
        work_dir: Path,
        progress: bool = True,
        remote: RemoteCluster | None = None,
        job_timeout: float = JOB_TIMEOUT,
    ) -> None:
        self.cluster = cluster
        self.inventory_path = Path(inventory_path)
        self.work_dir = Path(work_dir)
        self.progress = progress
        self.job_timeout = job_timeout
        self.endpoints = endpoints_from_cluster(cluster)
        self.remote = remote or RemoteCluster.from_inventory(cluster, self.inventory_path)
        self._clients: dict[int, FlowRestClient] = {}
        self._placements: dict[int, list[dict[str, Any]]] = {}

    @classmethod
    def from_inventory(cls, path: str | Path, work_dir: str | Path, progress: bool = True) -> ClusterEngine:
        return cls(load_inventory(path), Path(path), work_dir=Path(work_dir), progress=progress)

    # -- lookups ---------------------------------------------------------------------------
    def endpoint(self, party_id: str | int) -> PartyEndpoint:
        try:
            return self.endpoints[int(party_id)]
        except (KeyError, ValueError):
            raise ConfigError(
                f"party {party_id} is not in inventory {self.inventory_path} " f"(parties: {sorted(self.endpoints)})",
                hint="the study's roles must use the inventory's party_id values",
            ) from None

    def client(self, party_id: str | int) -> FlowRestClient:
        endpoint = self.endpoint(party_id)
        pid = endpoint.party.party_id
        if pid not in self._clients:
            self._clients[pid] = FlowRestClient(endpoint.flow_host, endpoint.flow_port)
        return self._clients[pid]

    # -- Engine ----------------------------------------------------------------------------
    def start(self) -> None:
        """Verify every host over SSH (keys checked), then that each FATE-Flow answers as its party."""
        self.remote.preflight()
        self.remote.close()  # placement reconnects (and re-verifies) when it needs to

        def check(endpoint: PartyEndpoint) -> FatelabError | None:
            try:
                answered = site_party_id(endpoint)
            except EngineError as exc:
                return exc
            if answered != str(endpoint.party.party_id):
                return EngineError(
                    f"the FATE-Flow at {endpoint.url} answers as party {answered}, "
                    f"but inventory host {endpoint.party.host} says party {endpoint.party.party_id}",
                    hint="inventory and deployment disagree: fix party_id or re-deploy ('make cluster')",
                )
            return None

        with ThreadPoolExecutor(max_workers=len(self.endpoints)) as pool:
            errors = [e for e in pool.map(check, self.endpoints.values()) if e is not None]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise EngineError(
                f"{len(errors)} parties' FATE-Flows failed the check:\n"
                + "\n".join(f"  - {e.message}" for e in errors),
                hint=errors[0].hint,
            )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fate_client_version": _version("fate_client"),
            "inventory": str(self.inventory_path.resolve()),
            "known_hosts": str(self.remote.known_hosts),
            "endpoints": {
                str(pid): {
                    "host": e.party.host,
                    "fate_flow": e.url,
                    "ssh": f"{self.remote.targets[pid].user}@{e.party.address}:" f"{self.remote.targets[pid].port}",
                    "data_dir": e.data_dir,
                }
                for pid, e in self.endpoints.items()
            },
        }

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Place each CSV on its own party's host only, then upload it into that party's FATE-Flow."""
        parties = list(dict.fromkeys(int(self.endpoint(r.party_id).party.party_id) for r in requests))
        items = [(int(r.party_id), r.path) for r in requests]
        dirs = {pid: e.data_dir for pid, e in self.endpoints.items()}
        try:
            # Every host verified (HostError) and every FATE-Flow answering (EngineError) before any copy.
            self.remote.preflight()
            self._require_flows(parties)
            placements = self.remote.place_many(items, dirs, progress=self.progress)
        finally:
            self.remote.close()
        for request, placed in zip(requests, placements, strict=True):
            if placed.rows != request.rows:
                raise DataError(
                    f"{request.path} has {placed.rows} data lines but the table {request.name} should have "
                    f"{request.rows} rows",
                    hint="the file changed after it was written; delete it and re-run",
                )
            self._record(request, placed)
        self._write_placement()

        by_party: dict[int, list[UploadRequest]] = {}
        for request, placed in zip(requests, placements, strict=True):
            # FATE-Flow reads the file on its own host: hand it the placed path, not the local one.
            remote_request = dataclasses.replace(request, path=Path(placed.remote_path))
            by_party.setdefault(int(request.party_id), []).append(remote_request)

        def upload(pid: int) -> FatelabError | None:
            try:
                upload_tables(self.client(pid), by_party[pid], progress=False)
            except FatelabError as exc:
                try:
                    site_party_id(self.endpoint(pid))
                except EngineError as down:
                    return EngineError(f"upload into party {pid} failed: {down.message}", hint=down.hint)
                return EngineError(f"upload into party {pid}'s FATE-Flow failed: {exc.message}", hint=exc.hint)
            return None

        with ThreadPoolExecutor(max_workers=len(by_party) or 1) as pool:
            errors = [e for e in pool.map(upload, by_party) if e is not None]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise EngineError("\n".join(e.message for e in errors), hint=errors[0].hint)
        return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, HomoLRJob]]) -> list[JobResult]:
        """Submit every job to its guest's FATE-Flow, then wait for each in order."""
        submitted = []
        for what, job in jobs:
            self._require_flows(job.roles.all_parties())
            job_id = self.client(job.roles.guest).submit(build_homo_lr_dag(job))
            submitted.append((what, job, job_id, time.monotonic()))
        results = []
        for index, (what, job, job_id, started) in enumerate(submitted):
            try:
                self._wait(job_id, what, job.roles)
            except EngineError:
                for _, later, later_id, _ in submitted[index + 1 :]:
                    self.client(later.roles.guest).stop(later_id)
                raise
            results.append(self._collect(job_id, job, started))
        return results

    # -- placement record ------------------------------------------------------------------
    def placement(self) -> dict[str, Any]:
        """Where every party's files went (JSON-able, keyed by party id) for results.json."""
        out: dict[str, Any] = {}
        for pid, files in sorted(self._placements.items()):
            e = self.endpoints[pid]
            out[str(pid)] = {
                "host": e.party.host,
                "address": e.party.address,
                "fate_flow": e.url,
                "data_dir": e.data_dir,
                "files": files,
            }
        return out

    def _record(self, request: UploadRequest, placed: Placement) -> None:
        files = self._placements.setdefault(placed.party_id, [])
        entry = {
            "table": f"{NAMESPACE}.{request.name}",
            "local_path": str(request.path),
            "remote_path": placed.remote_path,
            "sha256": placed.sha256,
            "rows": placed.rows,
            "bytes": placed.bytes,
            "transferred": placed.transferred,
        }
        files[:] = [f for f in files if f["remote_path"] != placed.remote_path] + [entry]

    def _write_placement(self) -> None:
        path = self.work_dir / "cluster" / "placement.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.placement(), indent=2, sort_keys=True))
        tmp.replace(path)

    # -- jobs ------------------------------------------------------------------------------
    def _require_flows(self, parties: Any) -> None:
        """Fail before submitting anything when a needed party's FATE-Flow does not answer."""
        for pid in parties:
            site_party_id(self.endpoint(pid))

    def _wait(self, job_id: str, what: str, roles: Roles) -> None:
        from tqdm import tqdm

        guest = self.client(roles.guest)
        others = [self.endpoint(p) for p in roles.all_parties() if p != roles.guest]
        misses = {e.party.party_id: 0 for e in others}
        started = last_probe = time.monotonic()
        bar = tqdm(total=None, desc=what, unit="task", disable=not self.progress, leave=False, dynamic_ncols=True)
        try:
            while True:
                try:
                    state = str(guest.job_status(job_id).get("status", "")).lower()
                except EngineError as exc:
                    raise EngineError(
                        f"FATE job {job_id} ({what}): {self.endpoint(roles.guest).not_answering()}",
                        hint="the guest schedules the job; check its service, then re-run",
                    ) from exc
                tasks = guest.tasks(job_id)
                bar.total = len({t["task_name"] for t in tasks}) or None
                bar.n = sum(1 for t in tasks if str(t.get("status")).lower() == "success")
                bar.set_postfix_str(state)
                bar.refresh()
                if state == "success":
                    return
                if state in TERMINAL_FAILURES:
                    raise self._failure(job_id, what, roles, state)
                now = time.monotonic()
                if now - last_probe >= LIVENESS_SECONDS:
                    last_probe = now
                    for endpoint in others:
                        try:
                            site_party_id(endpoint, timeout=SITE_TIMEOUT)
                            misses[endpoint.party.party_id] = 0
                        except EngineError:
                            misses[endpoint.party.party_id] += 1
                    down = [e for e in others if misses[e.party.party_id] >= LIVENESS_MISSES]
                    if down:
                        guest.stop(job_id)
                        raise self._failure(job_id, what, roles, "stopped", down=down)
                if now - started > self.job_timeout:
                    guest.stop(job_id)
                    raise EngineError(
                        f"FATE job {job_id} ({what}) did not finish within {self.job_timeout:.0f} s; "
                        "stopped.\n" + self._report(job_id, roles)[2]
                    )
                time.sleep(POLL_SECONDS)
        finally:
            bar.close()

    def _failure(
        self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[PartyEndpoint] = ()
    ) -> EngineError:
        culprit, culprit_down, report = self._report(job_id, roles, down)
        if culprit is None:
            return EngineError(f"FATE job {job_id} ({what}) {state}.\n{report}")
        e = self.endpoint(culprit)
        answering = not culprit_down
        return EngineError(
            f"FATE job {job_id} ({what}) {state} at party {culprit} "
            f"({_role_names(roles, culprit)}, inventory host {e.party.host}).\n{report}",
            hint=(
                f"full logs: 'flow job download-log -j {job_id}' against {e.url}"
                if answering
                else f"restart party {culprit}'s FATE-Flow ('systemctl restart fate-flow' on "
                f"{e.party.host}), then re-run"
            ),
        )

    def _report(self, job_id: str, roles: Roles, down: Sequence[PartyEndpoint] = ()) -> tuple[str | None, bool, str]:
        """(failing party, whether its FATE-Flow is down, text with each party's failed tasks).

        Logs come from each party's own FATE-Flow. A party whose FATE-Flow is down is blamed before
        one with a failed task: the others' tasks usually fail because that party went away.
        """
        sections: list[str] = []
        culprit: str | None = None
        culprit_down = False
        down_ids = {e.party.party_id for e in down}
        for pid in roles.all_parties():
            endpoint = self.endpoint(pid)
            if endpoint.party.party_id in down_ids:
                sections.append(f"--- {endpoint.not_answering()}; its task logs are unavailable ---")
                if not culprit_down:
                    culprit, culprit_down = pid, True
                continue
            try:
                site_party_id(endpoint)
            except EngineError as exc:
                sections.append(f"--- {exc.message}; its task logs are unavailable ---")
                if not culprit_down:
                    culprit, culprit_down = pid, True
                continue
            client = self.client(pid)
            tasks = [t for t in client.tasks(job_id) if str(t.get("party_id")) == pid]
            failed = [t for t in tasks if str(t.get("status")).lower() in TERMINAL_FAILURES]
            # A task that failed is the cause; tasks canceled or timed out after it are consequences.
            failed.sort(key=lambda t: str(t.get("status")).lower() != "failed")
            for task in failed:
                if culprit is None and str(task.get("status")).lower() == "failed":
                    culprit = pid
                log = client.task_log(job_id, task)
                sections.append(
                    f"--- task {task.get('task_name')} of {task.get('role')} {pid}: {task.get('status')} "
                    f"(log from party {pid}'s FATE-Flow at {endpoint.flow_host}:{endpoint.flow_port}) ---\n"
                    + "\n".join(log.splitlines()[-LOG_LINES:])
                )
        if not sections:
            sections.append("(no party's FATE-Flow reported a failed task; the job was stopped or timed out)")
        return culprit, culprit_down, "\n".join(sections)

    def _collect(self, job_id: str, job: HomoLRJob, started: float) -> JobResult:
        # Each party's flow reports only its own tasks' timings.
        tasks = [
            t
            for pid in job.roles.all_parties()
            for t in self.client(pid).tasks(job_id)
            if str(t.get("party_id")) == pid
        ]
        wall = time.monotonic() - started
        return collect_job_result(self.client(job.roles.guest), job_id, job, wall_s=wall, tasks=tasks)

    def close(self) -> None:
        self.remote.close()


def _role_names(roles: Roles, party: str | None) -> str:
    names = [
        n for n, ids in (("guest", [roles.guest]), ("host", roles.hosts), ("arbiter", [roles.arbiter])) if party in ids
    ]
    return "/".join(names) or "no role"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
