"""FATE 1.8 deployed by KubeFATE (docker-compose) on the inventory's hosts, one stack per party.

Data placement: each party's CSV goes only to that party's host (verified SSH, sha256, atomic
rename; :mod:`harness.hosts.ssh`), into ``<deploy_dir>/confs-<id>/shared_dir/examples/fatelab/``.
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
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from harness.engines.base import NAMESPACE, HomoLRJob, JobResult, Roles, Table, UploadRequest
from harness.engines.fate18.client import FINAL_STATES, Flow18Client
from harness.engines.fate18.mapping import (
    CONTAINER_EXAMPLES,
    MAPPING_TARGET,
    Fate18Options,
    build_study_job,
    evaluation_metrics,
    model_mapping,
    scores_from_output,
    upload_conf,
)
from harness.engines.placement import PlacementLog, check_rows
from harness.errors import ConfigError, EngineError, FatelabError, HostError, raise_collected
from harness.hosts.inventory import Cluster, Party, load_inventory
from harness.hosts.ssh import (
    DATA_GROUP_VAR,
    Placement,
    RemoteCluster,
    RemoteHost,
    SSHTarget,
    known_hosts_path,
    place_file,
)
from harness.output_pair import replace_file
from harness.progress import Progress

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

# Same values as ansible/roles/kubefate/defaults/main.yml (a test keeps them equal).
DEFAULT_DEPLOY_DIR = "/data/projects/fate"
DEFAULT_COMPOSE = "docker-compose"
DEPLOY_DIR_VAR = "kubefate_deploy_dir"
COMPOSE_VAR = "kubefate_compose_command"
FLOW_PORT_VAR = "fate_flow_http_port"
DEFAULT_FLOW_PORT = 9380
# The kubefate role makes confs-<id>/ owned by group docker; the data dir and files follow it.
DEFAULT_DATA_GROUP = "docker"
DATA_SUBDIR = "fatelab"
FATE_MAJOR_MINOR = "1.8"
POLL_SECONDS = 5.0
UPLOAD_TIMEOUT = 1800.0
JOB_TIMEOUT = 3600.0
LOG_LINES = 40
CLIENT_SERVICE = "client"


@dataclass(frozen=True)
class KubeParty:
    """One party's KubeFATE stack: its FATE-Flow and where its compose project lives on its host."""

    party: Party
    flow_host: str
    flow_port: int
    deploy_dir: str
    compose: str

    @property
    def party_id(self) -> int:
        return self.party.party_id

    @property
    def url(self) -> str:
        return f"http://{self.flow_host}:{self.flow_port}"

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

    def label(self) -> str:
        return f"party {self.party_id} (host {self.party.host})"


def parties_from_cluster(cluster: Cluster) -> dict[int, KubeParty]:
    if cluster.deployment != "kubefate":
        raise ConfigError(
            f"inventory {cluster.name!r} has fate_deployment={cluster.deployment!r}, not 'kubefate'",
            hint="the FATE 1.8 engine drives KubeFATE deployments; set fate_deployment: kubefate",
        )
    out = {}
    for p in cluster.parties:

        def var(name: str, default: Any, party: Party = p) -> Any:
            return party.vars.get(name) or cluster.vars.get(name) or default

        deploy_dir = str(var(DEPLOY_DIR_VAR, DEFAULT_DEPLOY_DIR))
        if not deploy_dir.startswith("/"):
            raise ConfigError(
                f"host {p.host} (party {p.party_id}): {DEPLOY_DIR_VAR} must be absolute, got {deploy_dir!r}"
            )
        compose = str(var(COMPOSE_VAR, DEFAULT_COMPOSE)).strip()
        if not compose:
            raise ConfigError(f"host {p.host} (party {p.party_id}): {COMPOSE_VAR} is empty")
        port = int(p.vars.get(FLOW_PORT_VAR) or DEFAULT_FLOW_PORT)
        out[p.party_id] = KubeParty(p, p.address, port, deploy_dir, compose)
    return out


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

    def stop(self, job_id: str) -> None:
        with suppress(EngineError):
            self._json("POST", "job/stop", {"job_id": job_id})


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


