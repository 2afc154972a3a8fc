"""What a FATE party is: the rules of ``party_schema.yml``, applied to an inventory's hosts.

The schema file is the one definition; ``ansible/roles/inventory_check`` applies the same file in Jinja
before any playbook touches a host. Both walk the hosts in the same order and fill the same message
templates, so a mistake reads the same from ``make plan``, the harness and ``make cluster``
(tests/test_kubefate_party_schema.py holds them together). Pure functions; no I/O but the schema read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FILE = Path(__file__).with_name("party_schema.yml")


@dataclass(frozen=True)
class PartySchema:
    party_group: str
    party_id_var: str
    address_var: str
    deployment_var: str
    deployments: tuple[str, ...]
    default_deployment: str
    min_parties: int
    deploy_rules: frozenset[str]
    party_id_pattern: str
    address_patterns: tuple[str, ...]
    messages: Mapping[str, str]
    hint: str

    def say(self, key: str, **fields: Any) -> str:
        return self.messages[key].format(**fields)

    def checks(self, rule: str, deploy: bool) -> bool:
        return deploy or rule not in self.deploy_rules


@cache
def load_schema(path: Path = SCHEMA_FILE) -> PartySchema:
    raw = yaml.safe_load(path.read_text())
    return PartySchema(
        party_group=raw["party_group"],
        party_id_var=raw["party_id_var"],
        address_var=raw["address_var"],
        deployment_var=raw["deployment_var"],
        deployments=tuple(raw["deployments"]),
        default_deployment=raw["default_deployment"],
        min_parties=int(raw["min_parties"]),
        deploy_rules=frozenset(raw["deploy_rules"]),
        party_id_pattern=raw["party_id_pattern"],
        address_patterns=tuple(raw["address_patterns"]),
        messages=dict(raw["messages"]),
        hint=" ".join(str(raw["hint"]).split()),
    )


def is_party_id(schema: PartySchema, value: Any) -> bool:
    # Ansible sees YAML ints and strings alike through `| string`; a bool or float is refused the same way.
    return isinstance(value, int | str) and bool(re.search(schema.party_id_pattern, _text(value)))


def is_address(schema: PartySchema, value: str) -> bool:
    return any(re.search(pattern, value) for pattern in schema.address_patterns)


def party_problems(
    schema: PartySchema,
    host_vars: Mapping[str, Mapping[str, Any]],
    group_members: Sequence[str] | None,
    deploy: bool = False,
) -> list[str]:
    """Every broken rule, in the order inventory_check's template lists them (hosts in inventory order).

    ``group_members`` is None when the inventory has no ``party_group``. ``deploy``: also the schema's
    ``deploy_rules`` (the inventory is about to be deployed, not only connected to).
    """
    group = schema.party_group
    parties = [h for h, hv in host_vars.items() if schema.party_id_var in hv]
    problems: list[str] = []
    if group_members is None and schema.checks("no_group", deploy):
        problems.append(schema.say("no_group", group=group))
    if group_members is not None:
        problems += [schema.say("not_in_group", host=h, group=group) for h in parties if h not in group_members]
        problems += [schema.say("not_a_party", host=h, group=group) for h in group_members if h not in parties]
    ids: dict[int, str] = {}
    addresses: dict[str, str] = {}
    deployments: list[str] = []
    for host in parties:
        hv = host_vars[host]
        raw_id = hv[schema.party_id_var]
        pid = _text(raw_id)
        if not is_party_id(schema, raw_id):
            problems.append(schema.say("bad_party_id", host=host, value=pid))
        elif int(pid) in ids:
            problems.append(schema.say("duplicate_party_id", party_id=int(pid), first=ids[int(pid)], second=host))
        else:
            ids[int(pid)] = host
        address = _text(hv.get(schema.address_var)).strip()
        if not address:
            problems.append(schema.say("no_address", host=host, party_id=pid))
        elif not is_address(schema, address):
            problems.append(schema.say("bad_address", host=host, party_id=pid, address=address))
        elif address in addresses and schema.checks("shared_address", deploy):
            problems.append(schema.say("shared_address", first=addresses[address], second=host, address=address))
        else:
            addresses[address] = host
        deployment = _text(hv.get(schema.deployment_var, schema.default_deployment))
        if deployment not in deployments:
            deployments.append(deployment)
    allowed = ", ".join(schema.deployments)
    unknown = [d for d in deployments if d not in schema.deployments]
    problems += [schema.say("bad_deployment", value=d, allowed=allowed) for d in unknown]
    if len(deployments) > 1:
        problems.append(schema.say("mixed_deployments", values=", ".join(deployments)))
    if len(parties) < schema.min_parties:
        problems.append(schema.say("too_few", count=len(parties), min=schema.min_parties))
    return problems


def _text(value: Any) -> str:
    # The text Jinja's `| string` gives for the scalars an inventory holds (None -> "").
    return "" if value is None else str(value)
