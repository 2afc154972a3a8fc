"""The KubeFATE route's hardening, checked on the rendering (kubefate/render.py + the role's templates).

Each test names a property KubeFATE 1.8 itself lacks: admin ports on loopback, no default password,
MySQL health before FATE-Flow, bundle modes, DOCKER-USER rules per party, secrets never logged.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError
from harness.hosts.inventory import cluster_from_mapping, load_inventory
from kubefate.compare import read_tree
from kubefate.render import (
    ROLE_DIR,
    derive_secrets,
    load_layout,
    placeholder_secrets,
    render_bundle,
    render_firewall,
    write_plan,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "ansible" / "inventory" / "example-centos7.yml"
ADMIN_PORTS = {9380, 9360, 8080, 20000}
# KubeFATE 1.8's defaults (parties.conf, compose, service_conf): none may survive anywhere in a render.
DEFAULT_PASSWORDS = re.compile(
    r"fate_dev|password\s*[=:]\s*['\"]?(admin|fate)\b|MYSQL_ALLOW_EMPTY_PASSWORD|IDENTIFIED BY|GRANT ALL ON \*\.\*"
)


def _inventory(**all_vars: Any) -> dict[str, Any]:
    hosts = {
        "a": {"party_id": 9999, "ansible_host": "10.0.0.1"},
        "b": {"party_id": 9998, "ansible_host": "10.0.0.2"},
        "c": {"party_id": 10000, "ansible_host": "10.0.0.3"},
    }
    return {
        "all": {
            "vars": {"fate_deployment": "kubefate", "kubefate_version": "1.8.0", **all_vars},
            "children": {"fate_parties": {"hosts": hosts}},
        }
    }


def _compose(files: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(files["docker-compose.yml"])


def _published(compose: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """{host port: (host ip, service)} from 'ip:host:container' port strings."""
    out = {}
    for name, svc in compose["services"].items():
        for spec in svc.get("ports", []):
            ip, host_port, _ = str(spec).split(":")
            out[int(host_port)] = (ip, name)
    return out


SECRETS = {9999: derive_secrets("party-a-secret"), 9998: derive_secrets("b"), 10000: derive_secrets("c")}


# --- published ports ---------------------------------------------------------------------------------


def test_admin_ports_listen_on_loopback_and_rollsite_on_ipv4() -> None:
    published = _published(_compose(render_bundle(load_inventory(EXAMPLE), 9999)))
    assert set(published) == ADMIN_PORTS | {9370}
    assert {p: ip for p, (ip, _) in published.items() if p in ADMIN_PORTS} == dict.fromkeys(ADMIN_PORTS, "127.0.0.1")
    assert published[9370] == ("0.0.0.0", "rollsite")


def test_a_hosts_admin_address_is_used_for_that_host_only() -> None:
    inv = _inventory()
    inv["all"]["children"]["fate_parties"]["hosts"]["b"]["kubefate_admin_bind_address"] = "10.0.0.2"
    cluster = cluster_from_mapping(inv)
    b = _published(_compose(render_bundle(cluster, 9998)))
    a = _published(_compose(render_bundle(cluster, 9999)))
    assert {b[p][0] for p in ADMIN_PORTS} == {"10.0.0.2"}
    assert {a[p][0] for p in ADMIN_PORTS} == {"127.0.0.1"}


@pytest.mark.parametrize(
    "extra, words",
    [
        ({"kubefate_admin_bind_address": "admin.example"}, "kubefate_admin_bind_address 'admin.example' is not"),
        ({"kubefate_rollsite_bind_address": "::"}, "kubefate_rollsite_bind_address '::' is not an IPv4"),
        ({"kubefate_mysql_user": "root"}, "kubefate_mysql_user must not be root"),
    ],
)
def test_unsafe_settings_are_refused(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        render_bundle(cluster_from_mapping(_inventory(**extra)), 9999)


# --- passwords ---------------------------------------------------------------------------------------


def test_no_default_password_anywhere_in_a_plan(tmp_path: Path) -> None:
    written = write_plan(load_inventory(EXAMPLE), tmp_path)
    assert len(written) > 20
    for path in written:
        found = DEFAULT_PASSWORDS.search(path.read_text())
        assert found is None, f"{path.relative_to(tmp_path)}: {found.group(0)!r}"
    # ... and each bundle says its placeholders make it undeployable.
    for pid in (10000, 9999, 9998):
        assert (tmp_path / f"confs-{pid}" / "PLAN_ONLY").is_file()


def test_generated_passwords_reach_every_consumer_and_no_public_file() -> None:
    cluster = cluster_from_mapping(_inventory())
    files = render_bundle(cluster, 9999, secrets=SECRETS)
    mine = SECRETS[9999]
    assert "PLAN_ONLY" not in files and "PLAN-PLACEHOLDER" not in "".join(files.values())
    mysql = _compose(files)["services"]["mysql"]["environment"]
    assert (mysql["MYSQL_ROOT_PASSWORD"], mysql["MYSQL_PASSWORD"], mysql["MYSQL_USER"]) == (
        mine["mysql_root_password"],
        mine["mysql_password"],
        "fate",
    )
    service = yaml.safe_load(files["confs/fate_flow/conf/service_conf.yaml"])
    assert service["database"]["passwd"] == mine["mysql_password"]
    props = files["confs/eggroll/conf/eggroll.properties"]
    assert f"clustermanager.jdbc.password={mine['mysql_password']}\n" in props
    assert (
        f"server.board.login.password={mine['fateboard_password']}\n"
        in files["confs/fateboard/conf/application.properties"]
    )
    layout = load_layout()
    for rel, text in files.items():
        if layout.file_mode(rel) & stat.S_IROTH:  # world-readable on the host
            assert not any(v in text for v in mine.values()), rel
    # Another party's bundle carries its own passwords, none of this one's.
    other = "".join(render_bundle(cluster, 9998, secrets=SECRETS).values())
    assert not any(v in other for v in mine.values())


def test_derived_passwords_are_distinct_hex_and_stable() -> None:
    a, b = derive_secrets("s1"), derive_secrets("s2")
    assert set(a) == set(placeholder_secrets()) == {"mysql_root_password", "mysql_password", "fateboard_password"}
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in [*a.values(), *b.values()])
    assert len(set(a.values()) | set(b.values())) == 6
    assert derive_secrets("s1") == a


# --- MySQL health ------------------------------------------------------------------------------------


def test_flow_and_cluster_manager_start_only_once_mysql_is_healthy() -> None:
    compose = _compose(render_bundle(cluster_from_mapping(_inventory()), 9999))
    assert compose["version"] == "2.4"  # the format whose depends_on conditions compose v1 >= 1.21 honours
    services = compose["services"]
    check = services["mysql"]["healthcheck"]
    assert check["test"][0] == "CMD-SHELL"
    # Over TCP (the image's init server is socket-only) as the FATE user, on a table the init creates.
    assert "--protocol=TCP" in check["test"][1] and "server_node" in check["test"][1]
    assert "$$MYSQL_PASSWORD" in check["test"][1] and "-p" not in check["test"][1].split()
    assert check["start_period"] == "300s"
    for name in ("python", "clustermanager"):
        assert services[name]["depends_on"]["mysql"] == {"condition": "service_healthy"}, name


# --- file modes ---------------------------------------------------------------------------------------


def test_plan_files_are_0640_except_the_mysql_init_folder(tmp_path: Path) -> None:
    write_plan(load_inventory(EXAMPLE), tmp_path)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    for path in tmp_path.rglob("*"):
        rel = path.relative_to(tmp_path).as_posix()
        mode = stat.S_IMODE(path.stat().st_mode)
        public = "/confs/mysql/init" in f"/{rel}"
        if path.is_dir():
            assert mode == (0o755 if rel.endswith("confs/mysql/init") else 0o750), rel
        else:
            assert mode == (0o644 if public else 0o640), rel


def test_folder_list_covers_every_file() -> None:
    layout = load_layout()
    needed = {"."}
    for rel in [d for _, d in layout.templates + layout.static] + [layout.meta_sql[1], *layout.dirs]:
        parts = PurePosixPath(rel).parts
        needed |= {"/".join(parts[:n]) for n in range(1, len(parts) + (rel in layout.dirs))}
    assert set(layout.folders) == needed
    assert list(layout.folders) == sorted(layout.folders, key=lambda f: (f != ".", f))  # parents first


# --- DOCKER-USER rules -------------------------------------------------------------------------------


def _rules(text: str) -> list[tuple[int, str | None, str]]:
    """(port, source or None, target) for every rule, in order."""
    out = []
    for line in text.splitlines():
        if line.startswith("-A "):
            port = int(re.search(r"--ctorigdstport (\d+)", line).group(1))  # type: ignore[union-attr]
            src = re.search(r" -s (\S+)", line)
            out.append((port, src.group(1) if src else None, line.rsplit(" ", 1)[1]))
    return out


def test_rollsite_admits_each_partys_peers_and_admin_ports_only_admins() -> None:
    cluster = cluster_from_mapping(_inventory(fate_admin_network=["198.51.100.0/28", "203.0.113.7"]))
    rules = _rules(render_firewall(cluster, 9998))
    assert rules[:3] == [(9370, "10.0.0.1", "RETURN"), (9370, "10.0.0.3", "RETURN"), (9370, None, "DROP")]
    for port in ADMIN_PORTS:
        mine = [(s, t) for p, s, t in rules if p == port]
        assert mine == [("198.51.100.0/28", "RETURN"), ("203.0.113.7", "RETURN"), (None, "DROP")], port
    assert {p for p, _, _ in rules} == ADMIN_PORTS | {9370}


def test_without_an_admin_network_admin_ports_are_closed_to_every_other_host() -> None:
    rules = _rules(render_firewall(cluster_from_mapping(_inventory()), 9999))
    assert [(p, s) for p, s, t in rules if t == "RETURN"] == [(9370, "10.0.0.2"), (9370, "10.0.0.3")]
    assert {p for p, s, t in rules if t == "DROP" and s is None} == ADMIN_PORTS | {9370}


def test_rules_match_only_dnat_traffic_by_original_port() -> None:
    # Container-to-container traffic on fate-network (fateboard -> python:9380) must not be filtered.
    text = render_firewall(load_inventory(EXAMPLE), 9999)
    body = [ln for ln in text.splitlines() if ln.startswith("-A ")]
    # ... and only in the client-to-server direction: the container's replies carry the same conntrack
    # DNAT state and original port, from the container's address (they would hit the DROP otherwise).
    assert body and all("-m conntrack --ctstate DNAT --ctdir ORIGINAL --ctorigdstport" in ln for ln in body)
    assert text.splitlines()[-1] == "COMMIT" and ":FATELAB-KUBEFATE - [0:0]" in text


@pytest.mark.parametrize(
    "hosts_override, extra, words",
    [
        ({"b": "fate-b.example.org"}, {}, "host b address 'fate-b.example.org' is not an IPv4 address"),
        ({}, {"fate_admin_network": ["10.0.0.0/8 -j ACCEPT"]}, "fate_admin_network entry .* is not an IPv4"),
    ],
)
def test_rules_refuse_what_iptables_would_resolve_or_misread(
    tmp_path: Path, hosts_override: dict[str, str], extra: dict[str, Any], words: str
) -> None:
    inv = _inventory(**extra)
    for host, addr in hosts_override.items():
        inv["all"]["children"]["fate_parties"]["hosts"][host]["ansible_host"] = addr
    with pytest.raises(ConfigError, match=words):
        write_plan(cluster_from_mapping(inv), tmp_path / "plan")


# --- the role: secrets never logged, never pushed with a wider mode -----------------------------------


def _tasks(path: Path) -> list[dict[str, Any]]:
    out = []
    for task in yaml.safe_load(path.read_text()) or []:
        out.append(task)
        out.extend(task.get("block", []))
    return out


def test_every_task_touching_a_secret_has_no_log() -> None:
    seen = 0
    for path in sorted((ROLE_DIR / "tasks").glob("*.yml")):
        for task in _tasks(path):
            text = yaml.safe_dump({k: v for k, v in task.items() if k != "block"})
            if re.search(r"kubefate_party_secret\b|ansible\.builtin\.password|secret\.content", text):
                seen += 1
                assert task.get("no_log"), f"{path.name}: {task.get('name')}"
    assert seen >= 4


def test_bundles_reach_the_host_with_the_controllers_modes() -> None:
    push = next(t for t in _tasks(ROLE_DIR / "tasks" / "deploy.yml") if t.get("name", "").startswith("Push"))
    assert push["ansible.builtin.copy"]["mode"] == "preserve"
    assert push["diff"] is False


# --- the role's deploy rendering: generated secrets, same derivation as derive_secrets -----------------

# bundle.yml as cluster.yml runs it, minus the hosts: secrets.yml's fact is set here from a local
# password lookup (what secrets.yml does on each host before comparing with the host's copy).
DEPLOY_RENDER_PLAY = """
- name: Render deploy bundles without contacting any host
  hosts: fate_parties
  gather_facts: false
  tasks:
    - name: The party secret, as secrets.yml sets it
      ansible.builtin.set_fact:
        kubefate_party_secret: >-
          {{ lookup('ansible.builtin.password', kubefate_secret_file_prefix ~ inventory_hostname,
                    chars=['ascii_letters', 'digits'], length=43) }}
      no_log: true
    - name: Render
      ansible.builtin.include_role:
        name: kubefate
        tasks_from: bundle.yml
      vars:
        kubefate_require_package: false
