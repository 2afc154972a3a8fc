"""Identifiers that come from users or from FATE-Flow and end up in paths, commands and file names.

Party ids come from inventories and study configs; job ids come back from FATE-Flow's replies. Both
are decimal numbers in FATE, and both reach places where any other character is dangerous (a job id
names a log directory that is archived as root and fetched to the controller). One validator each,
used everywhere such a value enters the harness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from harness.errors import ConfigError, EngineError

# fullmatch, not match: "$" would accept a trailing newline.
_DECIMAL = re.compile(r"[0-9]+")
# FATE job ids are a timestamp plus a counter (e.g. 202612021503123456780); generous but bounded.
_JOB_ID_MAX_LEN = 64


def party_id(raw: Any, where: str) -> int:
    """``raw`` as a FATE party id (a positive decimal integer); ``where`` names its place for the error."""
    text = raw if isinstance(raw, str) else str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else ""
    if not _DECIMAL.fullmatch(text) or int(text) <= 0:
        raise ConfigError(
            f"{where}: party_id must be a positive integer, got {raw!r}",
            hint="use a numeric FATE party ID such as 9999",
        )
    return int(text)


def check_distinct_parties(holders: Sequence[tuple[int, str]], *, kind: str, scope: str, hint: str) -> None:
    """Every party id held once, and at least two parties; ``holders`` are (party id, who holds it)."""
    seen: dict[int, str] = {}
    for pid, holder in holders:
        if pid in seen:
            raise ConfigError(f"party {pid} is used by two {kind}: {seen[pid]} and {holder}", hint=hint)
        seen[pid] = holder
    if len(seen) < 2:
        raise ConfigError(
            f"{scope} defines {len(seen)} part{'y' if len(seen) == 1 else 'ies'}; federated learning needs at least 2",
            hint=hint,
        )


def job_id(raw: Any) -> str:
    """A job id FATE-Flow returned, checked before it names a path, an archive or a fetch destination."""
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not _DECIMAL.fullmatch(text) or len(text) > _JOB_ID_MAX_LEN:
        raise EngineError(
            f"FATE-Flow returned the job id {raw!r}, which is not a decimal number; refusing to use it",
            hint="FATE job ids are digits only: is this the FATE-Flow you deployed (check its address)?",
        )
    return text
