"""cluster.yml / verify.yml / destroy.yml against the local three-host lab (`make lab`).

One ordered scenario (module-scoped state): converge, converge again with changed=0, query each party's
FATE-Flow, probe the firewall, restart a host and see its services come back, run verify.yml, destroy
twice and check the hosts are clean. CI passes the logs of its own `make cluster` runs instead of
converging again (FATELAB_CLUSTER_LOG, FATELAB_CLUSTER_AGAIN_LOG). Slow: about
10-15 min on 2 cores. Skipped with the reason when the lab is not up.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from ansible_run import (
    LAB_INVENTORY,
    ROOT,
    VENV_BIN,
    PlaybookRun,
    count_job_successes,
    inventory_hosts,
    run_on_host,
    run_playbook,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FLOW_PORT = 9380
PROXY_PORT = 9300
AMQP_PORT = 5672
MANAGEMENT_PORT = 15672


def _lab_skip_reason() -> str | None:
    if not (VENV_BIN / "ansible-playbook").exists():
        return f"no {VENV_BIN / 'ansible-playbook'}; create the tools venv from requirements/ansible.txt"
    if not LAB_INVENTORY.is_file():
        return f"the lab is not up ({LAB_INVENTORY} missing); start it with `make lab`"
    status = subprocess.run([str(ROOT / "lab" / "status.sh")], capture_output=True, text=True, timeout=30)
    if status.returncode != 0:
        return f"the lab is not fully up (lab/status.sh):\n{status.stdout}{status.stderr}"
    return None


@pytest.fixture(scope="module")
def parties() -> dict[str, dict]:
    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    return inventory_hosts()


def _converge(log_variable: str) -> PlaybookRun:
    """Run cluster.yml, or read the log of a `make cluster` CI has just run (named by the variable).

    CI's lab stage runs `make cluster` itself; reading its log checks that very run and saves two
    converges (about 4 min) here."""
    log = os.environ.get(log_variable)
    return PlaybookRun.from_log(Path(log)) if log else run_playbook("cluster.yml")


@pytest.fixture(scope="module")
def first_converge(parties: dict[str, dict]) -> PlaybookRun:
    return _converge("FATELAB_CLUSTER_LOG")


def _assert_clean_run(run: PlaybookRun, parties: dict[str, dict]) -> None:
    assert run.returncode == 0, run.summary()
    assert set(parties) <= set(run.recap), run.summary()
    bad = {h: c for h, c in run.recap.items() if c["failed"] or c["unreachable"]}
    assert not bad, f"failed/unreachable hosts {bad}\n{run.summary()}"


def _site_party_id(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}:{FLOW_PORT}/v2/site/info/query", timeout=10) as response:
        return str(json.load(response)["data"]["party_id"])


def _connects_from(host: str, address: str, port: int) -> bool:
    code = (f"import socket; socket.create_connection(('{address}', {port}), timeout=3).close()")
    rc, _ = run_on_host(host, f"/usr/bin/python3 -c \"{code}\"")
    return rc == 0


def test_cluster_converges(first_converge: PlaybookRun, parties: dict[str, dict]) -> None:
    _assert_clean_run(first_converge, parties)


def test_second_converge_changes_nothing(first_converge: PlaybookRun, parties: dict[str, dict]) -> None:
    second = _converge("FATELAB_CLUSTER_AGAIN_LOG")
    _assert_clean_run(second, parties)
    changed = {h: c["changed"] for h, c in second.recap.items() if c["changed"]}
    assert not changed, f"second run changed something: {changed}\n{second.summary(200)}"


def test_each_flow_answers_with_its_own_party_id(
    first_converge: PlaybookRun, parties: dict[str, dict]
) -> None:
    answers = {name: _site_party_id(hv["ansible_host"]) for name, hv in parties.items()}
    assert answers == {name: str(hv["party_id"]) for name, hv in parties.items()}


def test_firewall_opens_peer_ports_and_closes_flow_http_to_peers(
    first_converge: PlaybookRun, parties: dict[str, dict]
) -> None:
    (src, _), (_, dst_vars) = list(parties.items())[:2]
    dst = dst_vars["ansible_host"]
    # The peer path works (so a refusal below is the firewall, not routing)...
    assert _connects_from(src, dst, PROXY_PORT), f"{src} cannot reach the nginx proxy on {dst}"
    assert _connects_from(src, dst, AMQP_PORT), f"{src} cannot reach RabbitMQ on {dst}"
    # ...but FATE-Flow http is only for the party's own nginx (gateway mode) and the admin network.
    assert not _connects_from(src, dst, FLOW_PORT), f"{src} reaches FATE-Flow http on {dst} directly"


def test_rabbitmq_management_is_not_exposed(first_converge: PlaybookRun, parties: dict[str, dict]) -> None:
    address = next(iter(parties.values()))["ansible_host"]
    with pytest.raises(OSError):
        socket.create_connection((address, MANAGEMENT_PORT), timeout=3).close()


def _wait_until(check, seconds: float) -> bool:  # noqa: ANN001 - a no-argument predicate
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OSError:
            pass
        time.sleep(2)
    return False


def test_a_restarted_host_brings_its_services_back(
    first_converge: PlaybookRun, parties: dict[str, dict]
) -> None:
    """A reboot of one party's host: FATE-Flow, RabbitMQ and nginx come back by themselves (systemd).

    Runs before verify.yml, so the federation verified below includes the restarted party."""
    (peer, _), (host, hv) = list(parties.items())[0], list(parties.items())[-1]
    restart = subprocess.run([str(ROOT / "lab" / "restart-host.sh"), str(hv["party_id"])],
                             capture_output=True, text=True, timeout=300)
    assert restart.returncode == 0, restart.stdout + restart.stderr
    address = hv["ansible_host"]
    assert _wait_until(lambda: _site_party_id(address) == str(hv["party_id"]), 240), (
        f"FATE-Flow on {host} did not come back after a restart: {run_on_host(host, 'systemctl --failed')[1]}")
    for port in (PROXY_PORT, AMQP_PORT):
        assert _wait_until(lambda port=port: _connects_from(peer, address, port), 120), (
            f"port {port} on {host} not reachable from {peer} after a restart")


def test_verify_playbook_passes(first_converge: PlaybookRun, parties: dict[str, dict]) -> None:
    run = run_playbook("verify.yml")
    _assert_clean_run(run, parties)
    # One toy job per ordered pair plus the HomoLR job.
    assert count_job_successes(run.output) >= len(parties) * (len(parties) - 1) + 1, run.summary(120)


def test_destroy_leaves_hosts_clean(first_converge: PlaybookRun, parties: dict[str, dict]) -> None:
    first = run_playbook("destroy.yml")
    _assert_clean_run(first, parties)
    again = run_playbook("destroy.yml")
    _assert_clean_run(again, parties)
    check = (
        "set -e; test ! -e /opt/fate; ! id fate 2>/dev/null; test ! -e /etc/rabbitmq;"
        " test ! -e /var/lib/rabbitmq;"
        " test ! -e /etc/nginx; ! nft list table inet fatelab 2>/dev/null;"
        " ! dpkg -l rabbitmq-server nginx-light 2>/dev/null | grep -q '^ii';"
        " ! pgrep -f '[f]ate_flow_server|[b]eam.smp|[n]ginx: master|[e]pmd' >/dev/null; echo clean"
    )
    for host, hv in parties.items():
        rc, out = run_on_host(host, check)
        assert rc == 0 and "clean" in out, f"{host} not clean after destroy: {out}"
        for port in (FLOW_PORT, PROXY_PORT, AMQP_PORT):
            with pytest.raises(OSError):
                socket.create_connection((hv["ansible_host"], port), timeout=3).close()


def test_secrets_stay_out_of_git() -> None:
    secrets = ROOT / ".fatelab" / "secrets"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(secrets / "x")], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{secrets} is not git-ignored"
    assert Path(ROOT / ".gitignore").read_text().count(".fatelab/") >= 1
