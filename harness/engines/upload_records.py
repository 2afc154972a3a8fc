"""Tables known to be whole: written only after an upload finished and its row count checked.

A table's name carries a digest of its content, so a table with the right name and row count looks
reusable. It is not proof: a run killed while FATE-Flow was still writing a table (or stopped half-way
by the next run) can leave a table under a trusted name. FATE-Flow keeps no "finished" mark of its
own that survives this, so the harness keeps one: after the upload job succeeded and the table holds
the expected rows, it records FATE-Flow endpoint, table, rows, the file's sha256 and the upload job.
Only a recorded table is reused; anything else under that name is deleted and uploaded again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.output_pair import replace_file


class UploadRecords:
    """A small JSON file of completed uploads, updated under a lock (two runs may share it)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @staticmethod
    def key(endpoint: str, namespace: str, name: str) -> str:
        return f"{endpoint}/{namespace}/{name}"

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            yield records
            replace_file(self.path, json.dumps(records, indent=1, sort_keys=True))

    def is_complete(self, endpoint: str, namespace: str, name: str, *, rows: int, sha256: str) -> bool:
        record = self._read().get(self.key(endpoint, namespace, name))
        return bool(record) and record.get("rows") == rows and record.get("sha256") == sha256

    def add(self, endpoint: str, namespace: str, name: str, *, rows: int, sha256: str, job_id: str) -> None:
        with self._locked() as records:
            records[self.key(endpoint, namespace, name)] = {"rows": rows, "sha256": sha256, "upload_job": job_id}

    def forget(self, endpoint: str, namespace: str, name: str) -> None:
        with self._locked() as records:
            records.pop(self.key(endpoint, namespace, name), None)
