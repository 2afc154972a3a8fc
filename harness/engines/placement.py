"""What each party's host holds: results.json's ``placement`` section and a placement.json beside it.

Both cluster engines (FATE 2.2 and KubeFATE 1.8) place files the same way (harness/hosts/transfer.py); this
keeps their record of it in one shape so reports and isolation checks read one format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.engines.base import UploadRequest
from harness.errors import DataError
from harness.hosts.transfer import Placement
from harness.output_pair import replace_file


def check_rows(request: UploadRequest, placed: Placement) -> None:
    """The host's copy must hold as many data lines as the table the experiment asked for."""
    if placed.rows != request.rows:
        raise DataError(
            f"{request.path} has {placed.rows} data lines but the table {request.name} should have "
            f"{request.rows} rows",
            hint="the file changed after it was written; delete it and re-run",
        )


class PlacementLog:
    """Per party, the files placed on its host (latest entry per remote path)."""

    def __init__(self, path: Path, namespace: str) -> None:
        self.path = path
        self.namespace = namespace
        self._files: dict[str, list[dict[str, Any]]] = {}

    def record(self, request: UploadRequest, placed: Placement, **extra: Any) -> None:
        entry = {
            "table": f"{self.namespace}.{request.name}",
            "local_path": str(request.path),
            "remote_path": placed.remote_path,
            "sha256": placed.sha256,
            "rows": placed.rows,
            "bytes": placed.bytes,
            "transferred": placed.transferred,
            **extra,
        }
        files = self._files.setdefault(placed.party_id, [])
        files[:] = [f for f in files if f["remote_path"] != placed.remote_path] + [entry]

    def as_dict(self, party_info: Callable[[str], Mapping[str, Any]]) -> dict[str, Any]:
        """JSON-able, keyed by party id (in numeric order); ``party_info`` gives each party's host, address, dirs."""
        return {pid: {**party_info(pid), "files": self._files[pid]} for pid in sorted(self._files, key=int)}

    def write(self, party_info: Callable[[str], Mapping[str, Any]]) -> None:
        if not self._files:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, json.dumps(self.as_dict(party_info), indent=2, sort_keys=True))
