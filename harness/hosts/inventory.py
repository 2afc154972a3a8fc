"""Load an Ansible YAML inventory into a typed cluster model and validate it.

The same inventory drives Ansible and the harness, so the harness reads it directly instead of
keeping a second list of parties. Only the YAML inventory format is supported (no INI, no dynamic
inventories, no ``group_vars/`` directories): the harness must be able to check a cluster without
Ansible installed.

What a *party* is (a host that defines ``party_id``, in group ``fate_parties``, with its own address)
is defined once in ``party_schema.yml``, which Ansible's inventory_check role applies too. Other hosts
(a controller, a jump host) are kept out of the party list. Variable precedence follows Ansible for the cases used here:
``all.vars`` < parent group vars < child group vars < host vars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.hosts.computing import Computing, check_workers_exclusive, party_computing
from harness.hosts.party_schema import load_schema, party_problems
from harness.ids import party_id
from harness.yaml_io import load_yaml_file

PARTY_ID_VAR = "party_id"
DEPLOYMENT_VAR = "fate_deployment"


@dataclass(frozen=True)
class Party:
    """One FATE party: a party ID bound to one inventory host."""

    party_id: int
    host: str
    address: str
    ssh_user: str | None = None
    key_file: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    computing: Computing = field(default_factory=Computing)


@dataclass(frozen=True)
class Cluster:
    """All parties of one inventory, in inventory order (the order every rendered list uses)."""

    name: str
    deployment: str | None
    parties: tuple[Party, ...]
    vars: Mapping[str, Any] = field(default_factory=dict)

    @property
    def party_ids(self) -> list[int]:
        return [p.party_id for p in self.parties]

    def party(self, party_id: int) -> Party:
        for p in self.parties:
            if p.party_id == party_id:
                return p
        raise ConfigError(
            f"party {party_id} is not in inventory {self.name!r} (parties: {self.party_ids})",
            hint="add a host with this party_id to the inventory or use one of the listed IDs",
        )


def load_inventory(path: str | Path, deploy: bool = False) -> Cluster:
    """Read and validate a YAML inventory; raise ``ConfigError`` naming the offending host.

    ``deploy``: the inventory is about to be deployed, so the schema's deploy rules apply too.
    """
    path = Path(path)
    raw = load_yaml_file(path, "inventory", missing_hint="pass INVENTORY=<path to a .yml inventory>")
    name = path.name.removesuffix(".yml").removesuffix(".yaml")
    return cluster_from_mapping(raw, name=name, deploy=deploy)


def cluster_from_mapping(raw: Any, name: str = "inventory", deploy: bool = False) -> Cluster:
    """Build a validated :class:`Cluster` from an already parsed YAML inventory."""
    if not isinstance(raw, Mapping) or "all" not in raw:
        raise ConfigError(
            f"inventory {name!r} has no top-level 'all' group",
            hint="use the Ansible YAML inventory format: all: {vars: ..., children: ..., hosts: ...}",
        )
    schema = load_schema()
    members: dict[str, list[str]] = {}
    host_vars, all_vars = flatten_hosts(raw["all"] or {}, members)
    problems = party_problems(schema, host_vars, members.get(schema.party_group), deploy)
    if problems:
        raise ConfigError(schema.say("summary", inventory=name, problems="; ".join(problems)), hint=schema.hint)
    party_hosts = [host for host, hv in host_vars.items() if PARTY_ID_VAR in hv]
    parties = [_party(host, host_vars[host], host_vars, party_hosts) for host in party_hosts]
    check_workers_exclusive({p.host: p.computing for p in parties})
    deployment = all_vars.get(DEPLOYMENT_VAR)
    if deployment is None and parties:
        deployment = parties[0].vars.get(DEPLOYMENT_VAR)
    return Cluster(name=name, deployment=deployment, parties=tuple(parties), vars=all_vars)


def flatten_hosts(
    group: Mapping[str, Any], members: dict[str, list[str]] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Return ({host: merged vars}, all-vars) walking hosts first, then children, in YAML order.

    This is the order Ansible lists ``groups['all']`` in, so Python and the role agree on party order.
    ``members``, when given, receives {group name: its hosts, children's included} as Ansible's ``groups``.
    """
    all_vars = dict(group.get("vars") or {})
    merged: dict[str, dict[str, Any]] = {}
    _walk(group, all_vars, merged, path=("all",), members={} if members is None else members)
    return merged, all_vars


def _walk(
    group: Mapping[str, Any],
    inherited: dict[str, Any],
    out: dict[str, dict[str, Any]],
    path: tuple[str, ...],
    members: dict[str, list[str]],
) -> None:
    if not isinstance(group, Mapping):
        raise ConfigError(f"inventory group {'/'.join(path)} is not a mapping", hint="check the indentation")
    scope = {**inherited, **(group.get("vars") or {})}
    for host, hvars in (group.get("hosts") or {}).items():
        host = str(host)
        if hvars is not None and not isinstance(hvars, Mapping):
            raise ConfigError(f"host {host} in {'/'.join(path)}: variables must be a mapping")
        # A host listed in several groups keeps its first position and gains the later group's vars.
        out[host] = {**out.get(host, {}), **scope, **(hvars or {})}
        for name in path:
            if host not in members.setdefault(name, []):
                members[name].append(host)
    for child, body in (group.get("children") or {}).items():
        _walk(body or {}, scope, out, path + (str(child),), members)


def _party(
    host: str, hv: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], party_hosts: list[str]
) -> Party:
    address = hv.get("ansible_host")
    return Party(
        party_id=party_id(hv[PARTY_ID_VAR], f"host {host}"),
        host=host,
        address="" if address is None else str(address).strip(),
        ssh_user=hv.get("ansible_user"),
        key_file=hv.get("ansible_ssh_private_key_file"),
        vars=dict(hv),
        computing=party_computing(host, hv, host_vars, party_hosts),
    )
