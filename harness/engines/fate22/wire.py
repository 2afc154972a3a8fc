"""Bytes on the wire: what one party's FATE federation sends, counted from the serialized messages.

FATE 2.2 has no such metric. Every object a party sends goes through
``fate.arch.federation.api.Federation.push_bytes`` (a pickled message, one per ``ctx.<party>.put``)
or ``push_table`` (a computing table; also how FATE ships a message larger than its maximum message
size, as a table of slices). :class:`WireCounter` wraps those two methods on one federation object
and counts, per recipient: messages, bytes (``len`` of the serialized payload), and for tables the
rows (a table's size on the wire depends on the federation backend, so tables are counted by rows
and the bytes of their byte-string keys and values, as in FATE's message slices).

Rounds: FATE tags every message with its context namespace; HomoLR's FedAvg runs one aggregation
per epoch under the namespace segments ``aggregation-<i>`` and ``loss_aggregation-<i>``
(``fate/ml/nn/trainer/trainer_base.py``, ``indexed_ctx``). The counter
groups by that segment when the tag has one (``round_of``) and counts the rest under ``"setup"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SETUP = "setup"


@dataclass
class Tally:
    messages: int = 0
    bytes: int = 0
    tables: int = 0
    table_rows: int = 0

    def add(self, other: Tally) -> None:
        self.messages += other.messages
        self.bytes += other.bytes
        self.tables += other.tables
        self.table_rows += other.table_rows

    def as_dict(self) -> dict[str, int]:
        return {"messages": self.messages, "bytes": self.bytes, "tables": self.tables, "table_rows": self.table_rows}


# Set from what FATE's tags look like in a HomoLR fit; see tests/test_launcher.py.
_ROUND = re.compile(r"(?:^|\.)(?:loss_)?aggregation-(\d+)(?:\.|$)")


def round_of(tag: str) -> str:
    match = _ROUND.search(tag)
    return match.group(1) if match else SETUP


@dataclass
class WireCounter:
    """Counts one party's outgoing federation traffic; one counter per fit."""

    party: str
    total: Tally = field(default_factory=Tally)
    by_round: dict[str, Tally] = field(default_factory=dict)
    to_party: dict[str, Tally] = field(default_factory=dict)

    def wrap(self, federation: Any) -> Any:
        """Make ``federation`` count what it pushes; returns it for chaining."""
        federation.push_bytes = self._counting_bytes(federation.push_bytes)
        federation.push_table = self._counting_table(federation.push_table)
        return federation

    def _counting_bytes(self, push: Callable[..., Any]) -> Callable[..., Any]:
        def push_bytes(v: bytes, name: str, tag: str, parties: Sequence[Any]) -> Any:
            self.record(tag, parties, Tally(messages=1, bytes=len(v)))
            return push(v=v, name=name, tag=tag, parties=parties)

        return push_bytes

    def _counting_table(self, push: Callable[..., Any]) -> Callable[..., Any]:
        def push_table(table: Any, name: str, tag: str, parties: Sequence[Any]) -> Any:
            self.record(tag, parties, table_tally(table))
            return push(table=table, name=name, tag=tag, parties=parties)

        return push_table

    def record(self, tag: str, parties: Sequence[Any], each: Tally) -> None:
        """One push to ``parties``: every recipient gets its own copy on the wire."""
        for party in parties:
            self.total.add(each)
            self.by_round.setdefault(round_of(tag), Tally()).add(each)
            self.to_party.setdefault(party_label(party), Tally()).add(each)

    def summary(self) -> dict[str, Any]:
        return {
            "party": self.party,
            **self.total.as_dict(),
            "by_round": {k: v.as_dict() for k, v in sorted(self.by_round.items(), key=_round_key)},
            "to": {k: v.as_dict() for k, v in sorted(self.to_party.items())},
        }


def _round_key(item: tuple[str, Tally]) -> tuple[int, int]:
    return (0, 0) if item[0] == SETUP else (1, int(item[0]))


def party_label(party: Any) -> str:
    """FATE's PartyMeta is a (role, party_id) pair."""
    if isinstance(party, tuple | list) and len(party) == 2:
        return f"{party[0]}:{party[1]}"
    return str(party)


def table_tally(table: Any) -> Tally:
    """A table's rows, and the bytes of its byte-string keys and values: FATE's slices of a large message
    are (int index, bytes) rows, so a model too large for one message (HomoNN's) is counted by its bytes."""
    rows = list(table.collect())
    size = sum(_byte_len(k) + _byte_len(v) for k, v in rows)
    return Tally(messages=0, bytes=size, tables=1, table_rows=len(rows))


def _byte_len(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else 0


def fit_traffic(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One fit's traffic: every party's summary, and the totals over parties."""
    total = Tally()
    for s in summaries:
        total.add(Tally(s["messages"], s["bytes"], s["tables"], s["table_rows"]))
    return {"parties": {s["party"]: dict(s) for s in summaries}, **total.as_dict()}
