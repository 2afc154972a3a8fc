"""Privileged Ansible steps on the deployed lab: no secret on a command line, no path from a job id.

- The rabbitmq role (re-run alone on one host) never puts the admin password in any process's argv: a
  sampler on the host scans /proc/*/cmdline while the role runs; a marker put on a command line on
  purpose shows the sampler would have seen it.
- collect_job_logs.yml refuses a job id that is not digits before anything runs on the host (a crafted
  id used to make root archive any directory and fetch it to the controller).

Needs `make lab`, `make cluster` and the Ansible venv (marker ``lab``); about a minute.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import REPO, Lab, LabHost

pytestmark = pytest.mark.lab

# FATELAB_ANSIBLE_DIR: run these checks against another checkout's playbooks (how they were shown to fail
# on the code before the fix); the lab, its inventory and the secrets stay this checkout's.
ANSIBLE_DIR = Path(os.environ.get("FATELAB_ANSIBLE_DIR") or REPO / "ansible")
PLAYBOOK_BIN = REPO / ".venv-ansible" / "bin" / "ansible-playbook"
INVENTORY = REPO / "ansible" / "inventory" / "lab.yml"
SECRETS = REPO / ".fatelab" / "secrets"
SAMPLE_SECONDS = 240

# Runs on the host: the tokens to look for come on stdin, never in argv; stops when the stop file appears.
SAMPLER = """
import os, sys, time
tokens = [t.encode() for t in sys.stdin.read().split()]
seen, scans, deadline = {}, 0, time.time() + float(sys.argv[1])
while time.time() < deadline and not os.path.exists(sys.argv[2]):
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        for i, token in enumerate(tokens):
            if token in cmd:
                seen.setdefault(i, cmd.split(b'\\0')[0].decode(errors='replace'))
    scans += 1
print(scans, *('%d:%s' % kv for kv in sorted(seen.items())))
"""


@pytest.fixture(scope="module")
def deployed(lab: Lab) -> LabHost:
    if not PLAYBOOK_BIN.exists():
        pytest.skip(f"no {PLAYBOOK_BIN}; run `make setup-ansible`")
    host = next(h for h in lab.hosts if h.party_id == 9998)
    if lab.ssh(host, "systemctl is-active rabbitmq-server fate-flow", check=False).stdout.split() != ["active"] * 2:
        pytest.skip("FATE 2.2 is not deployed on the lab; run `make cluster`")
    return host


@pytest.fixture
def one_off_playbook() -> Iterator[Path]:
    """A playbook file beside cluster.yml (so group_vars apply), removed afterwards."""
    path = ANSIBLE_DIR / f".pytest-{uuid.uuid4().hex[:8]}.yml"
    yield path
    path.unlink(missing_ok=True)


def run_playbook(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLAYBOOK_BIN), "-i", str(INVENTORY), path.name, *extra],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": f"{PLAYBOOK_BIN.parent}:/usr/local/bin:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1", "HOME": "/root"},
    )


def test_rabbitmq_admin_password_never_on_a_command_line(
    lab: Lab, deployed: LabHost, one_off_playbook: Path
) -> None:
    host = f"party{deployed.party_id}"
    password = (SECRETS / f"rabbitmq-admin-{host}").read_text().split()[0]
    marker = secrets.token_hex(8)
    stop = f"/run/fatelab-sampler-{uuid.uuid4().hex[:8]}"
    one_off_playbook.write_text(
        f"- hosts: {host}\n  become: true\n  gather_facts: true\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: rabbitmq\n"
    )
    sampler = subprocess.Popen(
        ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", deployed.name,
         f"python3 -c {shlex.quote(SAMPLER)} {SAMPLE_SECONDS} {stop}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert sampler.stdin is not None
    sampler.stdin.write(f"{password}\n{marker}\n")
    sampler.stdin.close()
    sampler.stdin = None  # communicate() below must not touch the closed pipe
    try:
        # The control: a command line that does carry a token, while the sampler runs.
        lab.ssh(deployed, f"sh -c 'sleep 2' {marker}")
        run = run_playbook(one_off_playbook)
    finally:
        lab.ssh(deployed, f"touch {stop}", check=False)
        out, err = sampler.communicate(timeout=60)
        lab.ssh(deployed, f"rm -f {stop}", check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Check the admin password" in run.stdout, "the role did not reach the step that uses the password"
    scans, *seen = out.split()
    found = dict(item.split(":", 1) for item in seen)
    assert int(scans) > 10 and "1" in found, f"the sampler missed the control marker: {out!r} {err!r}"
    assert "0" not in found, f"the RabbitMQ admin password was on the command line of {found['0']}"


@pytest.mark.parametrize("job_id", ["../../../etc", "/etc", "123/../../../../root"])
def test_collect_job_logs_refuses_a_job_id_that_is_not_digits(
    deployed: LabHost, one_off_playbook: Path, tmp_path: Path, job_id: str
) -> None:
    host = f"party{deployed.party_id}"
    dest = tmp_path / "logs"
    one_off_playbook.write_text(
        f"- hosts: {host}\n  become: true\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: fate_flow\n        tasks_from: collect_job_logs.yml\n"
    )
    extra = json.dumps({"fate_flow_collect_job_id": job_id, "fate_flow_collect_dest": str(dest)})
    run = run_playbook(one_off_playbook, "-e", extra)
    assert run.returncode != 0, run.stdout[-3000:]
    assert "refusing to collect logs for job id" in run.stdout, run.stdout[-3000:]
    assert "Archive the job's logs" not in run.stdout, "tar ran with a crafted job id"
    assert not dest.exists(), f"something was fetched to {dest}: {list(dest.rglob('*'))}"
