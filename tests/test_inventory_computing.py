"""Inventory `computing` and `spark_workers` per party: read into the cluster model, bad values refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.hosts.inventory import cluster_from_mapping, load_inventory

REPO = Path(__file__).resolve().parents[1]


def inventory(party9998: dict[str, Any], workers: dict[str, Any] | None = None) -> dict[str, Any]:
    parties = {
        "party9999": {"ansible_host": "10.0.0.12", "party_id": 9999},
        "party9998": {"ansible_host": "10.0.0.13", "party_id": 9998, **party9998},
    }
    children: dict[str, Any] = {"fate_parties": {"hosts": parties}}
    if workers is not None:
        children["spark_worker_hosts"] = {"hosts": workers}
    return {"all": {"children": children}}


def test_parties_compute_on_standalone_by_default() -> None:
    cluster = cluster_from_mapping(inventory({}))
    assert {p.party_id: p.computing.engine for p in cluster.parties} == {9999: "standalone", 9998: "standalone"}
    assert cluster.party(9998).computing.record("party9998") == {"computing": "standalone"}


def test_a_spark_party_lists_its_workers_with_their_addresses() -> None:
    cluster = cluster_from_mapping(
        inventory({"computing": "spark", "spark_workers": ["w1"]}, {"w1": {"ansible_host": "10.0.0.14"}})
    )
    spark = cluster.party(9998).computing
    assert spark.engine == "spark"
    assert [(w.host, w.address) for w in spark.workers] == [("w1", "10.0.0.14")]
    assert spark.record("party9998") == {"computing": "spark", "workers": ["w1"]}
    # A worker host is not a party.
    assert cluster.party_ids == [9999, 9998]


def test_a_spark_party_without_workers_runs_its_worker_on_its_own_host() -> None:
    cluster = cluster_from_mapping(inventory({"computing": "spark"}))
    assert cluster.party(9998).computing.record("party9998") == {"computing": "spark", "workers": ["party9998"]}


W1 = {"w1": {"ansible_host": "10.0.0.14"}}


@pytest.mark.parametrize(
    ("party", "workers", "message"),
    [
        ({"computing": "eggroll"}, None, r"host party9998: computing 'eggroll' is not one of standalone, spark"),
        ({"spark_workers": ["w1"]}, W1, r"spark_workers \['w1'\] given but computing is 'standalone'"),
        ({"computing": "spark", "spark_workers": "w1"}, None, r"spark_workers must be a list"),
        ({"computing": "spark", "spark_workers": ["nope"]}, None, r"Spark worker 'nope' is not a host in the inv"),
        ({"computing": "spark", "spark_workers": ["party9999"]}, None, r"Spark worker 'party9999' is a party's host"),
        ({"computing": "spark", "spark_workers": ["w1"]}, {"w1": {}}, r"Spark worker 'w1' has no ansible_host"),
        ({"computing": "spark", "spark_workers": ["w1", "w1"]}, W1, r"lists a worker twice"),
    ],
)
def test_bad_computing_settings_name_the_host_and_value(
    party: dict[str, Any], workers: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cluster_from_mapping(inventory(party, workers))


def test_a_worker_serves_one_party_only() -> None:
    raw = inventory({"computing": "spark", "spark_workers": ["w1"]}, {"w1": {"ansible_host": "10.0.0.14"}})
    raw["all"]["children"]["fate_parties"]["hosts"]["party9999"] |= {"computing": "spark", "spark_workers": ["w1"]}
    with pytest.raises(ConfigError, match=r"Spark worker 'w1' is listed by both party9999 and party9998"):
        cluster_from_mapping(raw)


def test_the_lab_spark_inventory_puts_party_9998_on_two_machines() -> None:
    cluster = load_inventory(REPO / "ansible" / "inventory" / "lab-spark.yml")
    records = {p.party_id: p.computing.record(p.host) for p in cluster.parties}
    assert records == {
        10000: {"computing": "standalone"},
        9999: {"computing": "standalone"},
        9998: {"computing": "spark", "workers": ["spark9998a"]},
    }
    [worker] = cluster.party(9998).computing.workers
    assert worker.address not in {p.address for p in cluster.parties}
