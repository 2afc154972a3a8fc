"""One definition of a party: the harness (harness/hosts/party_schema.py) and Ansible's inventory_check role
read harness/hosts/party_schema.yml and refuse the same bad inventories with the same words.

The Ansible half runs ansible-playbook from .venv-ansible (FATELAB_ANSIBLE_TESTS=1, like the other rendering
tests; ~5 s per inventory, two at a time).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError
from harness.hosts.inventory import load_inventory
from harness.hosts.party_schema import load_schema
from tests.test_kubefate_render import ANSIBLE_PLAYBOOK, EXAMPLE, REPO, run_ansible_playbook

CHECK_PLAY = """\
- name: Check the inventory against the party schema
  hosts: localhost
  connection: local
  gather_facts: false
  roles: [inventory_check]
  post_tasks:
    - name: Show what the role recorded
      ansible.builtin.debug:
        msg: "RECORDED {{ {'parties': inventory_check_parties, 'deployment': inventory_check_deployment} | to_json }}"
"""


def _party(pid: Any, address: Any = "auto", **hv: Any) -> dict[str, Any]:
    out = {"party_id": pid, **hv}
    if address is not None:
        out["ansible_host"] = f"10.0.0.{int(pid) % 250}" if address == "auto" else address
    return out


def _inventory(parties: dict[str, dict[str, Any]], all_hosts: dict | None = None, **all_vars: Any) -> dict:
    body: dict[str, Any] = {"vars": {"fate_deployment": "fate22", **all_vars}}
    if all_hosts:
        body["hosts"] = all_hosts
    if parties:
        body["children"] = {"fate_parties": {"hosts": parties}}
    return {"all": body}


GOOD = {"party9999": _party(9999), "party9998": _party(9998), "party10000": _party(10000)}
# One mistake each; the name is what the inventory gets wrong.
BAD = {
    "duplicate_party_id": _inventory({"a": _party(9999, "10.0.0.1"), "b": _party(9999, "10.0.0.2")}),
    "no_address": _inventory({"a": _party(9999), "b": _party(9998, None)}),
    "bad_party_id": _inventory({"a": _party("nine", "10.0.0.1"), "b": _party(9998)}),
    "zero_party_id": _inventory({"a": _party(0, "10.0.0.1"), "b": _party(9998)}),
    "bad_address": _inventory({"a": _party(9999), "b": _party(9998, "not an address!")}),
    "digits_address": _inventory({"a": _party(9999), "b": _party(9998, "999.1.2.3")}),
    "shared_address": _inventory({"a": _party(9999, "10.0.0.7"), "b": _party(9998, "10.0.0.7")}),
    "too_few": _inventory({"a": _party(9999)}),
    "not_in_group": _inventory(GOOD, all_hosts={"stray": _party(9997)}),
    "not_a_party": _inventory({**GOOD, "jump": {"ansible_host": "10.0.0.99"}}),
    "no_group": _inventory({}, all_hosts=GOOD),
    "bad_deployment": _inventory(GOOD, fate_deployment="fate99"),
    "mixed_deployments": _inventory({**GOOD, "party10000": _party(10000, fate_deployment="kubefate")}),
}


def _write(tmp_path: Path, name: str, inventory: dict) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def _python_verdict(path: Path) -> str:
    try:
        load_inventory(path, deploy=True)
    except ConfigError as exc:
        return f"{exc.message} (hint: {exc.hint})"
    return "accepted"


def _ansible_verdict(play: Path, path: Path) -> tuple[str, dict | None]:
    """The role's failure message, or "accepted" and what it recorded (parties, deployment kind)."""
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(REPO / "ansible" / "roles"),
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    }
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(path), str(play)], capture_output=True, text=True, cwd=REPO, env=env
    )
    failed = re.search(r"fatal: \[localhost\]: FAILED! => (\{.*\})", run.stdout)
    if failed:
        return json.loads(failed.group(1))["msg"], None
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    recorded = re.search(r'"msg": "RECORDED (.*)"', run.stdout)
    assert recorded, run.stdout[-3000:]
    return "accepted", json.loads(recorded.group(1).replace('\\"', '"'))


def test_every_message_of_the_schema_is_exercised() -> None:
    assert set(BAD) - {"zero_party_id", "digits_address"} == set(load_schema().messages) - {"summary"}


@pytest.mark.parametrize("name", sorted(BAD))
def test_the_harness_refuses_each_mistake_naming_it(tmp_path: Path, name: str) -> None:
    verdict = _python_verdict(_write(tmp_path, name, BAD[name]))
    assert verdict.startswith(f"inventory {name} cannot be deployed: "), verdict
    assert ";" not in verdict.split(" (hint:")[0], f"{name}: one mistake should be one problem: {verdict}"


def test_the_harness_runs_stand_ins_on_one_address_without_deploying(tmp_path: Path) -> None:
    # Not a deployment: several parties' stand-ins may share 127.0.0.1, and no fate_parties group is needed.
    shared = _inventory({}, all_hosts={"a": _party(9999, "127.0.0.1"), "b": _party(9998, "127.0.0.1")})
    assert load_inventory(_write(tmp_path, "standins", shared)).party_ids == [9999, 9998]


def test_ansible_and_the_harness_refuse_the_same_inventories_with_the_same_words(tmp_path: Path) -> None:
    run_ansible_playbook("--version")  # skips unless FATELAB_ANSIBLE_TESTS=1 and .venv-ansible exists
    play = tmp_path / "check.yml"
    play.write_text(CHECK_PLAY)
    paths = {name: _write(tmp_path, name, inv) for name, inv in BAD.items()}
    paths["good"] = _write(tmp_path, "good", _inventory(GOOD))
    paths["example-centos7"] = EXAMPLE
    with ThreadPoolExecutor(max_workers=2) as pool:
        ansible = dict(zip(paths, pool.map(lambda p: _ansible_verdict(play, p), paths.values())))
    for name, path in paths.items():
        assert ansible[name][0] == _python_verdict(path), name
    assert ansible["good"][1] == {"parties": list(GOOD), "deployment": "fate22"}
    assert ansible["example-centos7"][1] == {
        "parties": ["party10000", "party9999", "party9998"],
        "deployment": "kubefate",
    }
