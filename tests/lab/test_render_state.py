"""lab/render_state.py turns the hosts' own key files into client files. Runs without the lab."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from labkit import LAB_DIR

spec = importlib.util.spec_from_file_location("render_state", LAB_DIR / "render_state.py")
assert spec is not None and spec.loader is not None
render_state = importlib.util.module_from_spec(spec)
sys.modules["render_state"] = render_state
spec.loader.exec_module(render_state)

PARTIES = {1: 10000, 2: 9999, 3: 9998}


@pytest.fixture
def fake_hosts(tmp_path: Path) -> list[str]:
    """Three host roots, each with a real ed25519 host key made by ssh-keygen."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    specs = []
    for n, party in PARTIES.items():
        root = tmp_path / f"h{n}"
        (root / "etc" / "ssh").mkdir(parents=True)
        key = root / "etc" / "ssh" / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        specs.append(f"{n}:lab-h{n}:{party}:10.77.0.1{n}:{root}")
    return specs


def render_argv(state: Path, inventory: Path, specs: list[str]) -> list[str]:
    return [
        sys.executable,
        str(LAB_DIR / "render_state.py"),
        "--state",
        str(state),
        "--inventory",
        str(inventory),
        "--gateway",
        "10.77.0.1",
        "--subnet",
        "10.77.0.0/24",
        "--apt-proxy",
        "http://10.77.0.1:3142/",
        *specs,
    ]


def run_render(tmp_path: Path, specs: list[str]) -> tuple[Path, Path]:
    state, inventory = tmp_path / "state", tmp_path / "ansible" / "inventory" / "lab.yml"
    subprocess.run(render_argv(state, inventory, specs), check=True)
    return state, inventory


def test_known_hosts_lists_each_hosts_own_key(tmp_path: Path, fake_hosts: list[str]) -> None:
    state, _ = run_render(tmp_path, fake_hosts)
    lines = (state / "known_hosts").read_text().splitlines()
    assert len(lines) == 3
    for n, party in PARTIES.items():
        pub = (tmp_path / f"h{n}" / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
        assert f"10.77.0.1{n},lab-h{n},party{party} {pub[0]} {pub[1]}" in lines
    blobs = [line.split()[2] for line in lines]
    assert len(set(blobs)) == 3


def test_inventory_names_hosts_by_party_and_verifies_keys(tmp_path: Path, fake_hosts: list[str]) -> None:
    state, inventory = run_render(tmp_path, fake_hosts)
    doc = yaml.safe_load(inventory.read_text())
    group = doc["all"]["children"]["fate_parties"]
    assert list(group["hosts"]) == ["party10000", "party9999", "party9998"]
    for n, party in PARTIES.items():
        host = group["hosts"][f"party{party}"]
        assert host["ansible_host"] == f"10.77.0.1{n}"
        assert host["party_id"] == party
    group_vars = group["vars"]
    assert group_vars["fate_deployment"] == "fate22"
    assert group_vars["ansible_user"] == "root"
    assert group_vars["ansible_ssh_private_key_file"] == str(state / "id_ed25519")
    assert "StrictHostKeyChecking=yes" in group_vars["ansible_ssh_common_args"]
    assert f"UserKnownHostsFile={state / 'known_hosts'}" in group_vars["ansible_ssh_common_args"]

    lab = json.loads((state / "lab.json").read_text())
    assert [h["party_id"] for h in lab["hosts"]] == [10000, 9999, 9998]
    assert lab["known_hosts"] == str(state / "known_hosts")
    config = (state / "ssh_config").read_text()
    assert config.count("StrictHostKeyChecking yes") == 3


def test_a_host_without_keys_is_an_error(tmp_path: Path, fake_hosts: list[str]) -> None:
    missing = tmp_path / "h4"
    (missing / "etc" / "ssh").mkdir(parents=True)
    result = subprocess.run(
        render_argv(tmp_path / "s", tmp_path / "inv.yml", [*fake_hosts, f"4:lab-h4:9997:10.77.0.14:{missing}"]),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no SSH host key" in result.stderr and "lab-h4" in result.stderr
    assert not (tmp_path / "inv.yml").exists()
