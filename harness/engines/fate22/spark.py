"""A party that computes on Apache Spark: its FATE computing session is FATE's own Spark backend.

FATE 2.2 ships ``fate.arch.computing.backends.spark`` (an RDD per table); its ``CSession`` takes only a
session id and uses whatever ``SparkContext.getOrCreate()`` returns, so the party process creates
that context first, pointed at the party's Spark master (:func:`spark_session`). Everything else
about the party stays the same: FATE's ``HomoLRClient`` runs on the Spark-backed DataFrame.

The launcher's federation between party processes is FATE's standalone one, which keeps its
messages in a standalone (LMDB) session; a Spark party therefore keeps a standalone session for
the *transport only* (HomoLR federates model updates as bytes, never tables). On the lab the
transport is RabbitMQ and the Spark party needs no standalone session.

pyspark is optional (``requirements/spark.txt``, ``make setup-spark``): nothing here imports it
until a party process actually computes on Spark.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engines.fate22.spark_watch import ExecutorWatch
from harness.errors import ConfigError

MASTER_URL = re.compile(r"^(spark://[A-Za-z0-9.\-]+:\d{1,5}|local(\[(\d+|\*)\])?)$")
MEMORY = re.compile(r"^\d+[kmgKMG]$")
# The party process's watch on its SparkContext (one context per process).
_WATCH: ExecutorWatch | None = None


@dataclass(frozen=True)
class SparkComputing:
    """Where and how one party's FATE computes on Spark (one executor per worker, small by default)."""

    master: str
    executor_memory: str = "512m"
    executor_cores: int = 1
    driver_memory: str = "512m"
    # The address executors reach this party's driver at: the party's own host, never a default route.
    driver_host: str = "127.0.0.1"
    # No live executor for this long while a job waits: cancel and fail (spark_watch.py); Spark would wait forever.
    executors_lost_s: float = 120.0
    # Spark's default is 200 shuffle partitions: far too many for tables of thousands of rows on 2 cores.
    conf: Mapping[str, str] = field(default_factory=lambda: {"spark.default.parallelism": "1"})

    def __post_init__(self) -> None:
        if not MASTER_URL.match(self.master):
            raise ConfigError(
                f"Spark master {self.master!r} is not a spark://HOST:PORT or local[N] URL",
                hint="e.g. spark://127.0.0.1:7077 (the party's own master)",
            )
        for name in ("executor_memory", "driver_memory"):
            value = getattr(self, name)
            if not MEMORY.match(value):
                raise ConfigError(f"Spark {name} {value!r} is not a JVM size", hint="e.g. 512m or 2g")
        if self.executor_cores < 1:
            raise ConfigError(f"Spark executor_cores must be at least 1, got {self.executor_cores}")
        if self.executors_lost_s <= 0:
            raise ConfigError(f"Spark executors_lost_s must be positive, got {self.executors_lost_s}")

    def spark_conf(self) -> dict[str, str]:
        """The context's settings: the party's master, small executors, this Python on the executors."""
        return {
            "spark.master": self.master,
            "spark.executor.memory": self.executor_memory,
            "spark.executor.cores": str(self.executor_cores),
            "spark.driver.memory": self.driver_memory,
            "spark.driver.host": self.driver_host,
            "spark.driver.bindAddress": self.driver_host,
            **self.conf,
        }

    def to_plan(self) -> dict[str, Any]:
        return {"conf": self.spark_conf(), "executors_lost_s": self.executors_lost_s}


def spark_session(session_id: str, plan_entry: Mapping[str, Any]) -> Any:
    """FATE's Spark computing session on a context connected to the party's master (party process only)."""
    from fate.arch.computing.backends.spark import CSession
    from pyspark import SparkConf, SparkContext

    # Executors unpickle FATE's closures, so they must run this interpreter (the one with FATE); pyspark
    # reads it from the environment when the context starts (spark.pyspark.python is spark-submit's only).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    conf = SparkConf().setAppName(f"fatelab-{session_id}").setAll(list(plan_entry["conf"].items()))
    context = SparkContext.getOrCreate(conf)
    global _WATCH
    _WATCH = ExecutorWatch(context, float(plan_entry["executors_lost_s"])).start()
    return CSession(session_id)


def lost_executors() -> str | None:
    """Why the watch cancelled this party's Spark jobs, if it did."""
    return _WATCH.reason if _WATCH is not None else None


def stop_spark() -> None:
    """Stop the party's context, so the master frees its executor at once instead of on a timeout."""
    if _WATCH is not None:
        _WATCH.stop()
    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext

    context = SparkContext._active_spark_context  # noqa: SLF001 - the public getOrCreate would start one
    if context is not None:
        context.stop()
