"""Each role owns its knobs (issue 10 item 4): its defaults read no other role's variables, it takes
<role>_state present|absent, and the playbooks' one list of container types is the only one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
ROLES = sorted(p.name for p in (ANSIBLE / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())
# Roles whose state is not "on a host": the controller-side check has nothing to remove.
STATELESS = {"inventory_check"}


def _defaults(role: str) -> dict:
    path = ANSIBLE / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}


@pytest.mark.parametrize("role", ROLES)
def test_defaults_read_no_other_roles_variables(role: str) -> None:
    others = [r for r in ROLES if r != role and not role.startswith(r + "_")]
    text = (ANSIBLE / "roles" / role / "defaults" / "main.yml").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # comments may name other roles
    used = set(re.findall(r"\b([a-z][a-z0-9_]*)\b", " ".join(re.findall(r"{{(.*?)}}", code, re.S))))
    foreign = sorted(v for v in used for r in others if v.startswith(r + "_"))
    assert not foreign, f"roles/{role}/defaults/main.yml reads {foreign}: wire them in group_vars/all.yml"


@pytest.mark.parametrize("role", sorted(set(ROLES) - STATELESS))
def test_every_role_takes_a_state(role: str) -> None:
    assert _defaults(role).get(f"{role}_state") == "present"
    tasks = (ANSIBLE / "roles" / role / "tasks" / "main.yml").read_text()
    assert f"{role}_state == 'absent'" in tasks and (ANSIBLE / "roles" / role / "tasks" / "absent.yml").is_file()


def test_destroy_goes_through_the_roles() -> None:
    plays = yaml.safe_load((ANSIBLE / "destroy.yml").read_text())
    tasks = [t for play in plays for block in play.get("tasks", []) for t in block.get("block", [block])]
    applied = {
        t["ansible.builtin.include_role"]["name"]: t.get("vars", {})
        for t in tasks
        if "ansible.builtin.include_role" in t
    }
    modules = {k for t in tasks for k in t if k.startswith("ansible.builtin.")}
    assert modules <= {"ansible.builtin.include_role", "ansible.builtin.setup"}, modules
    for role, role_vars in applied.items():
        if role != "inventory_check":
            assert role_vars == {f"{role}_state": "absent"}, role


def test_one_list_of_container_types() -> None:
    hits = [
        str(p.relative_to(ANSIBLE))
        for p in ANSIBLE.rglob("*.yml")
        if re.search(r"\[[^\]]*\bsystemd-nspawn\b", p.read_text())
    ]
    assert hits == ["group_vars/all.yml"], hits
