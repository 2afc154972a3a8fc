"""Writes the lab's client-side files from the hosts' real SSH host keys.

Run by up.sh after every host has booted once. Reads each host's public host keys from its own root
filesystem (never from the network), then writes known_hosts, ssh_config, lab.json and the Ansible
inventory. Standard library only: it runs with the machine's python3 before any venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

KEY_TYPES = ("ed25519", "ecdsa", "rsa")


@dataclass(frozen=True)
class Host:
    index: int
    name: str
    party_id: int
    address: str
    root: Path

    @property
    def alias(self) -> str:
        return f"party{self.party_id}"


def parse_host(spec: str) -> Host:
    """Parses ``N:name:party:address:rootdir`` as passed by up.sh."""
    index, name, party, address, root = spec.split(":", 4)
    return Host(int(index), name, int(party), address, Path(root))


def host_public_keys(host: Host) -> list[str]:
    keys = []
    for kind in KEY_TYPES:
        path = host.root / "etc" / "ssh" / f"ssh_host_{kind}_key.pub"
        if path.is_file():
            key_type, blob = path.read_text().split()[:2]
            keys.append(f"{key_type} {blob}")
    if not keys:
        raise SystemExit(f"lab: error: no SSH host key in {host.root}/etc/ssh (host {host.name} not booted?)")
    return keys


def known_hosts_text(hosts: list[Host]) -> str:
    lines = []
    for host in hosts:
        names = ",".join((host.address, host.name, host.alias))
        lines += [f"{names} {key}" for key in host_public_keys(host)]
    return "\n".join(lines) + "\n"


def ssh_config_text(hosts: list[Host], key: Path, known_hosts: Path) -> str:
    blocks = []
    for host in hosts:
        blocks.append(
            f"Host {host.name} {host.alias} {host.address}\n"
            f"    HostName {host.address}\n"
            "    User root\n"
            f"    IdentityFile {key}\n"
            "    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {known_hosts}\n"
            "    GlobalKnownHostsFile /dev/null\n"
            "    StrictHostKeyChecking yes\n"
            "    ConnectTimeout 5\n"
            "    LogLevel ERROR\n"
        )
    return "\n".join(blocks)


def inventory_text(hosts: list[Host], key: Path, known_hosts: Path) -> str:
    # Hand-written YAML keeps this script free of third-party packages.
    ssh_args = " ".join(
        (
            f"-o UserKnownHostsFile={known_hosts}",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o StrictHostKeyChecking=yes",
        )
    )
    lines = [
        "# Written by lab/up.sh; do not edit (rewritten on every `make lab`).",
        "all:",
        "  children:",
        "    fate_parties:",
        "      hosts:",
    ]
    for host in hosts:
        lines += [
            f"        {host.alias}:",
            f"          ansible_host: {host.address}",
            f"          party_id: {host.party_id}",
            f"          lab_hostname: {host.name}",
        ]
    lines += [
        "      vars:",
        "        fate_deployment: fate22",
        "        ansible_user: root",
        f"        ansible_ssh_private_key_file: {key}",
        f'        ansible_ssh_common_args: "{ssh_args}"',
        "        ansible_python_interpreter: /usr/bin/python3",
    ]
    return "\n".join(lines) + "\n"


def lab_json(
    hosts: list[Host],
    key: Path,
    known_hosts: Path,
    ssh_config: Path,
    inventory: Path,
    gateway: str,
    subnet: str,
    apt_proxy: str,
) -> dict:
    return {
        "mechanism": "systemd-nspawn --boot, one network namespace per host",
        "bridge": {"name": "labbr0", "gateway": gateway, "subnet": subnet},
        "apt_proxy": apt_proxy,
        "ssh_private_key": str(key),
        "known_hosts": str(known_hosts),
        "ssh_config": str(ssh_config),
        "ansible_inventory": str(inventory),
        "hosts": [
            {
                "index": h.index,
                "name": h.name,
                "alias": h.alias,
                "party_id": h.party_id,
                "address": h.address,
                "ssh_user": "root",
                "host_keys": host_public_keys(h),
            }
            for h in hosts
        ],
    }


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temp name of its own (two renders must not share one), private until renamed into place.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        tmp.chmod(mode)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--inventory", type=Path, required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--subnet", required=True)
    parser.add_argument("--apt-proxy", required=True)
    parser.add_argument("hosts", nargs="+", type=parse_host)
    args = parser.parse_args()

    key = args.state / "id_ed25519"
    known_hosts = args.state / "known_hosts"
    ssh_config = args.state / "ssh_config"
    # Everything is rendered before anything is written: a host without keys leaves no half-written set.
    doc = lab_json(args.hosts, key, known_hosts, ssh_config, args.inventory, args.gateway, args.subnet, args.apt_proxy)
    files = {
        known_hosts: known_hosts_text(args.hosts),
        ssh_config: ssh_config_text(args.hosts, key, known_hosts),
        args.inventory: inventory_text(args.hosts, key, known_hosts),
        args.state / "lab.json": json.dumps(doc, indent=2) + "\n",
    }
    for path, text in files.items():
        write(path, text)


if __name__ == "__main__":
    main()
