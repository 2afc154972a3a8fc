"""Helpers for tests of the local three-host lab (lab/up.sh).

They talk to the hosts exactly as a user would: the system ssh client with the lab's ssh_config, which
verifies host keys against lab/.state/known_hosts (StrictHostKeyChecking=yes).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "lab"
STATE = LAB_DIR / ".state"
LAB_JSON = STATE / "lab.json"


@dataclass(frozen=True)
class LabHost:
    index: int
    name: str
    alias: str
    party_id: int
    address: str


@dataclass(frozen=True)
class Lab:
    hosts: list[LabHost]
    gateway: str
    subnet: str
    ssh_config: Path
    known_hosts: Path
    key: Path
    doc: dict

    def ssh(
        self,
        host: LabHost,
        command: str,
        *,
        timeout: float = 30,
        check: bool = True,
        extra: list[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        args = ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", *(extra or []), host.name, command]
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"ssh {host.name} {command!r} failed ({result.returncode}): {result.stderr}")
        return result


def tcp_connects(address: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the lab tests need root (they inspect namespaces and nft); run them as root"
    if shutil.which("ssh") is None:
        return "no ssh client on this machine"
    if not LAB_JSON.is_file():
        return f"the lab is not up ({LAB_JSON} missing); start it with `make lab` (lab/up.sh)"
    status = subprocess.run([str(LAB_DIR / "status.sh")], capture_output=True, text=True, timeout=30)
    if status.returncode != 0:
        return f"the lab is not fully up (lab/status.sh):\n{status.stdout}{status.stderr}"
    return None


# ----------------------------------------------------------- attacker-side probes (tests/lab/probe.py)
PROBE = Path(__file__).with_name("probe.py")


def request_spec(rid: str, address: str, port: int, method: str, path: str, party: int, body: str | None) -> dict:
    headers = {"dest-party-id": str(party), "Content-Type": "application/json"}
    return {"id": rid, "address": address, "port": port, "method": method, "path": path, "headers": headers,
            "body": body}


def run_probe(lab: Lab, host: LabHost, plan: dict, *, as_user: str | None = None) -> dict:
    """Run the probe on ``host`` (as ``as_user`` when given) and return its answers."""
    from probe import RUNNER

    command = f"python3 -c {shlex.quote(RUNNER)}"
    if as_user:
        command = f"runuser -u {shlex.quote(as_user)} -- {command}"
    payload = json.dumps(plan) + "\n" + PROBE.read_text()
    args = ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", host.name, command]
    result = subprocess.run(args, input=payload, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"probe on {host.name} failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def flow_code(answer: dict) -> tuple[int | None, str]:
    try:
        doc = json.loads(answer["body"])
    except (TypeError, ValueError):
        return None, answer["body"]
    return doc.get("code"), str(doc.get("message"))
