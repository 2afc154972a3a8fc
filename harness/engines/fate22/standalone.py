"""The embedded default engine: one FATE-Flow 2.2 on this machine serving all three parties."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.engines.base import FitJob, JobResult, Table, UploadRequest
from harness.engines.fate22.client import FlowRestClient
from harness.engines.fate22.jobs import Flow22Jobs, SingleFlow, upload_tables
from harness.engines.fate22.mapping import Fate22Engine
from harness.engines.fate22.server import LocalFlowServer
from harness.engines.jobs import DEFAULT_PACE, Pace, run_jobs
from harness.engines.upload_records import UploadRecords
from harness.progress import Progress


class StandaloneEngine(Fate22Engine):
    """FATE 2.2 standalone: every party's tables live in one local FATE-Flow.

    Isolation between parties is logical only (distinct table names); the lab engine gives each
    party its own host. Good for the study's numbers, not for proving data placement.
    """

    name = "fate-2.2-standalone"

    def __init__(
        self, home: Path, *, port: int | None = None, grpc_port: int | None = None, progress: bool | Progress = True
    ) -> None:
        self.server = LocalFlowServer(home, http_port=port, grpc_port=grpc_port, cores=6)
        self.progress = progress
        self._client: FlowRestClient | None = None
        # Beside the FATE-Flow home whose tables it vouches for: removing one removes both.
        self.upload_records = UploadRecords(self.server.home / "uploads.json")

    @property
    def client(self) -> FlowRestClient:
        if self._client is None:
            self._client = FlowRestClient(self.server.host, self.server.http_port, self.server.client_key())
        return self._client

    def start(self) -> None:
        self.server.start()

    def flow_clients(self) -> dict[str, FlowRestClient]:
        """Every FATE-Flow this engine drives, by endpoint (one: it serves all parties)."""
        return {self.client.endpoint: self.client}

    def describe(self) -> dict[str, Any]:
        return self.describe_fate() | {
            "fate_flow_version": importlib.metadata.version("fate_flow"),
            "endpoint": self.server.endpoint,
            "home": str(self.server.home),
        }

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        # Standalone: the server reads the controller's files directly.
        return upload_tables(self.client, requests, progress=self.progress, records=self.upload_records)

    def run_many(self, jobs: Sequence[tuple[str, FitJob]], *, pace: Pace = DEFAULT_PACE) -> list[JobResult]:
        """``pace``: the launcher's validation beside a launch polls with a sleep that a failed launch cancels."""
        return run_jobs(Flow22Jobs(SingleFlow(self.client)), jobs, progress=self.progress, pace=pace)

    def placement(self) -> None:
        """Nothing moves: the server reads the controller's files in place."""
        return None
