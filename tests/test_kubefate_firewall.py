"""The DOCKER-USER filter script (ansible/roles/kubefate/files/fatelab-kubefate-firewall) with real iptables,
inside a private network namespace (`unshare -n`), so the machine's own rules are never touched.

Loads a party's rendered rules as the systemd unit would, twice (idempotent: one jump, chain replaced),
then with other rules (replaced whole), then removes them (the admin's own DOCKER-USER rule stays).
Not checked here: packets through Docker's DNAT (no Docker engine on this machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.inventory import cluster_from_mapping
from kubefate.render import ROLE_DIR, render_firewall

SCRIPT = ROLE_DIR / "files" / "fatelab-kubefate-firewall"
CHAIN = "FATELAB-KUBEFATE"


def _netns_usable() -> bool:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "iptables", "iptables-restore")):
        return False
    return subprocess.run(["unshare", "-n", "iptables", "-S"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(
    not _netns_usable(), reason="needs root, unshare and iptables (apt-get install iptables)"
)


def _cluster(admin: list[str]) -> object:
    hosts = {
        "a": {"party_id": 9999, "ansible_host": "10.0.0.1"},
        "b": {"party_id": 9998, "ansible_host": "10.0.0.2"},
    }
    return cluster_from_mapping(
        {
            "all": {
                "vars": {"fate_deployment": "kubefate", "fate_admin_network": admin},
                "children": {"fate_parties": {"hosts": hosts}},
            }
        }
    )


# Steps run in one namespace; file paths arrive as arguments, never inside the shell text.
STEPS = r"""
set -eu
script=$1 first=$2 second=$3
iptables -N DOCKER-USER
iptables -A DOCKER-USER -s 192.0.2.99 -j DROP      # the admin's own rule
iptables -A DOCKER-USER -j RETURN                  # what Docker adds
sh "$script" apply "$first" FATELAB-KUBEFATE
sh "$script" apply "$first" FATELAB-KUBEFATE
echo '== twice'; iptables -S
sh "$script" apply "$second" FATELAB-KUBEFATE
echo '== replaced'; iptables -S
sh "$script" remove FATELAB-KUBEFATE
sh "$script" remove FATELAB-KUBEFATE
echo '== removed'; iptables -S
"""


def _sections(out: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("== "):
            current = line[3:]
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def test_filter_loads_idempotently_is_replaced_whole_and_removed(tmp_path: Path) -> None:
    first, second = tmp_path / "first.rules", tmp_path / "second.rules"
    first.write_text(render_firewall(_cluster(["198.51.100.0/28"]), 9999))
    second.write_text(render_firewall(_cluster(["203.0.113.5"]), 9999))
    run = subprocess.run(
        ["unshare", "-n", "sh", "-c", STEPS, "steps", str(SCRIPT), str(first), str(second)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    out = _sections(run.stdout)

    twice = out["twice"]
    assert twice.count(f"-A DOCKER-USER -j {CHAIN}") == 1
    assert twice.index(f"-A DOCKER-USER -j {CHAIN}") < twice.index("-A DOCKER-USER -s 192.0.2.99/32 -j DROP")
    mine = [ln for ln in twice if ln.startswith(f"-A {CHAIN} ")]
    assert len(mine) == 2 + 4 * 2  # 9370: peer + drop; each admin port: admin net + drop
    assert f"-A {CHAIN} -s 10.0.0.2/32 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9370 -j RETURN" in mine
    assert any("-s 198.51.100.0/28" in ln and "--ctorigdstport 9380" in ln for ln in mine)

    replaced = [ln for ln in out["replaced"] if ln.startswith(f"-A {CHAIN} ")]
    assert len(replaced) == len(mine)
    assert not any("198.51.100.0/28" in ln for ln in replaced)
    assert any("-s 203.0.113.5/32" in ln and "--ctorigdstport 20000" in ln for ln in replaced)

    removed = out["removed"]
    assert not any(CHAIN in ln for ln in removed)
    assert "-A DOCKER-USER -s 192.0.2.99/32 -j DROP" in removed and "-A DOCKER-USER -j RETURN" in removed


def test_filter_script_refuses_bad_usage() -> None:
    run = subprocess.run(["sh", str(SCRIPT), "apply", "only-a-file"], capture_output=True, text=True)
    assert run.returncode == 2 and "usage:" in run.stderr
