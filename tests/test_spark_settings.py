"""A Spark party's settings: checked before any launch, carried in the launch plan for that party only."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engines.base import FitJob, Roles, Table
from harness.engines.fate22.launcher import build_plan
from harness.engines.fate22.spark import SparkComputing
from harness.engines.fate22.spark_watch import Starved
from harness.errors import ConfigError
from harness.model.logreg import HomoLRSettings


def test_spark_conf_points_the_context_at_the_partys_master() -> None:
    conf = SparkComputing(master="spark://10.77.0.13:7077", driver_host="10.77.0.13").spark_conf()
    assert conf["spark.master"] == "spark://10.77.0.13:7077"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "10.77.0.13"
    assert conf["spark.executor.memory"] == "512m" and conf["spark.executor.cores"] == "1"
    assert conf["spark.default.parallelism"] == "1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"master": "http://10.0.0.1:7077"}, r"Spark master 'http://10.0.0.1:7077' is not a spark://HOST:PORT"),
        ({"master": "spark://h:7077", "executor_memory": "lots"}, r"executor_memory 'lots' is not a JVM size"),
        ({"master": "spark://h:7077", "executor_cores": 0}, r"executor_cores must be at least 1"),
    ],
)
def test_bad_spark_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SparkComputing(**kwargs)


def test_the_plan_carries_spark_settings_for_the_spark_party_only(tmp_path: Path) -> None:
    roles = Roles(guest="9999", hosts=("9998",), arbiter="10000")
    train = {p: Table(p, "ns", f"train_{p}", 10) for p in roles.data_parties()}
    test = {p: Table(p, "ns", "test", 5) for p in roles.data_parties()}
    job = FitJob(roles=roles, train=train, test=test, model=HomoLRSettings())
    paths = {(t.party_id, t.name): tmp_path / f"{t.party_id}_{t.name}.csv" for t in [*train.values(), *test.values()]}
    spark = {"9998": SparkComputing(master="local[1]")}
    plan = build_plan([("fit", job)], paths, session="s", out_dir=tmp_path, spark=spark)
    assert list(plan["spark"]) == ["9998"]
    assert plan["spark"]["9998"]["conf"]["spark.master"] == "local[1]"
    assert "spark" not in build_plan([("fit", job)], paths, session="s", out_dir=tmp_path)


def test_starvation_trips_only_after_the_limit_with_a_job_waiting_and_no_executor() -> None:
    starved = Starved()
    assert not starved.step(0.0, busy=True, executors=0, limit=60)
    assert not starved.step(59.0, busy=True, executors=0, limit=60)
    assert starved.step(60.0, busy=True, executors=0, limit=60)


def test_an_executor_or_an_idle_context_resets_the_clock() -> None:
    starved = Starved()
    starved.step(0.0, busy=True, executors=0, limit=60)
    assert not starved.step(50.0, busy=True, executors=1, limit=60)
    assert not starved.step(100.0, busy=True, executors=0, limit=60)
    assert not starved.step(150.0, busy=False, executors=0, limit=60)
    assert not starved.step(200.0, busy=True, executors=0, limit=60)
    assert starved.step(260.0, busy=True, executors=0, limit=60)
    with pytest.raises(ConfigError, match="executors_lost_s must be positive"):
        SparkComputing(master="local[1]", executors_lost_s=0)
