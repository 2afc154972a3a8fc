"""Every engine offers everything the study calls on it, typed; the shared per-party helpers.

The study calls only the :class:`harness.engines.base.Engine` protocol (no getattr): each engine
class must define every one of its methods, and ``engines/select.py`` must build the engine asked for.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from harness.engines.base import Engine, FitJob, ModelMapping, Roles, Table
from harness.engines.fate18.kubefate import KubeFate18Engine
from harness.engines.fate22.hosts import ClusterEngine
from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.parties import PartyEndpoint, PartyMap, each_party
from harness.engines.select import build_engine
from harness.errors import ConfigError, EngineError, HostError
from harness.hosts.inventory import cluster_from_mapping
from harness.model.logreg import HomoLRSettings

ENGINES = [StandaloneEngine, LauncherEngine, ClusterEngine, KubeFate18Engine]
PROTOCOL = [name for name, _ in inspect.getmembers(Engine, inspect.isfunction) if not name.startswith("_")]


def test_the_protocol_names_what_the_study_calls() -> None:
    assert set(PROTOCOL) == {
        "start", "describe", "upload_many", "run_many", "flow_clients", "model_mapping", "placement", "validation",
    }  # fmt: skip


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.__name__)
def test_every_engine_implements_the_whole_protocol(engine: type) -> None:
    missing = [name for name in PROTOCOL if not callable(getattr(engine, name, None))]
    assert not missing, f"{engine.__name__} lacks {missing}"
    assert isinstance(engine.name, str) and engine.name.startswith("fate-")


def test_local_engines_answer_the_optional_parts_with_none(tmp_path: Path) -> None:
    roles = Roles(guest="9999", hosts=("9998",), arbiter="10000")
    job = FitJob(
        roles,
        {p: Table(p, "fatelab", f"train_{p}", 10 + i) for i, p in enumerate(roles.data_parties())},
        {p: Table(p, "fatelab", "test", 5) for p in roles.data_parties()},
        HomoLRSettings(),
    )
    for engine in (StandaloneEngine(tmp_path / "flow", progress=False), LauncherEngine(tmp_path, progress=False)):
        assert engine.placement() is None and engine.validation() is None
        found = engine.model_mapping(job)
        assert isinstance(found, ModelMapping) and found.target == "FATE 2.2 HomoLR"
        assert "batch_size=11 " in found.mapping["full batch (batch_size -1)"]  # the larger party's rows


def test_select_builds_the_engine_asked_for(tmp_path: Path) -> None:
    common = {"model": HomoLRSettings(), "work_dir": tmp_path / "work", "flow_home": tmp_path / "flow"}
    assert isinstance(build_engine("standalone", **common, progress=False), StandaloneEngine)
    launcher = build_engine("launcher", **common, validate=True, progress=False)
    assert isinstance(launcher, LauncherEngine) and isinstance(launcher.reference, StandaloneEngine)
    assert build_engine("launcher", **common, progress=False).reference is None
    with pytest.raises(ConfigError, match="needs an inventory"):
        build_engine("cluster", **common)


def two_parties() -> PartyMap:
    hosts = {f"h{p}": {"ansible_host": "10.0.0.1", "party_id": p} for p in (10000, 9999)}
    cluster = cluster_from_mapping({"all": {"children": {"fate_parties": {"hosts": hosts}}}}, name="two")
    return PartyMap([PartyEndpoint(p, p.address, 9380) for p in cluster.parties], Path("two.yml"))


def test_party_ids_are_strings_in_numeric_order_and_unknown_ones_are_a_config_error() -> None:
    parties = two_parties()
    assert parties.ids() == ["9999", "10000"]
    assert parties["9999"].party_id == "9999" and parties[9999].party_id == "9999"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"party 9998 is not in inventory two.yml \(parties: \['9999', '10000'\]\)"):
        parties["9998"]


def test_each_party_reports_every_partys_failure_once() -> None:
    def work(pid: str) -> None:
        if pid != "9999":
            raise HostError(f"party {pid} failed", hint="fix it")

    with pytest.raises(HostError, match="party 10000 failed"):
        each_party(["9999", "10000"], work)  # one failure: raised as it is

    def all_fail(pid: str) -> None:
        raise HostError(f"party {pid} failed", hint="fix it")

    with pytest.raises(EngineError) as both:
        each_party(["9999", "10000", "9999"], all_fail)
    assert both.value.message == "party 9999 failed\nparty 10000 failed" and both.value.hint == "fix it"
