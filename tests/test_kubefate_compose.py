"""The rendered KubeFATE bundles are docker-compose files that docker-compose itself accepts.

What compose resolves is checked too: the published ports' host addresses, MySQL's password variables
and healthcheck, FATE-Flow's wait for a healthy MySQL (compose rejects a misspelt condition).

`docker-compose config` (compose v1, Debian's `docker-compose` package) parses and schema-checks a
project, substitutes `.env` and resolves paths without talking to a Docker engine, so this runs on any
controller. The bundles are rendered without a KubeFATE package: the compose file does not need the
upstream static files (they only fill confs/ directories that compose bind-mounts).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.hosts.inventory import load_inventory
from kubefate.render import COMPOSE_SUBNET, MISSING_MARKER, write_plan

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "ansible" / "inventory" / "example-centos7.yml"
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None,
    reason="docker-compose (v1) is not installed; on Debian: "
    "apt-get install -y --no-install-recommends docker-compose",
)
SERVICES = {"rollsite", "fateboard", "clustermanager", "nodemanager", "python", "client", "mysql"}
ADMIN_PORTS = {9380, 9360, 8080, 20000}

TWO_PARTY = {
    "all": {
        "vars": {
            "fate_deployment": "kubefate",
            "kubefate_version": "1.8.0",
            "kubefate_registry": "harbor.lab/fate",
            "kubefate_mysql_image": "harbor.lab/fate/mysql:8.0.28",
            "kubefate_enable_nn": True,
            "kubefate_deploy_dir": "/opt/fate",
        },
        "children": {
            "fate_parties": {
                "hosts": {
                    "guest": {
                        "ansible_host": "10.20.0.5",
                        "party_id": 9999,
                        "fate_serving_address": "10.20.1.5",
                    },
                    "host": {"ansible_host": "10.20.0.6", "party_id": 10000},
                }
            }
        },
    }
}


def compose(bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A bare environment: a deploy user's shell variables must not leak into the result.
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(bundle / "docker-compose.yml"), *args],
        cwd=bundle,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


def rendered_plan(inventory: Path, out: Path) -> Path:
    write_plan(load_inventory(inventory), out)
    return out


def resolved(bundle: Path) -> dict[str, Any]:
    result = compose(bundle, "config")
    assert result.returncode == 0, f"docker-compose config failed for {bundle.name}:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rendered_plan(EXAMPLE, tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="module")
def two_party_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("two")
    inventory = root / "two-party.yml"
    inventory.write_text(yaml.safe_dump(TWO_PARTY))
    return inventory, rendered_plan(inventory, root / "plan")


def check_bundle(bundle: Path, inventory: Path, party_id: int) -> dict[str, Any]:
    """Checks every party's resolved project must pass; returns it for case-specific checks."""
    cluster = load_inventory(inventory)
    party = cluster.party(party_id)
    deploy_dir = cluster.vars.get("kubefate_deploy_dir", "/data/projects/fate")
    env = dict(line.split("=", 1) for line in (bundle / ".env").read_text().splitlines() if "=" in line)
    project = resolved(bundle)

    assert set(project["services"]) == SERVICES
    # .env was read: every FATE image carries its TAG, none is left with an empty tag.
    for name, svc in project["services"].items():
        if name != "mysql":
            assert svc["image"].endswith(":" + env["TAG"]), (name, svc["image"])
    assert project["services"]["client"]["environment"]["FATE_SERVING_HOST"] == (
        f"{party.vars.get('fate_serving_address') or party.address}:8059"
    )
    # compose 2.x resolves ports to "host ip:host port:container port/proto".
    published = {
        int(spec.split(":")[1]): spec.split(":")[0]
        for svc in project["services"].values()
        for spec in svc.get("ports", [])
    }
    assert published == {9370: "0.0.0.0", **dict.fromkeys(ADMIN_PORTS, "127.0.0.1")}
    mysql = project["services"]["mysql"]
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in mysql["environment"]
    assert all(mysql["environment"][k] for k in ("MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "MYSQL_USER"))
    assert mysql["healthcheck"]["test"][0] == "CMD-SHELL"
    for name in ("python", "clustermanager"):
        assert project["services"][name]["depends_on"]["mysql"] == {"condition": "service_healthy"}, name
    # Relative bind mounts resolve inside the bundle, wherever it is unpacked.
    for name, svc in project["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if source.startswith("/"):
                assert Path(source).is_relative_to(bundle), (name, vol)
    # The three bind-backed named volumes point at this party's bundle on the host; their directories
    # must ship in the bundle, or `up` fails with "no such file or directory" on the host.
    for name, vol in project["volumes"].items():
        opts = vol.get("driver_opts") or {}
        if opts.get("o") == "bind":
            device = Path(opts["device"])
            assert device.is_relative_to(f"{deploy_dir}/confs-{party_id}"), (name, device)
            assert (bundle / device.relative_to(f"{deploy_dir}/confs-{party_id}")).is_dir(), (name, device)
    subnet = project["networks"]["fate-network"]["ipam"]["config"][0]["subnet"]
    assert subnet == str(COMPOSE_SUBNET)
    return project


@needs_compose
@pytest.mark.parametrize("party_id", [10000, 9999, 9998])
def test_example_bundles_pass_docker_compose_config(example_plan: Path, party_id: int) -> None:
    bundle = example_plan / f"confs-{party_id}"
    quiet = compose(bundle, "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    project = check_bundle(bundle, EXAMPLE, party_id)
    images = {s["image"] for s in project["services"].values()}
    assert images == {
        "federatedai/eggroll:1.8.0-release",
        "federatedai/fateboard:1.8.0-release",
        "federatedai/python:1.8.0-release",
        "federatedai/client:1.8.0-release",
        "mysql:8.0.28",
    }


@needs_compose
@pytest.mark.parametrize("party_id", [9999, 10000])
def test_two_party_registry_bundles_pass_docker_compose_config(
    two_party_plan: tuple[Path, Path], party_id: int
) -> None:
    inventory, plan = two_party_plan
    project = check_bundle(plan / f"confs-{party_id}", inventory, party_id)
    registry = TWO_PARTY["all"]["vars"]["kubefate_registry"]
    # Offline sites: every image, mysql included, must come from the private registry.
    for name, svc in project["services"].items():
        assert svc["image"].startswith(registry + "/"), (name, svc["image"])
    assert project["services"]["python"]["image"] == f"{registry}/federatedai/python-nn:1.8.0-release"


def test_plan_without_package_marks_bundles_undeployable(example_plan: Path) -> None:
    # The compose checks above ran on these very bundles: the package is not needed to validate them.
    for party_id in (10000, 9999, 9998):
        marker = example_plan / f"confs-{party_id}" / MISSING_MARKER
        assert marker.is_file()
        assert "confs/eggroll/conf/log4j2.properties" in marker.read_text().splitlines()


@needs_compose
def test_broken_compose_file_is_rejected(example_plan: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "confs-9999"
    shutil.copytree(example_plan / "confs-9999", bundle)
    doc = yaml.safe_load((bundle / "docker-compose.yml").read_text())
    doc["services"]["rollsite"]["restrat"] = "always"  # a typo docker would otherwise ignore silently
    (bundle / "docker-compose.yml").write_text(yaml.safe_dump(doc))
    result = compose(bundle, "config", "-q")
    assert result.returncode != 0
    assert "restrat" in result.stderr


@needs_compose
def test_unparsable_compose_file_is_rejected(example_plan: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "confs-9998"
    shutil.copytree(example_plan / "confs-9998", bundle)
    text = (bundle / "docker-compose.yml").read_text()
    broken = text.replace("    restart: always\n", "   restart: always\n", 1)  # one space short
    assert broken != text
    (bundle / "docker-compose.yml").write_text(broken)
    result = compose(bundle, "config", "-q")
    assert result.returncode != 0
    assert "docker-compose.yml" in result.stderr


@needs_compose
def test_misspelt_depends_on_condition_is_rejected(example_plan: Path, tmp_path: Path) -> None:
    # The format version matters: compose must know the condition, not ignore it.
    bundle = tmp_path / "confs-10000"
    shutil.copytree(example_plan / "confs-10000", bundle)
    text = (bundle / "docker-compose.yml").read_text()
    (bundle / "docker-compose.yml").write_text(text.replace("service_healthy", "service_healty"))
    result = compose(bundle, "config", "-q")
    assert result.returncode != 0
    assert "services.python.depends_on.mysql.condition" in result.stderr
