"""FATE 1.8 deployed by KubeFATE (docker-compose) on the inventory's hosts, one stack per party.

Data placement: each party's CSV goes only to that party's host (verified SSH, sha256, atomic
rename; :mod:`harness.hosts.transfer`), into ``<deploy_dir>/confs-<id>/shared_dir/examples/fatelab/``.
KubeFATE's compose file bind-mounts ``shared_dir/examples`` at ``/data/projects/fate/examples`` in
the party's ``client`` container (and its ``python`` container), so the file is visible there
without a ``docker cp``. The upload itself runs where a KubeFATE user runs it: ``flow data upload``
inside that party's client container (``docker-compose exec -T client`` in ``confs-<id>/``, which
works for compose v1 and v2 container names alike). The upload job is then followed through that
party's FATE-Flow REST API, like every job: submitted to the guest's FATE-Flow, polled, and its
metrics and test scores read back. A failed job is reported with the failing party's log tail,
fetched from that party's own FATE-Flow (job logs stay on the party that ran the task).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from harness.engines.base import NAMESPACE, FitJob, JobResult, ModelMapping, Table, UploadRequest
from harness.engines.fate18.client import Flow18Client
from harness.engines.fate18.jobs import Flow18Jobs
from harness.engines.fate18.mapping import CONTAINER_EXAMPLES, Fate18Options, model_mapping, upload_conf
from harness.engines.jobs import Pace, run_jobs, tail
from harness.engines.parties import (
    HostsEngine,
    PartyEndpoint,
    PartyMap,
    absolute_dir,
    each_party,
    in_parallel,
    party_map,
    party_var,
)
from harness.engines.placement import check_rows
from harness.errors import ConfigError, EngineError, FatelabError, HostError
from harness.hosts.inventory import Cluster, Party
from harness.hosts.ssh import RemoteHost
from harness.hosts.transfer import Placement, place_file
from harness.output_pair import replace_file
from harness.progress import Progress

# Same values as ansible/roles/kubefate/defaults/main.yml (a test keeps them equal).
DEFAULT_DEPLOY_DIR = "/data/projects/fate"
DEFAULT_COMPOSE = "docker-compose"
DEPLOY_DIR_VAR = "kubefate_deploy_dir"
COMPOSE_VAR = "kubefate_compose_command"
# The kubefate role makes confs-<id>/ owned by group docker; the data dir and files follow it.
DEFAULT_DATA_GROUP = "docker"
DATA_SUBDIR = "fatelab"
FATE_MAJOR_MINOR = "1.8"
POLL_SECONDS = 5.0
UPLOAD_TIMEOUT = 1800.0
CLIENT_SERVICE = "client"


@dataclass(frozen=True)
class KubeParty(PartyEndpoint):
    """One party's KubeFATE stack: its FATE-Flow and where its compose project lives on its host."""

    deploy_dir: str
    compose: str

    @property
    def confs_dir(self) -> str:
        return str(PurePosixPath(self.deploy_dir) / f"confs-{self.party_id}")

    @property
    def data_dir(self) -> str:
        """Host directory, inside the bind mount the client container sees."""
        return str(PurePosixPath(self.confs_dir) / "shared_dir" / "examples" / DATA_SUBDIR)

    @property
    def container_dir(self) -> PurePosixPath:
        return CONTAINER_EXAMPLES / DATA_SUBDIR

    def compose_argv(self, *args: str) -> str:
        """``cd confs-<id> && <compose> args...`` with every word quoted (compose may be 'docker compose')."""
        words = [*shlex.split(self.compose), *args]
        return f"cd {shlex.quote(self.confs_dir)} && " + " ".join(shlex.quote(w) for w in words)