"""


def test_ansible_deploy_render_generates_each_partys_secret_once(tmp_path: Path) -> None:
    from tests.test_kubefate_render import modes, run_ansible_playbook

    play, secrets_dir = tmp_path / "render.yml", tmp_path / "secrets"
    play.write_text(DEPLOY_RENDER_PLAY)
    args = ("-i", str(EXAMPLE), str(play), "-e", f"kubefate_secret_file_prefix={secrets_dir}/kubefate-")
    os.environ["ANSIBLE_ROLES_PATH"] = str(ROLE_DIR.parent)
    try:
        run_ansible_playbook(*args, "-e", f"kubefate_build_dir={tmp_path / 'first'}")
        run_ansible_playbook(*args, "-e", f"kubefate_build_dir={tmp_path / 'again'}")
    finally:
        del os.environ["ANSIBLE_ROLES_PATH"]
    files = sorted(secrets_dir.iterdir())
    assert [f.name for f in files] == ["kubefate-party10000", "kubefate-party9998", "kubefate-party9999"]
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    cluster = load_inventory(EXAMPLE)
    secrets = {
        p.party_id: derive_secrets((secrets_dir / f"kubefate-{p.host}").read_text().rstrip("\n"))
        for p in cluster.parties
    }
    first = tmp_path / "first"
    for p in cluster.parties:
        expected = {k: v for k, v in render_bundle(cluster, p.party_id, secrets=secrets).items() if not k.endswith("/")}
        assert read_tree(first / f"confs-{p.party_id}") == expected
        assert read_tree(tmp_path / "again" / f"confs-{p.party_id}") == expected  # same secret on a re-run
    assert modes(first)["."] == 0o700 and modes(first)["confs-9999/docker-compose.yml"] == 0o640
