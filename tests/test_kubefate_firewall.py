"""The DOCKER-USER filter script (ansible/roles/kubefate/files/fatelab-kubefate-firewall) with real iptables,
inside a private network namespace (`unshare -n`), so the machine's own rules are never touched.

Loads a party's rendered rules as the systemd unit would, twice (idempotent: one jump, chain replaced),
then with other rules (replaced whole), then removes them (the admin's own DOCKER-USER rule stays).
Then packets: three namespaces (a peer/outsider with two addresses, the party host, a "container")
wired with the rules Docker writes for a published port (DNAT in PREROUTING, FORWARD -> DOCKER-USER ->
accept towards the bridge); real TCP connections show who gets through. Docker itself is not run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.hosts.inventory import cluster_from_mapping
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


def _cluster(admin: list[str], me: str = "10.0.0.1", peer: str = "10.0.0.2") -> object:
    hosts = {
        "a": {"party_id": 9999, "ansible_host": me},
        "b": {"party_id": 9998, "ansible_host": peer},
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
    assert (
        f"-A {CHAIN} -s 10.0.0.2/32 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9370 --ctdir ORIGINAL -j RETURN"
        in mine
    )
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


# The party host is this namespace (10.9.0.1); "cli" holds the peer 10.9.0.2 and an outsider/admin
# 10.9.0.3; "ctr" is the container 172.30.0.2 listening on 9370 and 9380.
TOPOLOGY = r"""
set -eu
script=$1 rules=$2
mount -t tmpfs none /run
ip netns add cli; ip netns add ctr; ip link set lo up
ip link add h0 type veth peer name c0 netns cli; ip link add h1 type veth peer name k0 netns ctr
ip addr add 10.9.0.1/24 dev h0; ip link set h0 up; ip addr add 172.30.0.1/24 dev h1; ip link set h1 up
ip -n cli addr add 10.9.0.2/24 dev c0; ip -n cli addr add 10.9.0.3/24 dev c0
ip -n cli link set c0 up; ip -n cli route add 172.30.0.0/24 via 10.9.0.1
ip -n ctr addr add 172.30.0.2/24 dev k0; ip -n ctr link set k0 up; ip -n ctr route add default via 172.30.0.1
sysctl -q -w net.ipv4.ip_forward=1
for port in 9370 9380; do
  iptables -t nat -A PREROUTING -d 10.9.0.1 -p tcp --dport $port -j DNAT --to-destination 172.30.0.2:$port
done
iptables -P FORWARD DROP
iptables -N DOCKER-USER; iptables -A DOCKER-USER -j RETURN; iptables -A FORWARD -j DOCKER-USER
iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT; iptables -A FORWARD -o h1 -j ACCEPT
sh "$script" apply "$rules" FATELAB-KUBEFATE
ip netns exec ctr python3 -c '
import socket, threading, time
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
for port in (9370, 9380): threading.Thread(target=serve, args=(port,), daemon=True).start()
time.sleep(60)' &
server=$!
probe() {
  ip netns exec cli python3 -c '
import socket, sys
src, dst, port = sys.argv[1:]
s = socket.socket(); s.settimeout(2); s.bind((src, 0))
for attempt in range(20):  # the server may still be starting: refused is retried, silence is not
    try:
        s.connect((dst, int(port))); print(src, dst, port, s.recv(2).decode()); break
    except ConnectionRefusedError:
        s.close(); s = socket.socket(); s.settimeout(2); s.bind((src, 0)); __import__("time").sleep(0.5)
    except OSError:
        print(src, dst, port, "dropped"); break' "$@"
}
probe 10.9.0.2 10.9.0.1 9370; probe 10.9.0.3 10.9.0.1 9370
probe 10.9.0.2 10.9.0.1 9380; probe 10.9.0.3 10.9.0.1 9380
probe 10.9.0.2 172.30.0.2 9380
kill $server
"""


def test_published_ports_admit_the_peer_and_the_admin_only(tmp_path: Path) -> None:
    rules = tmp_path / "party.rules"
    rules.write_text(render_firewall(_cluster(["10.9.0.3/32"], me="10.9.0.1", peer="10.9.0.2"), 9999))
    run = subprocess.run(
        ["unshare", "-m", "-n", "sh", "-c", TOPOLOGY, "topology", str(SCRIPT), str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "10.9.0.2 10.9.0.1 9370 ok",  # the peer reaches rollsite
        "10.9.0.3 10.9.0.1 9370 dropped",  # nobody else does
        "10.9.0.2 10.9.0.1 9380 dropped",  # a peer never reaches FATE-Flow
        "10.9.0.3 10.9.0.1 9380 ok",  # the admin network does
        "10.9.0.2 172.30.0.2 9380 ok",  # traffic that was not DNAT-ed (container to container) is untouched
    ]
