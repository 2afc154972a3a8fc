"""Where a cluster run put each party's rows, as one table: a reader checks isolation at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.format import count
from harness.report.markup import Table

TITLE = "Placement (cluster mode)"
NOTE = "Each party's files, on its own host only (sha256 computed on the host after the copy)."


def placement_table(placement: Any) -> Table | None:
    """One row per file on a party's host; None when ``placement`` is not the per-party shape the host
    engines record (``{party: {"host", "address", "files": [...]}}``), which the report then shows as is."""
    if not isinstance(placement, Mapping) or not placement:
        return None
    rows: list[list[str]] = []
    for party, where in placement.items():
        if not isinstance(where, Mapping) or not isinstance(where.get("files"), list):
            return None
        host = f"{where.get('host', '?')} ({where.get('address', '?')})"
        for file in where["files"]:
            if not isinstance(file, Mapping):
                return None
            rows.append([
                str(party), host, str(file.get("remote_path", "?")), count(file.get("rows")),
                str(file.get("sha256", ""))[:12], "yes" if file.get("transferred") else "no (already there)",
            ])
    return Table("placement", ["Party", "Host", "File on the host", "Rows", "sha256 (first 12)", "Copied this run"],
                 "lllrll", rows)
