"""The spark Ansible role, rendered by Ansible itself for ansible/inventory/lab-spark.yml, no host contacted.

A local play (``connection: local``, no facts) runs the role's own ``topology.yml`` for every host of the
inventory and renders its templates into a temporary directory, as the role would on each host. The
checks: party 9998's master lives on its own host and its worker on the fourth host, pointed at that
master; the other parties get nothing; Spark's ports open only between party 9998's two hosts; the SysV
script and the environment carry the same command and addresses. ``cluster.yml`` and ``destroy.yml`` pass
``--syntax-check`` with that inventory. Needs .venv-ansible (make setup-ansible); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "ansible" / "inventory" / "lab-spark.yml"
ANSIBLE_PLAYBOOK = REPO / ".venv-ansible" / "bin" / "ansible-playbook"
ROLE = REPO / "ansible" / "roles" / "spark"
SPARK_HOME = "/opt/fate/venv/lib/python3.11/site-packages/pyspark"

RENDER = """
- name: Render the spark role for every host
  hosts: all
  connection: local
  gather_facts: false
  vars:
    ansible_service_mgr: systemd
    spark_home: {spark_home}
  tasks:
    - name: Topology
      ansible.builtin.include_role:
        name: spark
        tasks_from: topology
        public: true
    - name: Record the topology
      ansible.builtin.copy:
        content: "{{{{ {{'party': spark_party_host, 'master': spark_is_master | bool, 'worker': spark_is_worker | bool,
                     'firewall': spark_firewall_allow}} | to_nice_json }}}}"
        dest: "{out}/{{{{ inventory_hostname }}}}.json"
        mode: "0644"
    - name: Render the units, the SysV scripts and the environment
      ansible.builtin.template:
        src: "{role}/templates/{{{{ item.0 }}}}"
        dest: "{out}/{{{{ inventory_hostname }}}}-{{{{ item.1.name }}}}-{{{{ item.0 }}}}"
        mode: "0644"
      loop: "{{{{ ['spark.service.j2', 'spark.init.j2', 'spark-env.j2'] | product(services) | list }}}}"
      vars:
        spark_service: "{{{{ item.1 }}}}"
        services: >-
          {{{{ ([{{'name': 'spark-master', 'role': 'master'}}] if spark_is_master | bool else [])
             + ([{{'name': 'spark-worker', 'role': 'worker'}}] if spark_is_worker | bool else []) }}}}
"""


def ansible_playbook(*args: str) -> subprocess.CompletedProcess[str]:
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("no .venv-ansible (make setup-ansible)")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(REPO / "ansible" / "roles"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(INVENTORY), *args],
        capture_output=True, text=True, env=env, cwd=REPO / "ansible", timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark_role")
    play = out / "render.yml"
    play.write_text(RENDER.format(spark_home=SPARK_HOME, out=out, role=ROLE))
    ansible_playbook(str(play))
    return out


def topology(rendered: Path, host: str) -> dict:
    return json.loads((rendered / f"{host}.json").read_text())


def test_party_9998_runs_the_master_and_its_worker_host_the_worker(rendered: Path) -> None:
    assert topology(rendered, "party9998") | {"firewall": None} == {
        "party": "party9998", "master": True, "worker": False, "firewall": None,
    }
    assert topology(rendered, "spark9998a") | {"firewall": None} == {
        "party": "party9998", "master": False, "worker": True, "firewall": None,
    }
    master = (rendered / "party9998-spark-master-spark.service.j2").read_text()
    assert (
        f"ExecStart={SPARK_HOME}/bin/spark-class org.apache.spark.deploy.master.Master --host 10.77.0.13 --port 7077 "
        "--webui-port 8080\n" in master
    )
    worker = (rendered / "spark9998a-spark-worker-spark.service.j2").read_text()
    assert "org.apache.spark.deploy.worker.Worker --host 10.77.0.14 --port 7078" in worker
    assert worker.rstrip().count("spark://10.77.0.13:7077") == 1
    assert "--cores 1 --memory 1g" in worker and "(party 9998)" in worker
    # The SysV script starts the very same command.
    assert "org.apache.spark.deploy.worker.Worker --host 10.77.0.14" in (
        rendered / "spark9998a-spark-worker-spark.init.j2"
    ).read_text()
    env = (rendered / "spark9998a-spark-worker-spark-env.j2").read_text()
    assert "SPARK_LOCAL_IP=10.77.0.14\n" in env and "PYSPARK_PYTHON=/opt/fate/venv/bin/python\n" in env


def test_standalone_parties_get_no_spark(rendered: Path) -> None:
    for host in ("party9999", "party10000"):
        assert topology(rendered, host) == {"party": "", "master": False, "worker": False, "firewall": []}
        assert not list(rendered.glob(f"{host}-*"))


def test_spark_ports_open_only_between_the_partys_own_hosts(rendered: Path) -> None:
    for host, peer in (("party9998", "10.77.0.14"), ("spark9998a", "10.77.0.13")):
        rules = {str(r["port"]): r["sources"] for r in topology(rendered, host)["firewall"]}
        assert rules["7077"] == rules["7078"] == rules["7079-7095"] == [peer], (host, rules)
        # Web UIs: the admin network only (here: none named, so closed), never the other parties.
        assert not {"10.77.0.11", "10.77.0.12"} & {s for sources in rules.values() for s in sources}


def test_cluster_and_destroy_playbooks_pass_the_syntax_check() -> None:
    for playbook in ("cluster.yml", "destroy.yml"):
        ansible_playbook("--syntax-check", playbook)
