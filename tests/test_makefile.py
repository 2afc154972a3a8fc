"""Every make target that takes INVENTORY= accepts an absolute or a relative path.

``make -n`` prints the commands without running them; the real ``make plan`` (about a minute on two
cores) runs with FATELAB_ANSIBLE_TESTS=1, like the other Ansible rendering test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "ansible" / "inventory" / "example-centos7.yml"
TARGETS = ("plan", "cluster", "verify", "destroy", "experiment")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def _inventory_paths(commands: str) -> list[Path]:
    """The file each printed command's -i / --inventory names, seen from the directory it runs in."""
    found = []
    for line in commands.splitlines():
        words = shlex.split(line.replace("&&", " "))
        cwd = REPO / words[1] if words[:1] == ["cd"] else REPO
        found += [(cwd / words[i + 1]).resolve() for i, w in enumerate(words[:-1]) if w in ("-i", "--inventory")]
    return found


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("given", ["absolute", "relative"])
def test_inventory_reaches_each_command_as_the_same_file(target: str, given: str, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml" if given == "absolute" else EXAMPLE.relative_to(REPO)
    out = make("-n", target, f"INVENTORY={inventory}")
    assert out.returncode == 0, out.stderr
    named = _inventory_paths(out.stdout)
    assert named, out.stdout
    assert set(named) == {(REPO / inventory).resolve()}, out.stdout


def test_real_make_plan_with_an_absolute_inventory(tmp_path: Path) -> None:
    if not (REPO / ".venv-ansible" / "bin" / "ansible-playbook").exists():
        pytest.skip("no .venv-ansible (make setup-ansible)")
    if os.environ.get("FATELAB_ANSIBLE_TESTS") != "1":
        pytest.skip("takes ~1 min on 2 cores; run with FATELAB_ANSIBLE_TESTS=1")
    inventory = tmp_path / "abs-plan-check.yml"
    inventory.write_text(EXAMPLE.read_text())
    try:
        out = make("plan", f"INVENTORY={inventory}")
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        assert "parties ['10000', '9999', '9998']" in out.stdout or "[10000, 9999, 9998]" in out.stdout, out.stdout
        assert (REPO / "build" / "plan" / "abs-plan-check" / "parties.conf").is_file()
    finally:
        for leftover in ("abs-plan-check", "abs-plan-check-py"):
            shutil.rmtree(REPO / "build" / "plan" / leftover, ignore_errors=True)
