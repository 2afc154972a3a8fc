"""What a party computes on, read from the inventory: FATE's standalone engine or a Spark cluster.

Inventory vars (per party host, or inherited from a group):

- ``computing``: ``standalone`` (default) or ``spark``;
- ``spark_workers``: inventory host names that run Spark workers for this party. Each must be an
  inventory host with an ``ansible_host`` that is neither a party nor another party's worker (a
  party's rows may reach its own hosts only). Empty with ``computing: spark`` means the party's own
  host runs the one worker (the ``spark`` role does the same).

One error names the host, the variable and the value; nothing is half-read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError

COMPUTING_VAR = "computing"
WORKERS_VAR = "spark_workers"
ENGINES = ("standalone", "spark")


@dataclass(frozen=True)
class SparkWorker:
    host: str
    address: str


@dataclass(frozen=True)
class Computing:
    """One party's computing engine; ``workers`` only for Spark."""

    engine: str = "standalone"
    workers: tuple[SparkWorker, ...] = ()

    def record(self, party_host: str) -> dict[str, Any]:
        """What results.json says about the party: its engine and, for Spark, the hosts its rows reach."""
        if self.engine != "spark":
            return {"computing": self.engine}
        return {"computing": "spark", "workers": [w.host for w in self.workers] or [party_host]}


def party_computing(
    host: str, party_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], party_hosts: Sequence[str]
) -> Computing:
    """The party on ``host``'s computing, checked against the inventory's hosts."""
    engine = party_vars.get(COMPUTING_VAR, "standalone")
    if engine not in ENGINES:
        raise ConfigError(
            f"host {host}: {COMPUTING_VAR} {engine!r} is not one of {', '.join(ENGINES)}",
            hint=f"set {COMPUTING_VAR}: standalone (FATE's own engine) or spark (a Spark cluster per party)",
        )
    names = party_vars.get(WORKERS_VAR) or []
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ConfigError(
            f"host {host}: {WORKERS_VAR} must be a list of inventory host names, got {names!r}",
            hint=f"e.g. {WORKERS_VAR}: [worker9998a]",
        )
    if names and engine != "spark":
        raise ConfigError(
            f"host {host}: {WORKERS_VAR} {list(names)} given but {COMPUTING_VAR} is {engine!r}",
            hint=f"set {COMPUTING_VAR}: spark on this party, or drop {WORKERS_VAR}",
        )
    workers = []
    for name in map(str, names):
        if name in party_hosts:
            raise ConfigError(
                f"host {host}: Spark worker {name!r} is a party's host",
                hint="a worker is a host of its own, listed in the inventory without party_id",
            )
        if name not in host_vars:
            raise ConfigError(
                f"host {host}: Spark worker {name!r} is not a host in the inventory",
                hint=f"add {name} under a group (e.g. spark_workers) with its ansible_host",
            )
        address = host_vars[name].get("ansible_host")
        if not address:
            raise ConfigError(f"host {host}: Spark worker {name!r} has no ansible_host")
        workers.append(SparkWorker(host=name, address=str(address).strip()))
    if len({w.host for w in workers}) != len(workers):
        raise ConfigError(f"host {host}: {WORKERS_VAR} lists a worker twice: {list(names)}")
    return Computing(engine=engine, workers=tuple(workers))


def check_workers_exclusive(computing: Mapping[str, Computing]) -> None:
    """A worker holds one party's rows only: no host may work for two parties."""
    owner: dict[str, str] = {}
    for party_host, comp in computing.items():
        for worker in comp.workers:
            if worker.host in owner:
                raise ConfigError(
                    f"Spark worker {worker.host!r} is listed by both {owner[worker.host]} and {party_host}",
                    hint="each party needs its own worker hosts: its rows must stay on its own machines",
                )
            owner[worker.host] = party_host
