"""Duplicate YAML keys are refused, naming the key and both lines, in every YAML a user hands the harness."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from studykit import run_fatelab

from harness.errors import ConfigError
from harness.hosts.inventory import load_inventory
from harness.study.config import load_config
from harness.yaml_io import load_yaml_text

ROOT = Path(__file__).resolve().parents[1]

# A host block copied and its name not changed: PyYAML alone keeps the second and party 9999 vanishes.
COPIED_HOST = """\
all:
  children:
    fate_parties:
      hosts:
        party10000:
          ansible_host: 10.0.0.1
          party_id: 10000
        party9998:
          ansible_host: 10.0.0.2
          party_id: 9999
        party9998:
          ansible_host: 10.0.0.3
          party_id: 9998
"""


def test_copied_inventory_host_is_refused_with_key_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(COPIED_HOST)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    message = caught.value.message
    assert "'party9998'" in message and "line 8" in message and "line 11" in message
    assert str(path) in message


def test_duplicate_study_config_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "study.yml"
    path.write_text("seed: 7\nmodel:\n  epochs: 5\n  epochs: 9\n")
    with pytest.raises(ConfigError, match=r"'epochs' appears twice .*line 3 and line 4"):
        load_config(path)


def test_merge_keys_and_same_key_in_sibling_mappings_are_fine() -> None:
    text = "base: &b {x: 1, y: 2}\none: {<<: *b, y: 3}\ntwo: {x: 5}\n"
    assert load_yaml_text(text) == {"base": {"x": 1, "y": 2}, "one": {"x": 1, "y": 3}, "two": {"x": 5}}


def test_only_safe_types_are_built() -> None:
    with pytest.raises(Exception, match="could not determine a constructor"):
        load_yaml_text("!!python/object/apply:os.system ['true']\n")


def test_cli_reports_a_duplicate_key_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "study.yml"
    path.write_text("seed: 1\nseed: 2\n")
    out = run_fatelab("experiment", "--config", str(path), "--quiet")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "'seed' appears twice" in out.stderr and "line 1 and line 2" in out.stderr


def test_directory_or_non_mapping_config_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    listed = tmp_path / "list.yml"
    listed.write_text("- seed\n- 1\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listed)


def test_ansible_refuses_the_same_inventory(tmp_path: Path) -> None:
    ansible_inventory = ROOT / ".venv-ansible" / "bin" / "ansible-inventory"
    if not ansible_inventory.exists():
        pytest.skip("no .venv-ansible (make setup-ansible)")
    path = tmp_path / "inv.yml"
    path.write_text(COPIED_HOST)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible" / "ansible.cfg")}
    out = subprocess.run(
        [str(ansible_inventory), "-i", str(path), "--list"], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode != 0
    assert "duplicate dict key (party9998)" in " ".join((out.stdout + out.stderr).split())
