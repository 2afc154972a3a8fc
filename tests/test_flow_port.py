"""FATELAB_FLOW_PORT moves the embedded FATE-Flow of this checkout (commands and tests alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engines.fate22.server import LocalFlowServer, default_flow_port
from harness.engines.fate22.standalone import StandaloneEngine
from harness.errors import EngineError


def test_default_is_fates_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FATELAB_FLOW_PORT", raising=False)
    server = LocalFlowServer(Path("/tmp/none"))
    assert (server.http_port, server.grpc_port) == (9380, 9360)


def test_the_variable_moves_http_and_grpc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATELAB_FLOW_PORT", "9580")
    engine = StandaloneEngine(Path("/tmp/none"), progress=False)
    assert (engine.server.http_port, engine.server.grpc_port) == (9580, 9560)
    # An explicit port still wins.
    assert LocalFlowServer(Path("/tmp/none"), http_port=9480).endpoint == "127.0.0.1:9480"


@pytest.mark.parametrize("value", ["abc", "80", "70000", "-1"])
def test_a_bad_value_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FATELAB_FLOW_PORT", value)
    with pytest.raises(EngineError, match="FATELAB_FLOW_PORT"):
        default_flow_port()
