"""Run the repo's playbooks against an inventory and read their results (shared by the lab tests)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
VENV_BIN = ROOT / ".venv-ansible" / "bin"
LAB_INVENTORY = ANSIBLE_DIR / "inventory" / "lab.yml"
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PlaybookRun:
    playbook: str
    returncode: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]]

    @classmethod
    def from_log(cls, path: Path) -> PlaybookRun:
        """A run recorded by a caller that checked its exit status (CI's `make cluster` under set -e)."""
        output = path.read_text(errors="replace")
        return cls(str(path), 0, output, 0.0, parse_recap(output))

    def summary(self, tail: int = 60) -> str:
        lines = self.output.splitlines()[-tail:]
        return f"{self.playbook}: rc={self.returncode} in {self.seconds:.0f}s\n" + "\n".join(lines)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """Per-host counters of the last PLAY RECAP in an ansible-playbook output."""
    start = output.rfind("PLAY RECAP")
    if start < 0:
        return {}
    recap: dict[str, dict[str, int]] = {}
    for match in RECAP_LINE.finditer(output[start:]):
        counters = {k: int(v) for k, v in match.groupdict().items() if k != "host" and v is not None}
        recap[match.group("host")] = counters
    return recap


def count_job_successes(output: str) -> int:
    """How many job results in verify.yml's output (YAML result format) report status success."""
    return len(re.findall(r"^\s*(?:-\s+)?status: '?success'?\s*$", output, flags=re.MULTILINE))


def run_playbook(
    playbook: str, inventory: Path = LAB_INVENTORY, *extra: str, timeout: float = 3600
) -> PlaybookRun:
    started = time.monotonic()
    result = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), playbook, *extra],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=timeout,
        env={"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_FORCE_COLOR": "0", "HOME": str(Path.home())},
    )
    output = result.stdout + result.stderr
    return PlaybookRun(playbook, result.returncode, output, time.monotonic() - started, parse_recap(output))


def inventory_hosts(inventory: Path = LAB_INVENTORY, group: str = "fate_parties") -> dict[str, dict]:
    """Host name -> host vars of one inventory group, as Ansible resolves them."""
    listing = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(inventory), "--list"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, check=True, timeout=60,
    )
    doc = json.loads(listing.stdout)
    hostvars = doc.get("_meta", {}).get("hostvars", {})
    return {name: hostvars.get(name, {}) for name in doc.get(group, {}).get("hosts", [])}


def run_on_host(
    host: str, command: str, inventory: Path = LAB_INVENTORY, timeout: float = 120
) -> tuple[int, str]:
    """Run a shell command on one inventory host through Ansible (same keys and host key checks).

    Returns (0 when the command succeeded else non-zero, Ansible's text output)."""
    result = subprocess.run(
        [str(VENV_BIN / "ansible"), "-i", str(inventory), host, "-m", "ansible.builtin.shell",
         "-a", command],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=timeout,
        env={"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1",
             "HOME": str(Path.home())},
    )
    return result.returncode, result.stdout + result.stderr


def main(argv: list[str] | None = None) -> int:
    """`python3 tests/ansible/ansible_run.py --expect-unchanged LOG`: CI's check that a re-run converged."""
    import argparse

    parser = argparse.ArgumentParser(description="Check an ansible-playbook log's PLAY RECAP.")
    parser.add_argument("--expect-unchanged", metavar="LOG", required=True,
                        help="fail unless every host reports changed=0, failed=0, unreachable=0")
    log = Path(parser.parse_args(argv).expect_unchanged).read_text(errors="replace")
    recap = parse_recap(log)
    if not recap:
        print(f"no PLAY RECAP in {log[-2000:]!r}")
        return 1
    bad = {h: c for h, c in recap.items() if c["changed"] or c["failed"] or c["unreachable"]}
    for host, counters in recap.items():
        print(f"{host}: changed={counters['changed']} failed={counters['failed']} "
              f"unreachable={counters['unreachable']}")
    if bad:
        print(f"not converged: {sorted(bad)} reported changes or failures")
        return 1
    print(f"converged: {len(recap)} hosts, zero changes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
