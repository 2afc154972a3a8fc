"""ansible/kubefate-hostprep.yml on the local lab: Docker converges, is idempotent, runs a container,
and leaves FATE 2.2's federation (if deployed on the same hosts) reachable; then it is removed again.

The deploy user is `kfdeploy`, not KubeFATE's default `fate`: on the lab `fate` is FATE 2.2's service
account, which the docker_engine role refuses to make root-equivalent (checked below). No image can be
pulled here, so `docker run` uses an image imported from the host's own static tini binary.
Set FATELAB_KEEP_DOCKER=1 to leave Docker installed. About 3-6 minutes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import Lab, LabHost, tcp_connects

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ansible"))
from ansible_run import LAB_INVENTORY, PlaybookRun, run_playbook  # noqa: E402

pytestmark = pytest.mark.lab

PLAYBOOK = "kubefate-hostprep.yml"
DEPLOY_USER = "kfdeploy"
DEPLOY_DIR = "/data/projects/kubefate"
EXTRA = ("-e", f"kubefate_user={DEPLOY_USER}", "-e", f"kubefate_deploy_dir={DEPLOY_DIR}")
# FATE 2.2 ports between parties (RabbitMQ federation, nginx control plane) and for the controller.
PEER_PORTS = (5672, 9300)
ADMIN_PORTS = (9380,)
IMAGE = "fatelab/tini:hostprep"


def reachability(lab: Lab) -> dict[tuple[str, str, int], bool]:
    """Which FATE 2.2 ports answer, host to host (over the bridge) and controller to host."""
    seen: dict[tuple[str, str, int], bool] = {}
    for target in lab.hosts:
        for port in ADMIN_PORTS:
            seen[("controller", target.name, port)] = tcp_connects(target.address, port)
        for source in lab.hosts:
            if source is target:
                continue
            probes = " ".join(
                f"$(timeout 3 bash -c '</dev/tcp/{target.address}/{p}' 2>/dev/null && echo 1 || echo 0)"
                for p in PEER_PORTS
            )
            bits = lab.ssh(source, f"echo {probes}").stdout.split()
            for port, bit in zip(PEER_PORTS, bits, strict=True):
                seen[(source.name, target.name, port)] = bit == "1"
    return seen


def converge(*extra: str) -> PlaybookRun:
    return run_playbook(PLAYBOOK, LAB_INVENTORY, *EXTRA, *extra, timeout=1800)


def assert_ok(run: PlaybookRun, hosts: list[LabHost]) -> None:
    assert run.returncode == 0, run.summary()
    # localhost: the inventory check (party schema) that runs first, on the controller only.
    assert set(run.recap) - {"localhost"} == {f"party{h.party_id}" for h in hosts}, run.summary()
    for counters in run.recap.values():
        assert counters["failed"] == 0 and counters["unreachable"] == 0, run.summary()


@pytest.fixture(scope="module")
def prepared(lab: Lab) -> Iterator[dict[str, object]]:
    before = reachability(lab)
    first = converge()
    assert_ok(first, lab.hosts)
    second = converge()
    print(f"\nhostprep converge: first {first.seconds:.1f}s, second {second.seconds:.1f}s")
    yield {"before": before, "first": first, "second": second}
    if os.environ.get("FATELAB_KEEP_DOCKER") == "1":
        return
    removed = converge("-e", "docker_engine_state=absent")
    assert_ok(removed, lab.hosts)
    for host in lab.hosts:
        gone = lab.ssh(
            host,
            "command -v dockerd || true; iptables-save 2>/dev/null | grep -c -e DOCKER -e docker0 || true; "
            "ip -o link show docker0 2>/dev/null || true",
        ).stdout.split()
        assert gone == ["0"] or gone == [], f"{host.name} still has Docker traces after removal: {gone}"
    assert reachability(lab) == before, "removing Docker changed which FATE 2.2 ports answer"


def test_second_run_changes_nothing(prepared: dict[str, object]) -> None:
    second = prepared["second"]
    assert isinstance(second, PlaybookRun)
    assert second.returncode == 0, second.summary()
    assert second.recap and all(c["changed"] == 0 for c in second.recap.values()), second.summary()


def test_docker_and_compose_answer_for_the_deploy_user(lab: Lab, prepared: dict[str, object]) -> None:
    for host in lab.hosts:
        info = lab.ssh(
            host, f"runuser -u {DEPLOY_USER} -- docker info --format '{{{{.Driver}}}} {{{{.CgroupDriver}}}}'"
        )
        # overlay2 needs the ext4 dir the lab binds on /var/lib/docker; vfs would copy every layer.
        assert info.stdout.split()[0] == "overlay2", (host.name, info.stdout)
        compose = lab.ssh(host, "docker-compose version --short").stdout.strip()
        assert compose.startswith("1."), (host.name, compose)
        owner = lab.ssh(host, f"stat -c '%U %G' {DEPLOY_DIR}").stdout.split()
        assert owner == [DEPLOY_USER, "docker"], (host.name, owner)


def test_a_container_runs_on_every_host(lab: Lab, prepared: dict[str, object]) -> None:
    for host in lab.hosts:
        started = time.monotonic()
        out = lab.ssh(
            host,
            f"set -e; docker image inspect {IMAGE} >/dev/null 2>&1 || "
            f"tar -C /usr/bin -c tini-static | docker import - {IMAGE} >/dev/null; "
            f"docker run --rm {IMAGE} /tini-static --version",
            timeout=120,
        ).stdout
        assert "tini version" in out, (host.name, out)
        print(f"{host.name}: import + docker run {time.monotonic() - started:.1f}s")


def test_fate22_ports_answer_as_before(lab: Lab, prepared: dict[str, object]) -> None:
    before = prepared["before"]
    assert isinstance(before, dict)
    after = reachability(lab)
    assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if not any(before.values()):
        pytest.skip("no FATE 2.2 port answered before Docker was installed (make cluster first)")


def test_service_account_is_refused(lab: Lab, prepared: dict[str, object]) -> None:
    shells = {
        h.name: lab.ssh(h, "getent passwd fate | cut -d: -f7", check=False).stdout.strip() for h in lab.hosts
    }
    if not any(s.endswith(("nologin", "false")) for s in shells.values()):
        pytest.skip(f"no host has a service account named fate (shells: {shells})")
    run = run_playbook(PLAYBOOK, LAB_INVENTORY, "-e", "kubefate_user=fate", timeout=600)
    assert run.returncode != 0
    assert "would become root-equivalent in group docker" in run.output, run.summary()
    for host in lab.hosts:
        groups = lab.ssh(host, "id -nG fate", check=False).stdout.split()
        assert "docker" not in groups, (host.name, groups)