def parties_from_cluster(cluster: Cluster, inventory_path: Path) -> PartyMap[KubeParty]:
    if cluster.deployment != "kubefate":
        raise ConfigError(
            f"inventory {cluster.name!r} has fate_deployment={cluster.deployment!r}, not 'kubefate'",
            hint="the FATE 1.8 engine drives KubeFATE deployments; set fate_deployment: kubefate",
        )

    def endpoint(p: Party, flow_host: str, flow_port: int) -> KubeParty:
        deploy_dir = absolute_dir(cluster, p, DEPLOY_DIR_VAR, DEFAULT_DEPLOY_DIR)
        compose = str(party_var(cluster, p, COMPOSE_VAR, DEFAULT_COMPOSE)).strip()
        if not compose:
            raise ConfigError(f"host {p.host} (party {p.party_id}): {COMPOSE_VAR} is empty")
        return KubeParty(p, flow_host, flow_port, deploy_dir, compose)

    return party_map(cluster, inventory_path, endpoint)


class PartyFlow(Flow18Client):
    """One party's FATE-Flow 1.8, plus the table and job calls the engine needs beyond fate18's."""

    def table_rows(self, namespace: str, name: str) -> int | None:
        """Row count of a stored table, None when FATE-Flow does not have it."""
        data = self._json("POST", "table/table_info", {"table_name": name, "namespace": namespace}).get("data") or {}
        # FATE-Flow 1.8 answers a missing table with count 0 (and exist 0 where it reports exist).
        if not data.get("exist", 1) or not data.get("count"):
            return None
        return int(data["count"])

    def delete_table(self, namespace: str, name: str) -> None:
        with suppress(EngineError):  # retcode 101: nothing to delete
            self._json("POST", "table/delete", {"table_name": name, "namespace": namespace})


def flow_reply(stdout: str) -> dict[str, Any]:
    """The JSON the ``flow`` CLI prints (it may follow progress text); {} when there is none."""
    start = stdout.find("{")
    if start < 0:
        return {}
    try:
        reply, _ = json.JSONDecoder().raw_decode(stdout[start:])
    except json.JSONDecodeError:
        return {}
    return reply if isinstance(reply, dict) else {}


