"""Ansible and the harness verify host keys against the same known_hosts file, for every way of naming it.

Ansible's answer is its own: ``fate_known_hosts_file`` as ``ansible/group_vars/all.yml`` computes it,
printed by ``ansible -m debug``. Nothing contacts a host (debug runs on the controller).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from harness.hosts.inventory import load_inventory
from harness.hosts.ssh import known_hosts_path

REPO = Path(__file__).resolve().parents[1]
ANSIBLE = REPO / ".venv-ansible" / "bin" / "ansible"

# case -> the inventory vars that name the file (relative paths are relative to the inventory's directory)
CASES: dict[str, dict[str, str]] = {
    "explicit": {"fatelab_known_hosts": "{tmp}/explicit_kh", "ansible_ssh_common_args": "-o UserKnownHostsFile=x"},
    "explicit_relative": {"fatelab_known_hosts": "../explicit_kh"},
    "common_args": {"ansible_ssh_common_args": "-o UserKnownHostsFile={tmp}/common_kh -o StrictHostKeyChecking=yes"},
    "common_args_relative": {"ansible_ssh_common_args": "-o UserKnownHostsFile=../common_kh"},
    "home": {},
}


def _hosts(prefix: str) -> dict[str, dict[str, object]]:
    return {
        f"{prefix}a": {"ansible_host": "10.0.0.1", "party_id": 9999},
        f"{prefix}b": {"ansible_host": "10.0.0.2", "party_id": 9998},
    }


def _write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def _ansible_answers(inventory: Path, home: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home), "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg")}
    run = subprocess.run(
        [str(ANSIBLE), "-i", str(inventory), "all", "-m", "debug", "-a", "var=fate_known_hosts_file",
         "--playbook-dir", str(REPO / "ansible"), "-o"],
        capture_output=True, text=True, env=env, timeout=300, cwd=REPO / "ansible",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    answers = {}
    for line in run.stdout.splitlines():
        host, _, rest = line.partition(" | SUCCESS => ")
        answers[host.strip()] = json.loads(rest)["fate_known_hosts_file"]
    return answers


def test_ansible_and_the_harness_pick_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not ANSIBLE.exists():
        pytest.skip("no .venv-ansible (make setup-ansible)")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for path in (tmp_path / "explicit_kh", tmp_path / "common_kh", home / ".ssh" / "known_hosts"):
        path.write_text("")
    monkeypatch.setenv("HOME", str(home))
    inv_dir = tmp_path / "inventories"
    inv_dir.mkdir()
    cases = {name: {k: v.format(tmp=tmp_path) for k, v in given.items()} for name, given in CASES.items()}
    # One inventory for Ansible, a host pair per case carrying that case's vars as host vars.
    ansible_hosts = {}
    for name, given in cases.items():
        ansible_hosts.update({h: {**hv, **given} for h, hv in _hosts(name).items()})
    answers = _ansible_answers(_write(inv_dir / "all.yml", {"all": {"hosts": ansible_hosts}}), home)
    for name, given in cases.items():
        inventory = _write(inv_dir / f"{name}.yml", {"all": {"hosts": _hosts(name), "vars": given}})
        harness = known_hosts_path(load_inventory(inventory), inventory)
        assert {answers[f"{name}a"], answers[f"{name}b"]} == {str(harness)}, name
    expected = {
        "explicit": tmp_path / "explicit_kh",
        "explicit_relative": tmp_path / "explicit_kh",
        "common_args": tmp_path / "common_kh",
        "common_args_relative": tmp_path / "common_kh",
        "home": home / ".ssh" / "known_hosts",
    }
    assert {name: Path(answers[f"{name}a"]) for name in cases} == expected


def test_the_old_ansible_only_variable_is_refused_with_its_new_name(tmp_path: Path) -> None:
    inventory = _write(tmp_path / "inv.yml", {"all": {"hosts": _hosts("h"), "vars": {"lab_known_hosts": "/x"}}})
    with pytest.raises(ConfigError, match="lab_known_hosts, which is now fatelab_known_hosts"):
        known_hosts_path(load_inventory(inventory), inventory)
