"""What both engines on the inventory's hosts share: one FATE-Flow per party, data placed over SSH.

FATE 2.2 on hosts (``engines/fate22/hosts.py``) and FATE 1.8 on KubeFATE (``engines/fate18/kubefate.py``)
differ in how a placed file reaches FATE and in the FATE-Flow they talk to; where a party's
FATE-Flow listens, how a party id from the study is looked up, how per-party work runs in parallel
and how a failure names its party are the same, and live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from harness.engines.base import NAMESPACE, Roles
from harness.engines.jobs import JOB_TIMEOUT
from harness.engines.placement import PlacementLog
from harness.errors import ConfigError, FatelabError, raise_collected
from harness.hosts.inventory import Cluster, Party, load_inventory
from harness.hosts.ssh import DEFAULT_DATA_GROUP
from harness.hosts.transfer import RemoteCluster
from harness.progress import Progress

DEFAULT_FLOW_PORT = 9380
FLOW_PORT_VAR = "fate_flow_http_port"


@dataclass(frozen=True)
class PartyEndpoint:
    """Where one party's FATE-Flow listens."""

    party: Party
    flow_host: str
    flow_port: int

    @property
    def party_id(self) -> str:
        return str(self.party.party_id)

    @property
    def url(self) -> str:
        return f"http://{self.flow_host}:{self.flow_port}"

    def label(self) -> str:
        return f"party {self.party_id} (host {self.party.host})"

    def not_answering(self, reason: str = "") -> str:
        detail = f" ({reason})" if reason else ""
        return f"party {self.party_id}'s FATE-Flow at {self.flow_host}:{self.flow_port} is not answering{detail}"


def party_var(cluster: Cluster, party: Party, name: str, default: Any) -> Any:
    """A variable of the party's host, else of the inventory, else ``default``."""
    return party.vars.get(name) or cluster.vars.get(name) or default


def absolute_dir(cluster: Cluster, party: Party, name: str, default: str) -> str:
    """A directory variable of the party (see :func:`party_var`), refused unless absolute."""
    path = str(party_var(cluster, party, name, default))
    if not path.startswith("/"):
        raise ConfigError(f"host {party.host} (party {party.party_id}): {name} must be absolute, got {path!r}")
    return path


def flow_port(party: Party) -> int:
    return int(party.vars.get(FLOW_PORT_VAR) or DEFAULT_FLOW_PORT)


E = TypeVar("E", bound=PartyEndpoint)


class PartyMap(Generic[E]):
    """The inventory's parties by id (a string, as everywhere in the harness)."""

    def __init__(self, endpoints: Iterable[E], inventory_path: Path) -> None:
        self.by_id = {e.party_id: e for e in endpoints}
        self.inventory_path = inventory_path

    def __getitem__(self, party_id: str) -> E:
        try:
            return self.by_id[str(party_id)]
        except KeyError:
            raise ConfigError(
                f"party {party_id} is not in inventory {self.inventory_path} (parties: {self.ids()})",
                hint="the study's roles must use the inventory's party_id values",
            ) from None

    def ids(self) -> list[str]:
        """Party ids in numeric order, as the inventory's numbers sort."""
        return sorted(self.by_id, key=int)

    def values(self) -> list[E]:
        return [self.by_id[pid] for pid in self.ids()]


def party_map(
    cluster: Cluster, inventory_path: Path, endpoint: Callable[[Party, str, int], E]
) -> PartyMap[E]:
    """Every inventory party as ``endpoint(party, its FATE-Flow's host, port)``."""
    return PartyMap([endpoint(p, p.address, flow_port(p)) for p in cluster.parties], inventory_path)


def in_parallel(parties: Iterable[str], work: Callable[[str], FatelabError | None]) -> list[FatelabError]:
    """Run ``work`` for each party at once (one thread each); the errors it returned, in party order."""
    parties = list(dict.fromkeys(parties))
    with ThreadPoolExecutor(max_workers=len(parties) or 1) as pool:
        return [e for e in pool.map(work, parties) if e is not None]


def each_party(parties: Iterable[str], work: Callable[[str], None]) -> None:
    """``work`` for each party at once; every party's FatelabError is reported (errors.raise_collected)."""

    def attempt(pid: str) -> FatelabError | None:
        try:
            work(pid)
        except FatelabError as exc:
            return exc
        return None

    raise_collected(in_parallel(parties, attempt))


def role_names(roles: Roles, party: str | None) -> str:
    return "/".join(dict.fromkeys(role for role, pid in roles.party_roles() if pid == party)) or "no role"


def failed_at(endpoint: PartyEndpoint, roles: Roles) -> str:
    """`` at party P (role, inventory host H)``: where a failure report puts the blame."""
    roles_held = role_names(roles, endpoint.party_id)
    return f" at party {endpoint.party_id} ({roles_held}, inventory host {endpoint.party.host})"



class HostsEngine(Generic[E]):
    """What an engine on the inventory's hosts holds: its parties, SSH to them, where their files went.

    Subclasses set ``name``, ``kind`` (their folder under ``work_dir``) and ``parties_of`` (the
    inventory's parties as their endpoints), and may set ``default_group`` (the group that owns the
    placed files when the inventory names none).
    """

    name: str
    kind: str
    default_group: str = DEFAULT_DATA_GROUP

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
        self.endpoints = self.parties_of(cluster, self.inventory_path)
        self.remote = remote or RemoteCluster.from_inventory(
            cluster, self.inventory_path, default_group=self.default_group
        )
        self._placements = PlacementLog(self.work_dir / self.kind / "placement.json", NAMESPACE)

    @classmethod
    def from_inventory(cls, path: str | Path, work_dir: str | Path, **options: Any) -> Self:
        return cls(load_inventory(path), Path(path), work_dir=Path(work_dir), **options)

    @staticmethod
    def parties_of(cluster: Cluster, inventory_path: Path) -> PartyMap[E]:
        raise NotImplementedError

    def endpoint(self, party_id: str) -> E:
        return self.endpoints[party_id]

    def placement(self) -> dict[str, Any]:
        """Where every party's files went (JSON-able, keyed by party id) for results.json."""
        return self._placements.as_dict(self.party_info)

    def party_info(self, party_id: str) -> dict[str, Any]:
        """What results.json says of a party's host (subclasses add their directories)."""
        e = self.endpoint(party_id)
        return {"host": e.party.host, "address": e.party.address, "fate_flow": e.url}

    def describe_hosts(self) -> dict[str, Any]:
        """The part of describe() every hosts engine has."""
        return {
            "name": self.name,
            "inventory": str(self.inventory_path.resolve()),
            "known_hosts": str(self.remote.known_hosts),
        }

    def ssh_line(self, endpoint: PartyEndpoint) -> str:
        """``user@address:port`` of the party's SSH target, for describe()."""
        target = self.remote.targets[endpoint.party_id]
        return f"{target.user}@{endpoint.party.address}:{target.port}"

    def close(self) -> None:
        self.remote.close()