class KubeFate18Engine(HostsEngine[KubeParty]):
    """FATE 1.8 with one KubeFATE docker-compose stack per party on the inventory's hosts."""

    name = "fate-1.8-kubefate"
    kind = "kubefate18"
    default_group = DEFAULT_DATA_GROUP
    parties_of = staticmethod(parties_from_cluster)

    def __init__(
        self,
        *inventory: Any,
        options: Fate18Options | None = None,
        poll: float = POLL_SECONDS,
        upload_timeout: float = UPLOAD_TIMEOUT,
        **common: Any,
    ) -> None:
        """``inventory`` and ``common``: as :class:`HostsEngine`'s (cluster, its path, work_dir, ...)."""
        super().__init__(*inventory, **common)
        self.options = options or Fate18Options()
        self.poll = poll
        self.upload_timeout = upload_timeout
        self._clients: dict[str, PartyFlow] = {}
        self._versions: dict[str, str] = {}
        self._homo_lr: dict[str, Any] | None = None  # what the first job really ran, for the report

    # -- lookups ---------------------------------------------------------------------------
    def client(self, party_id: str) -> PartyFlow:
        kp = self.endpoint(party_id)
        if kp.party_id not in self._clients:
            self._clients[kp.party_id] = PartyFlow(kp.flow_host, kp.flow_port, timeout=30.0)
        return self._clients[kp.party_id]

    def client_shell_hint(self, party_id: str) -> str:
        kp = self.endpoint(party_id)
        return f"{kp.compose_argv('exec', CLIENT_SERVICE, 'bash')} on {kp.party.host}"

    # -- Engine ----------------------------------------------------------------------------
    def start(self) -> None:
        """Every host verified over SSH with its compose project in place, every FATE-Flow answering as 1.8."""
        try:
            self.remote.preflight()
            self._check_projects(self.endpoints.ids())
        finally:
            self.remote.close()
        self.check_flows(self.endpoints.ids())

    def flow_clients(self) -> dict[str, Any]:
        """None: FATE 1.8 jobs are not in the run ledger (its REST API stops a job per role and party);
        an interrupted run still stops its jobs through the shared job loop's clean-up."""
        return {}

    def describe(self) -> dict[str, Any]:
        return self.describe_hosts() | {
            "options": dataclasses.asdict(self.options),
            # The report's model section is model_mapping(); this is the first job's conf as submitted.
            "homo_lr_0_conf": self._homo_lr or "no job run yet",
            "endpoints": {
                kp.party_id: {
                    "host": kp.party.host,
                    "fate_flow": kp.url,
                    "fate_version": self._versions.get(kp.party_id, "not checked"),
                    "ssh": self.ssh_line(kp),
                    "compose_project": kp.confs_dir,
                    "data_dir": kp.data_dir,
                    "container_data_dir": str(kp.container_dir),
                }
                for kp in self.endpoints.values()
            },
        }

    def validation(self) -> None:
        return None

    def model_mapping(self, job: FitJob) -> ModelMapping:
        """How the fit's settings map onto FATE 1.8 HomoLR with this engine's options, for the report."""
        return model_mapping(job, self.options)

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Place each CSV on its own party's host, then ``flow data upload`` it in that party's client container."""
        parties = list(dict.fromkeys(self.endpoint(r.party_id).party_id for r in requests))
        try:
            # Every host verified (HostError) and every FATE-Flow answering (EngineError) before any copy.
            self.remote.preflight()
            self._check_projects(parties)
            self.check_flows(parties)
            placements = self.remote.place_many(
                [(self.endpoint(r.party_id).party_id, r.path) for r in requests],
                {pid: self.endpoint(pid).data_dir for pid in parties},
                progress=self.progress is Progress.BAR,
            )
            for request, placed in zip(requests, placements, strict=True):
                check_rows(request, placed)
            by_party: dict[str, list[tuple[UploadRequest, Placement]]] = {}
            for request, placed in zip(requests, placements, strict=True):
                by_party.setdefault(placed.party_id, []).append((request, placed))

            def upload(pid: str) -> None:
                for request, placed in by_party[pid]:
                    self._placements.record(
                        request,
                        placed,
                        container_path=str(self.endpoint(pid).container_dir / Path(placed.remote_path).name),
                        uploaded=self._upload_one(request, placed),
                    )

            each_party(by_party, upload)
        finally:
            self.remote.close()
            self._placements.write(self.party_info)
        return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, FitJob]]) -> list[JobResult]:
        """Build every job first (bad settings fail before anything is submitted), submit all, wait in order."""
        backend = Flow18Jobs(self, jobs)
        for _, job in jobs:
            self.check_flows(job.roles.all_parties())
        self._homo_lr = backend.first_conf() or self._homo_lr
        pace = Pace(timeout=self.job_timeout, poll_seconds=self.poll)
        return run_jobs(backend, jobs, progress=self.progress, pace=pace)

    def party_info(self, party_id: str) -> dict[str, Any]:
        kp = self.endpoint(party_id)
        return super().party_info(party_id) | {"data_dir": kp.data_dir, "container_data_dir": str(kp.container_dir)}

    def _check_projects(self, parties: Iterable[str]) -> None:
        """Each host holds its party's compose project and the compose command (hosts already verified)."""
        errors = []
        for pid in parties:
            kp = self.endpoint(pid)
            compose_file = shlex.quote(str(PurePosixPath(kp.confs_dir) / "docker-compose.yml"))
            program = shlex.quote(shlex.split(kp.compose)[0])
            code, out, err = self.remote.host(pid).run(
                f"test -f {compose_file} || {{ echo missing-project; exit 1; }}; "
                f"command -v {program} >/dev/null || {{ echo missing-compose; exit 1; }}",
                check=False,
                timeout=30,
            )
            if code == 0:
                continue
            if "missing-project" in out:
                errors.append(
                    f"{kp.label()}: no KubeFATE compose project at {kp.confs_dir} "
                    f"(deploy with 'make cluster', or set {DEPLOY_DIR_VAR} to where it is)"
                )
            elif "missing-compose" in out:
                errors.append(f"{kp.label()}: {kp.compose!r} is not installed for the SSH user (set {COMPOSE_VAR})")
            else:
                errors.append(f"{kp.label()}: checking {kp.confs_dir} failed: {tail(err or out, 5)}")
        if errors:
            raise HostError("\n".join(errors), hint="nothing was copied; fix the hosts named above and re-run")

    def check_flows(self, parties: Iterable[str]) -> None:
        """Each party's FATE-Flow answers /v1/version/get with FATE 1.8; one error naming every party that does not."""

        def check(pid: str) -> FatelabError | None:
            kp = self.endpoint(pid)
            try:
                version = self.client(pid).version()
            except EngineError as exc:
                return EngineError(f"{kp.label()}: FATE-Flow at {kp.url} is not answering ({exc.message})")
            if not version.startswith(FATE_MAJOR_MINOR):
                return EngineError(
                    f"{kp.label()}: FATE-Flow at {kp.url} runs FATE {version or '?'}, not {FATE_MAJOR_MINOR}"
                )
            self._versions[pid] = version
            return None

        errors = in_parallel([self.endpoint(p).party_id for p in parties], check)
        if errors:
            raise EngineError(
                "\n".join(e.message for e in errors),
                hint="on the host: 'docker-compose ps' in confs-<id>/ (python must be Up). The kubefate role "
                "publishes FATE-Flow on 127.0.0.1 unless kubefate_admin_bind_address is the host's address: set it "
                "per host and put this machine in fate_admin_network, then 'make cluster' again",
            )

    # -- upload ----------------------------------------------------------------------------
    def _upload_one(self, request: UploadRequest, placed: Placement) -> bool:
        """Upload one placed CSV unless its table is already there whole; True when it was uploaded."""
        kp = self.endpoint(request.party_id)
        client = self.client(kp.party_id)
        if client.table_rows(NAMESPACE, request.name) == request.rows:
            return False
        host = self.remote.host(kp.party_id)
        container_csv = kp.container_dir / PurePosixPath(placed.remote_path).name
        conf_path = self._conf_file(kp, request.name, upload_conf(container_csv, request.name, NAMESPACE))
        place_file(host, conf_path, kp.data_dir, group=self.remote.group)
        command = kp.compose_argv(
            "exec",
            "-T",
            CLIENT_SERVICE,
            "flow",
            "data",
            "upload",
            "-c",
            str(kp.container_dir / conf_path.name),
            "--drop",
        )
        what = f"upload of {Path(placed.remote_path).name} as table {NAMESPACE}.{request.name} into {kp.label()}"
        code, out, err = self._run(host, command)
        reply = flow_reply(out)
        if code != 0 or reply.get("retcode") != 0 or "jobId" not in reply:
            detail = reply.get("retmsg") or tail(err or out, 10) or f"exit status {code}"
            raise EngineError(
                f"{what} failed: 'flow data upload' in the {CLIENT_SERVICE} container said: {detail}",
                hint=f"on {kp.party.host}: {kp.compose_argv('ps')} (the {CLIENT_SERVICE} service must be Up)",
            )
        job_id = str(reply["jobId"])
        try:
            client.wait(job_id, "local", 0, timeout=self.upload_timeout, poll=self.poll)
            rows = client.table_rows(NAMESPACE, request.name)
            if rows != request.rows:
                raise EngineError(f"upload job {job_id} stored {rows} rows, expected {request.rows}")
        except EngineError as exc:
            # Nothing half-uploaded may stay under a content-addressed name a re-run would trust.
            client.stop(job_id)
            client.delete_table(NAMESPACE, request.name)
            raise EngineError(f"{what} failed: {exc.message}", hint=exc.hint) from exc
        return True

    def _conf_file(self, kp: KubeParty, table: str, conf: dict[str, Any]) -> Path:
        path = self.work_dir / "kubefate18" / "upload-confs" / str(kp.party_id) / f"{table}.upload.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(conf, indent=2, sort_keys=True) + "\n")
        return path

    def _run(self, host: RemoteHost, command: str) -> tuple[int, str, str]:
        return host.run(command, timeout=self.upload_timeout, check=False)
