"""An installed fatelab (a wheel, not this checkout) can render the KubeFATE plan and validate inventories:
kubefate/ and the party schema are package data, the kubefate role's files ride along through kubefate/role."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "ansible" / "inventory" / "example-centos7.yml"


@pytest.mark.slow
def test_an_installed_wheel_renders_the_plan_outside_the_checkout(tmp_path: Path) -> None:
    wheels, site, out = tmp_path / "wheels", tmp_path / "site", tmp_path / "plan"
    # A copy of the sources keeps setuptools' build/ and *.egg-info out of the checkout.
    src = tmp_path / "src"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "pyproject.toml", "harness", "kubefate", "ansible/roles"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for rel in files:
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        source = REPO / rel
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            target.write_bytes(source.read_bytes())
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(wheels)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(wheels.glob("fatelab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "harness/hosts/party_schema.yml" in names and "kubefate/role/vars/main.yml" in names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-m", "kubefate.render", str(EXAMPLE), str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout and (out / "confs-9999" / "docker-compose.yml").is_file()
    where = subprocess.run(
        [sys.executable, "-c", "import kubefate.render as r; print(r.ROLE_DIR)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(site)), where
