"""What every FATE engine offers the experiment: place and upload a party's table, run a HomoLR job.

The experiment never knows whether FATE runs embedded on this machine, on three lab hosts, or on
KubeFATE 1.8 machines; it only calls these methods. Implementations are thin adapters over I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

NAMESPACE = "fatelab"


@dataclass(frozen=True)
class Table:
    """A dataframe table in one party's FATE storage."""

    party_id: str
    namespace: str
    name: str
    rows: int


@dataclass(frozen=True)
class Roles:
    guest: str
    hosts: tuple[str, ...]
    arbiter: str

    def data_parties(self) -> tuple[str, ...]:
        return (self.guest, *self.hosts)

    def all_parties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.data_parties(), self.arbiter)))


@dataclass(frozen=True)
class HomoLRJob:
    """One federated fit on each data party's train table, scored on each party's test table."""

    roles: Roles
    train: Mapping[str, Table]
    test: Mapping[str, Table]
    params: Mapping[str, Any]
    label: str = "loan_status"
    id_column: str = "sample_id"


@dataclass(frozen=True)
class UploadRequest:
    """A local CSV destined for one party's FATE as table ``name`` (content-addressed)."""

    party_id: str
    path: Path
    name: str
    rows: int
    label: str = "loan_status"
    id_column: str = "sample_id"
    # sha256 of the file's content: with the row count, what an upload's completion record vouches for.
    sha256: str = ""


@dataclass
class JobResult:
    job_id: str
    # Guest's scores on its test table: columns id_column, label, score.
    scores: pd.DataFrame
    # Metrics as FATE's Evaluation component reported them for the test set.
    fate_metrics: dict[str, float]
    wall_s: float
    task_seconds: dict[str, float] = field(default_factory=dict)
    loss_history: list[float] = field(default_factory=list)
    # The guest's final model, {"weight": [...], "bias": [...]}, where the engine returns it.
    coefficients: dict[str, list[float]] = field(default_factory=dict)
    # Bytes on the wire per party (harness.engines.fate22.wire.fit_traffic), where the engine counts them.
    traffic: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A FATE deployment the harness can drive."""

    name: str

    def start(self) -> None:
        """Make sure every party's FATE is up; raise EngineError/HostError naming what is not."""

    def describe(self) -> dict[str, Any]:
        """Name, version and endpoints, for the report."""

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Put each local CSV into its party's FATE (and only there); reuse tables already there whole."""

    def run_many(self, jobs: Sequence[tuple[str, HomoLRJob]]) -> list[JobResult]:
        """Run labelled jobs, wait for them, return guest test scores; on failure raise with the log."""

    def flow_clients(self) -> Mapping[str, Any]:
        """Each FATE-Flow 2.2 this engine drives, by "host:port": where a run's jobs are stopped."""
