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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engines.base import NAMESPACE, HomoLRJob, JobResult, Roles, Table, UploadRequest
from harness.engines.fate22 import TERMINAL_FAILURES, FlowRestClient, upload_tables
from harness.engines.fate22_jobs import Watch, run_jobs
from harness.engines.placement import PlacementLog, check_rows
from harness.engines.upload_records import UploadRecords
from harness.errors import ConfigError, EngineError, FatelabError, raise_collected
from harness.inventory import Cluster, Party, load_inventory
from harness.progress import Progress
from harness.remote import RemoteCluster

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
        progress: bool | Progress = True,
        remote: RemoteCluster | None = None,
        job_timeout: float = JOB_TIMEOUT,
    ) -> None:
        self.cluster = cluster
        self.inventory_path = Path(inventory_path)
        self.work_dir = Path(work_dir)
        self.progress = Progress.of(progress)
        self.job_timeout = job_timeout
        self.endpoints = endpoints_from_cluster(cluster)
        self.remote = remote or RemoteCluster.from_inventory(cluster, self.inventory_path)
        self._clients: dict[int, FlowRestClient] = {}
        self._placements = PlacementLog(self.work_dir / "cluster" / "placement.json", NAMESPACE)
        self.upload_records = UploadRecords(self.work_dir / "cluster" / "uploads.json")

    @classmethod
    def from_inventory(
        cls, path: str | Path, work_dir: str | Path, progress: bool | Progress = True
    ) -> ClusterEngine:
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

    def flow_clients(self) -> dict[str, FlowRestClient]:
        """Every party's FATE-Flow, by endpoint."""
        clients = (self.client(pid) for pid in self.endpoints)
        return {c.endpoint: c for c in clients}

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
            placements = self.remote.place_many(items, dirs, progress=self.progress is Progress.BAR)
        finally:
            self.remote.close()
        for request, placed in zip(requests, placements, strict=True):
            check_rows(request, placed)
            self._placements.record(request, placed)
        self._placements.write(self._party_info)

        by_party: dict[int, list[UploadRequest]] = {}
        for request, placed in zip(requests, placements, strict=True):
            # FATE-Flow reads the file on its own host: hand it the placed path, not the local one.
            remote_request = dataclasses.replace(request, path=Path(placed.remote_path))
            by_party.setdefault(int(request.party_id), []).append(remote_request)

        def upload(pid: int) -> FatelabError | None:
            try:
                upload_tables(
                    self.client(pid), by_party[pid], progress=self.progress.without_bars(), records=self.upload_records
                )
            except FatelabError as exc:
                try:
                    site_party_id(self.endpoint(pid))
                except EngineError as down:
                    return EngineError(f"upload into party {pid} failed: {down.message}", hint=down.hint)
                return EngineError(f"upload into party {pid}'s FATE-Flow failed: {exc.message}", hint=exc.hint)
            return None

        with ThreadPoolExecutor(max_workers=len(by_party) or 1) as pool:
            errors = [e for e in pool.map(upload, by_party) if e is not None]
        raise_collected(errors)
        return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, HomoLRJob]]) -> list[JobResult]:
        """Submit every job to its guest's FATE-Flow, then wait for each in order."""
        return run_jobs(
            PartyFlows(self), jobs, progress=self.progress, timeout=self.job_timeout, poll_seconds=POLL_SECONDS
        )

    # -- placement record ------------------------------------------------------------------
    def placement(self) -> dict[str, Any]:
        """Where every party's files went (JSON-able, keyed by party id) for results.json."""
        return self._placements.as_dict(self._party_info)

    def _party_info(self, pid: int) -> dict[str, Any]:
        e = self.endpoints[pid]
        return {"host": e.party.host, "address": e.party.address, "fate_flow": e.url, "data_dir": e.data_dir}

    # -- flows -----------------------------------------------------------------------------
    def _require_flows(self, parties: Any) -> None:
        """Fail before submitting anything when a needed party's FATE-Flow does not answer."""
        for pid in parties:
            site_party_id(self.endpoint(pid))

    def close(self) -> None:
        self.remote.close()


class PartyFlows:
    """The cluster's side of the shared job loop (a ``JobSite``): one FATE-Flow per party.

    The guest's FATE-Flow schedules the job; the other parties' FATE-Flows are probed while it
    runs, because FATE itself would wait days for a party that went away. Task logs are read from
    the FATE-Flow of the party that ran the task.
    """

    def __init__(self, engine: ClusterEngine) -> None:
        self.engine = engine

    def guest(self, roles: Roles) -> FlowRestClient:
        return self.engine.client(roles.guest)

    def before_submit(self, roles: Roles) -> None:
        self.engine._require_flows(roles.all_parties())

    def watch(self, roles: Roles) -> Watch:
        others = {p: self.engine.endpoint(p) for p in roles.all_parties() if p != roles.guest}
        return liveness_watch(others)

    def failure(self, job_id: str, what: str, roles: Roles, state: str, down: Sequence[str]) -> EngineError:
        culprit, culprit_down, report = self.report(job_id, roles, down)
        if culprit is None:
            return EngineError(f"FATE job {job_id} ({what}) {state}.\n{report}")
        e = self.engine.endpoint(culprit)
        return EngineError(
            f"FATE job {job_id} ({what}) {state} at party {culprit} "
            f"({_role_names(roles, culprit)}, inventory host {e.party.host}).\n{report}",
            hint=(
                f"restart party {culprit}'s FATE-Flow ('systemctl restart fate-flow' on "
                f"{e.party.host}), then re-run"
                if culprit_down
                else f"full logs: 'flow job download-log -j {job_id}' against {e.url}"
            ),
        )

    def report(self, job_id: str, roles: Roles, down: Sequence[str] = ()) -> tuple[str | None, bool, str]:
        """(failing party, whether its FATE-Flow is down, text with each party's failed tasks).

        Logs come from each party's own FATE-Flow. A party whose FATE-Flow is down is blamed before
        one with a failed task: the others' tasks usually fail because that party went away.
        """
        sections: list[str] = []
        culprit: str | None = None
        culprit_down = False
        down_ids = {self.engine.endpoint(p).party.party_id for p in down}
        for pid in roles.all_parties():
            endpoint = self.engine.endpoint(pid)
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
            client = self.engine.client(pid)
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

    def task_records(self, job_id: str, roles: Roles) -> list[dict[str, Any]]:
        # Each party's FATE-Flow reports only its own tasks' timings.
        return [
            t
            for pid in roles.all_parties()
            for t in self.engine.client(pid).tasks(job_id)
            if str(t.get("party_id")) == pid
        ]


def liveness_watch(
    endpoints: Mapping[str, PartyEndpoint],
    *,
    probe: Callable[[PartyEndpoint], object] = lambda e: site_party_id(e, timeout=SITE_TIMEOUT),
    clock: Callable[[], float] = time.monotonic,
) -> Watch:
    """Parties whose FATE-Flow missed LIVENESS_MISSES probes in a row (at most one probe per LIVENESS_SECONDS)."""
    misses = dict.fromkeys(endpoints, 0)
    last_probe = clock()

    def down() -> list[str]:
        nonlocal last_probe
        now = clock()
        if now - last_probe < LIVENESS_SECONDS:
            return []
        last_probe = now
        for pid, endpoint in endpoints.items():
            try:
                probe(endpoint)
                misses[pid] = 0
            except EngineError:
                misses[pid] += 1
        return [pid for pid, missed in misses.items() if missed >= LIVENESS_MISSES]

    return down


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
