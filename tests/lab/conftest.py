"""Fixtures for tests of the local three-host lab; skipped with the reason when the lab is not up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from labkit import LAB_JSON, Lab, LabHost, skip_reason


@pytest.fixture(scope="session")
def lab() -> Lab:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    doc = json.loads(LAB_JSON.read_text())
    hosts = [LabHost(h["index"], h["name"], h["alias"], h["party_id"], h["address"]) for h in doc["hosts"]]
    return Lab(
        hosts=hosts,
        gateway=doc["bridge"]["gateway"],
        subnet=doc["bridge"]["subnet"],
        ssh_config=Path(doc["ssh_config"]),
        known_hosts=Path(doc["known_hosts"]),
        key=Path(doc["ssh_private_key"]),
        doc=doc,
    )
