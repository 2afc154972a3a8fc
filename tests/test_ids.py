"""Party ids and job ids: one validator each, shared by the inventory, the study config and the engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError, EngineError
from harness.hosts.inventory import cluster_from_mapping
from harness.ids import job_id, party_id
from harness.study.config import load_config


@pytest.mark.parametrize("raw", ["202612021503123456780", 202612021503123456780, "1"])
def test_decimal_job_ids_pass(raw: object) -> None:
    assert job_id(raw) == str(raw)


@pytest.mark.parametrize(
    "raw",
    ["../../etc", "/etc", "2026 1", "2026\n", "", "1;rm -rf /", "١٢٣", True, None, 1.5, "9" * 65, "-1"],
)
def test_crafted_job_ids_are_refused(raw: object) -> None:
    with pytest.raises(EngineError, match="not a decimal number"):
        job_id(raw)


@pytest.mark.parametrize("raw", [True, 0, -3, "9999\n", "99a", "", None, 1.0, "١٢"])
def test_bad_party_ids_are_refused(raw: object) -> None:
    with pytest.raises(ConfigError, match="party_id must be a positive integer"):
        party_id(raw, "here")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "roles, message",
    [
        ("{guest: abc, hosts: [9998], arbiter: 10000}", r"roles.guest: party_id must be a positive integer, got 'abc'"),
        ("{guest: 9999, hosts: [9998, 1.5], arbiter: 10000}", r"roles.hosts\[1\]: party_id must be"),
        ("{guest: 9999, hosts: [9998], arbiter: -1}", r"roles.arbiter: party_id must be"),
        ("{guest: 9999, hosts: [9999], arbiter: 10000}", r"party 9999 is used by two data roles: guest and hosts\[0\]"),
        ("{guest: 9999, hosts: [], arbiter: 10000}", r"defines 1 party; federated learning needs at least 2"),
        ("{guest: 9999, hosts: 9998, arbiter: 10000}", r"roles.hosts must be a list"),
        ("{guest: 9999, hosts: [9998]}", r"roles need guest, hosts and arbiter"),
    ],
)
def test_config_party_ids_are_validated_like_the_inventory(tmp_path: Path, roles: str, message: str) -> None:
    path = _config(tmp_path, f"roles: {roles}\nsweep: false\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_config_party_ids_are_normalised(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "roles: {guest: 9999, hosts: ['9998'], arbiter: 10000}\n"
        "partition: {kind: size, ratios: {9999: 0.5, 9998: 0.5}}\nsweep: false\n",
    )
    config = load_config(path)
    assert config.roles.data_parties() == ("9999", "9998") and config.roles.arbiter == "10000"


def test_sweep_party_ids_are_validated(tmp_path: Path) -> None:
    path = _config(tmp_path, "sweep: {parties: [9999, x1], arbiter: 10000}\n")
    with pytest.raises(ConfigError, match=r"sweep.parties\[1\]: party_id must be"):
        load_config(path)


def test_inventory_uses_the_same_validator() -> None:
    hosts = {"a": {"ansible_host": "10.0.0.1", "party_id": "9999\n"}, "b": {"ansible_host": "10.0.0.2", "party_id": 1}}
    with pytest.raises(ConfigError, match="host a: party_id must be a positive integer"):
        cluster_from_mapping({"all": {"hosts": hosts}})


def test_a_crafted_job_id_never_names_the_output_download_dir(tmp_path: Path) -> None:
    # fate_client extracts the output tar into <dir>/output_data_<job_id>_...: "../.." would escape it.
    # Nothing listens on the port, so only the check can answer before any request is made.
    from harness.engines.fate22.client import FlowRestClient
    from tests.test_remote import free_port

    client = FlowRestClient("127.0.0.1", free_port())
    with pytest.raises(EngineError, match="not a decimal number"):
        client.output_frame("../../../tmp/x", "guest", "9999", "homo_lr_0")
