"""What every FATE engine offers the study: place and upload a party's table, run a federated fit.

The study never knows whether FATE runs embedded on this machine, on three lab hosts, or on
KubeFATE 1.8 machines; it only calls the methods of :class:`Engine`. A fit is described without any
FATE version's parameters (:class:`FitJob`: roles, tables, the neutral model settings); each engine
translates it in its own mapping module (``engines/fate22/mapping.py``, ``engines/fate18/mapping.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

if TYPE_CHECKING:
    # Types only: importing the trainer (torch) is not something an engine's caller should pay for.
    from harness.model.hetero_lr import HeteroLRSettings
    from harness.model.logreg import HomoLRSettings
    from harness.model.nn import HomoNNSettings
    from harness.model.secureboost import SecureBoostSettings

    # The model families a fit can train. A new family (HomoNN, SecureBoost, HeteroLR) is one more
    # settings type here, registered in each engine's mapping module; nothing else dispatches on it.
    ModelSettings = HomoLRSettings | HomoNNSettings | SecureBoostSettings | HeteroLRSettings

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

    def party_roles(self) -> list[tuple[str, str]]:
        """Every (role, party) of a fit: guest, hosts, arbiter (a party may hold two roles)."""
        return [("guest", self.guest), *(("host", h) for h in self.hosts), ("arbiter", self.arbiter)]


@dataclass(frozen=True)
class FitJob:
    """One federated fit on each data party's train table, scored on each party's test table.

    Engine-neutral: ``model`` holds the study's settings, not any FATE version's parameters. What
    "full batch" means in rows is each engine's to derive, from :meth:`max_party_rows`.
    """

    roles: Roles
    train: Mapping[str, Table]
    test: Mapping[str, Table]
    model: ModelSettings
    label: str = "loan_status"
    id_column: str = "sample_id"

    def max_party_rows(self) -> int:
        """The largest party's training rows: a batch this large is full batch for every party."""
        return max(t.rows for t in self.train.values())


@dataclass(frozen=True)
class ModelMapping:
    """How an engine's FATE expresses a fit's model settings, for the report's model section."""

    target: str
    mapping: Mapping[str, str]
    caveats: Sequence[str]

    def section(self) -> dict[str, Any]:
        """The model section's keys in results.json."""
        return {"fate_target": self.target, "fate_mapping": dict(self.mapping), "not_expressible": list(self.caveats)}


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
    # What a family reports beyond scores: a vertical fit's PSI counts and per-phase seconds.
    extras: dict[str, Any] = field(default_factory=dict)
    # Per-round series (HomoNN on the launcher: the guest's "test_accuracy" after every round).
    curves: dict[str, list[float]] = field(default_factory=dict)


class Engine(Protocol):
    """A FATE deployment the harness can drive."""

    name: str

    def start(self) -> None:
        """Make sure every party's FATE is up; raise EngineError/HostError naming what is not."""

    def describe(self) -> dict[str, Any]:
        """Name, version and endpoints, for the report."""

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Put each local CSV into its party's FATE (and only there); reuse tables already there whole."""

    def run_many(self, jobs: Sequence[tuple[str, FitJob]]) -> list[JobResult]:
        """Run labelled jobs, wait for them, return guest test scores; on failure raise with the log."""

    def flow_clients(self) -> Mapping[str, Any]:
        """Each FATE-Flow 2.2 this engine drives, by "host:port": where a run's jobs are stopped."""

    def model_mapping(self, job: FitJob) -> ModelMapping:
        """How this engine's FATE expresses ``job``'s model settings, and what it cannot express."""

    def placement(self) -> dict[str, Any] | None:
        """Where each party's files went (host, remote path, sha256, rows); None when nothing moved."""

    def validation(self) -> dict[str, Any] | None:
        """The same fit through a second engine, compared (the launcher with --validate); else None."""