def _tail(text: str, lines: int = LOG_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class KubeFate18Engine:
    """FATE 1.8 with one KubeFATE docker-compose stack per party on the inventory's hosts."""

    name = "fate-1.8-kubefate"

    def __init__(
        self,
        cluster: Cluster,
        inventory_path: Path,
        *,
        work_dir: Path,
        options: Fate18Options | None = None,
        progress: bool | Progress = True,
        remote: RemoteCluster | None = None,
        poll: float = POLL_SECONDS,
        upload_timeout: float = UPLOAD_TIMEOUT,
        job_timeout: float = JOB_TIMEOUT,
    ) -> None:
        self.cluster = cluster
        self.inventory_path = Path(inventory_path)
        self.work_dir = Path(work_dir)
        self.options = options or Fate18Options()
        self.progress = Progress.of(progress)
        self.poll = poll
        self.upload_timeout = upload_timeout
        self.job_timeout = job_timeout
        self.parties = parties_from_cluster(cluster)
        if remote is None:
            base = self.inventory_path.resolve().parent
            group = cluster.vars.get(DATA_GROUP_VAR) or DEFAULT_DATA_GROUP
            remote = RemoteCluster(
                [SSHTarget.from_party(p, base_dir=base) for p in cluster.parties],
                known_hosts_path(cluster, self.inventory_path),
                group=str(group),
            )
        self.remote = remote
        self._clients: dict[int, PartyFlow] = {}
        self._versions: dict[int, str] = {}
        self._placements = PlacementLog(self.work_dir / "kubefate18" / "placement.json", NAMESPACE)
        self._homo_lr: dict[str, Any] | None = None  # what the first job really ran, for the report

    @classmethod
    def from_inventory(
        cls,
        path: str | Path,
        work_dir: str | Path,
        *,
        options: Fate18Options | None = None,
        progress: bool | Progress = True,
    ) -> KubeFate18Engine:
        return cls(load_inventory(path), Path(path), work_dir=Path(work_dir), options=options, progress=progress)

    # -- lookups ---------------------------------------------------------------------------
    def kparty(self, party_id: str | int) -> KubeParty:
        try:
            return self.parties[int(party_id)]
        except (KeyError, ValueError):
            raise ConfigError(
                f"party {party_id} is not in inventory {self.inventory_path} (parties: {sorted(self.parties)})",
                hint="the study's roles must use the inventory's party_id values",
            ) from None

    def client(self, party_id: str | int) -> PartyFlow:
        kp = self.kparty(party_id)
        if kp.party_id not in self._clients:
            self._clients[kp.party_id] = PartyFlow(kp.flow_host, kp.flow_port, timeout=30.0)
        return self._clients[kp.party_id]

    # -- Engine ----------------------------------------------------------------------------
    def start(self) -> None:
        """Every host verified over SSH with its compose project in place, every FATE-Flow answering as 1.8."""
        try:
            self.remote.preflight()
            self._check_projects(list(self.parties))
        finally:
            self.remote.close()
        self._check_flows(list(self.parties))

    def flow_clients(self) -> dict[str, Any]:
        """None: FATE 1.8 jobs are not in the run ledger (its REST API stops a job per role and party);
        an interrupted run still stops its jobs through run_many's own clean-up."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inventory": str(self.inventory_path.resolve()),
            "known_hosts": str(self.remote.known_hosts),
            "options": dataclasses.asdict(self.options),
            # The report's model section is model_mapping(); this is the first job's conf as submitted.
            "homo_lr_0_conf": self._homo_lr or "no job run yet",
            "endpoints": {
                str(pid): {
                    "host": kp.party.host,
                    "fate_flow": kp.url,
                    "fate_version": self._versions.get(pid, "not checked"),
                    "ssh": f"{self.remote.targets[pid].user}@{kp.party.address}:{self.remote.targets[pid].port}",
                    "compose_project": kp.confs_dir,
                    "data_dir": kp.data_dir,
                    "container_data_dir": str(kp.container_dir),
                }
                for pid, kp in self.parties.items()
            },
        }

    def model_mapping(self, config: StudyConfig, max_rows: int) -> tuple[str, dict[str, str], list[str]]:
        """How the study's settings map onto FATE 1.8 HomoLR with this engine's options, for the report."""
        mapping, caveats = model_mapping(config.model, self.options, max_rows=max_rows)
        return MAPPING_TARGET, mapping, caveats

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Place each CSV on its own party's host, then ``flow data upload`` it in that party's client container."""
        parties = list(dict.fromkeys(self.kparty(r.party_id).party_id for r in requests))
        try:
            # Every host verified (HostError) and every FATE-Flow answering (EngineError) before any copy.
            self.remote.preflight()
            self._check_projects(parties)
            self._check_flows(parties)
            placements = self.remote.place_many(
                [(int(r.party_id), r.path) for r in requests],
                {pid: self.parties[pid].data_dir for pid in parties},
                progress=self.progress is Progress.BAR,
            )
            for request, placed in zip(requests, placements, strict=True):
                check_rows(request, placed)
            by_party: dict[int, list[tuple[UploadRequest, Placement]]] = {}
            for request, placed in zip(requests, placements, strict=True):
                by_party.setdefault(int(request.party_id), []).append((request, placed))

            def upload(pid: int) -> FatelabError | None:
                try:
                    for request, placed in by_party[pid]:
                        self._placements.record(
                            request,
                            placed,
                            container_path=str(self.parties[pid].container_dir / Path(placed.remote_path).name),
                            uploaded=self._upload_one(request, placed),
                        )
                except FatelabError as exc:
                    return exc
                return None

            with ThreadPoolExecutor(max_workers=len(by_party) or 1) as pool:
                errors = [e for e in pool.map(upload, by_party) if e is not None]
        finally:
            self.remote.close()
            self._placements.write(self._party_info)
        raise_collected(errors)
        return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, HomoLRJob]]) -> list[JobResult]:
        """Build every job first (bad settings fail before anything is submitted), submit all, wait in order."""
        built = [(what, job, *build_study_job(job, self.options)) for what, job in jobs]
        for _, job, _, _ in built:
            self._check_flows(job.roles.all_parties())
        if built:
            self._homo_lr = built[0][3]["component_parameters"]["common"]["homo_lr_0"]
        submitted = []
        for what, job, dsl, conf in built:
            job_id = self.client(job.roles.guest).submit(dsl, conf).job_id
            submitted.append((what, job, job_id, time.monotonic()))
        results = []
        for index, (what, job, job_id, started) in enumerate(submitted):
            try:
                record = self._wait_job(job_id, what, job.roles)
            except EngineError:
                for _, later, later_id, _ in submitted[index + 1 :]:
                    self.client(later.roles.guest).stop(later_id)
                raise
            results.append(self._collect(job_id, job, record, started))
        return results

    # -- placement record ------------------------------------------------------------------
    def placement(self) -> dict[str, Any]:
        """Where every party's files went (JSON-able, keyed by party id) for results.json."""
        return self._placements.as_dict(self._party_info)

    def _party_info(self, pid: int) -> dict[str, Any]:
        kp = self.parties[pid]
        return {
            "host": kp.party.host,
            "address": kp.party.address,
            "fate_flow": kp.url,
            "data_dir": kp.data_dir,
            "container_data_dir": str(kp.container_dir),
        }

    def _check_projects(self, parties: Iterable[int]) -> None:
        """Each host holds its party's compose project and the compose command (hosts already verified)."""
        errors = []
        for pid in parties:
            kp = self.parties[pid]
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
                errors.append(f"{kp.label()}: checking {kp.confs_dir} failed: {_tail(err or out, 5)}")
        if errors:
            raise HostError("\n".join(errors), hint="nothing was copied; fix the hosts named above and re-run")

    def _check_flows(self, parties: Iterable[str | int]) -> None:
        """Each party's FATE-Flow answers /v1/version/get with FATE 1.8; one error naming every party that does not."""
        pids = list(dict.fromkeys(self.kparty(p).party_id for p in parties))

        def check(pid: int) -> str | None:
            kp = self.parties[pid]
            try:
                version = self.client(pid).version()
            except EngineError as exc:
                return f"{kp.label()}: FATE-Flow at {kp.url} is not answering ({exc.message})"
            if not version.startswith(FATE_MAJOR_MINOR):
                return f"{kp.label()}: FATE-Flow at {kp.url} runs FATE {version or '?'}, not {FATE_MAJOR_MINOR}"
            self._versions[pid] = version
            return None

        with ThreadPoolExecutor(max_workers=len(pids) or 1) as pool:
            errors = [e for e in pool.map(check, pids) if e is not None]
        if errors:
            raise EngineError(
                "\n".join(errors),
                hint="on the host: 'docker-compose ps' in confs-<id>/ (python must be Up). The kubefate role "
                "publishes FATE-Flow on 127.0.0.1 unless kubefate_admin_bind_address is the host's address: set it "
                "per host and put this machine in fate_admin_network, then 'make cluster' again",
            )

    # -- upload ----------------------------------------------------------------------------
    def _upload_one(self, request: UploadRequest, placed: Placement) -> bool:
        """Upload one placed CSV unless its table is already there whole; True when it was uploaded."""
        kp = self.parties[int(request.party_id)]
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
            detail = reply.get("retmsg") or _tail(err or out, 10) or f"exit status {code}"
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

    # -- jobs ------------------------------------------------------------------------------
    def _wait_job(self, job_id: str, what: str, roles: Roles) -> dict[str, Any]:
        guest = self.client(roles.guest)
        started = time.monotonic()
        while True:
            record = guest.job_record(job_id, "guest", int(roles.guest))
            status = str(record.get("f_status", ""))
            if status == "success":
                return record
            if status in FINAL_STATES:
                raise self._failure(job_id, what, roles, status)
            if time.monotonic() - started > self.job_timeout:
                guest.stop(job_id)
                raise self._failure(job_id, what, roles, f"still {status} after {self.job_timeout:.0f} s; stopped")
            time.sleep(self.poll)

    def _failure(self, job_id: str, what: str, roles: Roles, status: str) -> EngineError:
        """Name the party whose task failed and carry its log tail, read from that party's own FATE-Flow."""
        sections: list[str] = []
        culprit: tuple[str, str] | None = None
        role_parties = [("guest", roles.guest), *(("host", h) for h in roles.hosts), ("arbiter", roles.arbiter)]
        for role, pid in role_parties:
            client, kp = self.client(pid), self.kparty(pid)
            try:
                tasks = client.tasks(job_id, role, int(pid))
            except EngineError:
                continue  # this party's FATE-Flow has no record of the job (it never got that far)
            failed = [str(t.get("f_component_name")) for t in tasks if t.get("f_status") == "failed"]
            if not failed:
                continue
            culprit = culprit or (role, pid)
            try:
                log = client.error_log(job_id, role, int(pid), lines=LOG_LINES) or "(empty log)"
            except EngineError as exc:
                log = f"(log unavailable: {exc.message})"
            sections.append(
                f"--- {role} {pid}: failed in {', '.join(failed)}; log tail from its FATE-Flow at {kp.url} ---\n{log}"
            )
        if culprit is None:
            guest = self.kparty(roles.guest)
            try:
                log = self.client(roles.guest).error_log(job_id, "guest", int(roles.guest), lines=LOG_LINES)
            except EngineError as exc:
                log = f"(log unavailable: {exc.message})"
            sections.append(
                f"--- guest {roles.guest}: log tail from its FATE-Flow at {guest.url} ---\n{log or '(empty)'}"
            )
            where = ""
        else:
            where = f" at party {culprit[1]} ({culprit[0]}, inventory host {self.kparty(culprit[1]).party.host})"
        blamed = self.kparty(culprit[1] if culprit else roles.guest)
        return EngineError(
            f"FATE job {job_id} ({what}) ended {status}{where}.\n" + "\n".join(sections),
            hint=f"full logs: 'flow job log -j {job_id} -o /tmp' in party {blamed.party_id}'s client container "
            f"({blamed.compose_argv('exec', CLIENT_SERVICE, 'bash')} on {blamed.party.host})",
        )

    def _collect(self, job_id: str, job: HomoLRJob, record: dict[str, Any], started: float) -> JobResult:
        guest = self.client(job.roles.guest)
        g = int(job.roles.guest)
        scores = scores_from_output(guest.output_data(job_id, "homo_lr_0", "guest", g), id_column=job.id_column)
        metrics = evaluation_metrics(guest.summary(job_id, "evaluation_0", "guest", g))
        tasks = guest.tasks(job_id, "guest", g)
        elapsed = record.get("f_elapsed")
        return JobResult(
            job_id=job_id,
            scores=scores,
            fate_metrics=metrics,
            # FATE's own elapsed excludes time queued behind other jobs; fall back to our clock.
            wall_s=float(elapsed) / 1000.0 if elapsed else time.monotonic() - started,
            task_seconds={
                f"{t.get('f_component_name')}@guest:{g}": float(t.get("f_elapsed") or 0) / 1000.0 for t in tasks
            },
        )

    def close(self) -> None:
        self.remote.close()
