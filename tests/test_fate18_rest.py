"""The FATE-Flow 1.8 REST client against the recorded stand-in server (tests/fakes/flow18_standin.py)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.engines.base import Roles, Table
from harness.engines.fate18.client import Flow18Client
from harness.engines.fate18.dsl import HomoLRJob, HomoLRParams, build_conf, build_dsl
from harness.errors import ConfigError, EngineError
from tests.fakes.flow18_standin import Flow18StandIn

DATA = Path(__file__).resolve().parents[1] / "data" / "loan_2011q4_head5k.csv"
ROLES = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")


def _job(optimizer: str = "rmsprop") -> HomoLRJob:
    return HomoLRJob(
        ROLES,
        Table("9999", "experiment", "lc_guest", 0),
        tuple(Table(p, "experiment", f"lc_host_{i}", 0) for i, p in enumerate(ROLES.hosts, start=1)),
        params=HomoLRParams(optimizer=optimizer),
    )


@pytest.fixture()
def standin() -> Iterator[Flow18StandIn]:
    with Flow18StandIn() as server:
        yield server


@pytest.fixture()
def client(standin: Flow18StandIn) -> Flow18Client:
    return Flow18Client("127.0.0.1", standin.port, timeout=5)


def test_version(client: Flow18Client) -> None:
    assert client.version() == "1.8.0"


def test_upload_sends_conf_in_query_and_file_as_multipart(
    client: Flow18Client, standin: Flow18StandIn
) -> None:
    job_id = client.upload(DATA, "lc_guest", "experiment", partition=4)
    rec = standin.requests[-1]
    conf = json.loads(urllib.parse.unquote(rec.query))
    assert conf["file"] == str(DATA.resolve()) and conf["drop"] == 1 and conf["head"] == 1
    assert rec.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"' in rec.body and DATA.read_bytes() in rec.body
    assert client.wait(job_id, "local", 0, poll=0) == "success"


def test_upload_without_drop_of_existing_table_is_an_engine_error(client: Flow18Client) -> None:
    client.upload(DATA, "lc_guest", "experiment")
    with pytest.raises(EngineError, match="retcode 100.*already exists"):
        client.upload(DATA, "lc_guest", "experiment", drop=False)


def test_upload_of_missing_file_is_a_config_error(client: Flow18Client, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        client.upload(tmp_path / "nope.csv", "t", "experiment")


def test_successful_job_round_trip(client: Flow18Client, standin: Flow18StandIn) -> None:
    submitted = client.submit(build_dsl(), build_conf(_job()))
    sent = standin.requests[-1].json()
    assert set(sent) == {"job_runtime_conf", "job_dsl"}
    assert submitted.model_id == "arbiter-10000#guest-9999#host-9998_10000#model"
    sleeps: list[float] = []
    assert client.wait(submitted.job_id, "guest", 9999, poll=0.5, sleep=sleeps.append) == "success"
    assert sleeps == [0.5, 0.5]  # waiting, running, then success
    assert {t["f_status"] for t in client.tasks(submitted.job_id, "guest", 9999)} == {"success"}
    assert client.summary(submitted.job_id, "evaluation_0", "guest", 9999)["homo_lr_0"]["train"]["auc"] > 0.5
    assert "train" in client.metrics(submitted.job_id, "evaluation_0", "guest", 9999)
    out = client.output_data(submitted.job_id, "homo_lr_0", "guest", 9999, limit=1)
    assert out.header[:2] == ["id", "label"] and len(out.rows) == 1
    assert out.rows[0][4] == '{"0": 0.79, "1": 0.21}'  # quoted CSV cell survives
    get = standin.requests[-1]
    assert get.method == "GET" and json.loads(get.body)["limit"] == 1


def test_failed_job_raises_with_its_error_log(client: Flow18Client) -> None:
    # Like FATE 1.8, the bad optimizer is accepted at submit and fails at runtime; the builder
    # would refuse it, so the conf is patched after building.
    conf = build_conf(_job())
    conf["component_parameters"]["common"]["homo_lr_0"]["optimizer"] = "foo"
    submitted = client.submit(build_dsl(), conf)
    with pytest.raises(EngineError) as err:
        client.wait(submitted.job_id, "guest", 9999, poll=0, sleep=lambda _s: None)
    text = str(err.value)
    assert f"FATE job {submitted.job_id} ended failed in homo_lr_0" in text
    assert "ValueError: Optimizer foo not supported" in text
    assert "job/log/download" in (err.value.hint or "")
    print(text)  # shown with pytest -s: what a user sees


def test_wait_times_out(client: Flow18Client) -> None:
    submitted = client.submit(build_dsl(), build_conf(_job()))
    ticks = iter(range(100))
    with pytest.raises(EngineError, match="did not finish within 0 s and was stopped"):
        client.wait(
            submitted.job_id, "guest", 9999, timeout=0, sleep=lambda _s: None, clock=lambda: next(ticks)
        )


def test_unknown_job_and_unreachable_server(client: Flow18Client) -> None:
    with pytest.raises(EngineError, match="retcode 101"):
        client.job_status("nope", "guest", 9999)
    with pytest.raises(EngineError, match="cannot reach FATE-Flow"):
        Flow18Client("127.0.0.1", 9, timeout=2).version()
