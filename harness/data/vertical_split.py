"""A prepared table split by owner, as in vertical federated learning: same customers, different columns.

The guest (the lender) holds the label and its own columns for the customers it holds; the host (a
partner) holds other columns for the customers *it* holds. Which customers each side holds is drawn
by seed (by default the guest 90 %, the host 80 %, independently), so the two id sets overlap only
partly and the private set intersection has something to find. Pure functions; every refusal is one
DataError/ConfigError naming the column, party or ids, raised before anything is written or submitted.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.errors import ConfigError, DataError

SPLIT_HINT = "list every feature once, under vertical.guest_features or vertical.host_features ('*' allowed)"


@dataclass(frozen=True)
class FeatureSplit:
    """Which party owns which feature columns (disjoint; together every feature)."""

    guest: tuple[str, ...]
    host: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {"guest": list(self.guest), "host": list(self.host)}


def split_features(features: Sequence[str], guest: Sequence[str], host: Sequence[str]) -> FeatureSplit:
    """Assign each feature to the side whose patterns match it; refuse overlaps, leftovers and dead patterns."""
    owners: dict[str, list[str]] = {f: [] for f in features}
    for side, patterns in (("guest", guest), ("host", host)):
        for pattern in patterns:
            matched = [f for f in features if fnmatch.fnmatchcase(f, pattern)]
            if not matched:
                raise ConfigError(f"vertical.{side}_features: {pattern!r} matches no feature", hint=SPLIT_HINT)
            for f in matched:
                if side not in owners[f]:
                    owners[f].append(side)
    both = [f for f, sides in owners.items() if len(sides) > 1]
    if both:
        raise ConfigError(f"feature(s) on both sides (guest and host): {', '.join(both)}", hint=SPLIT_HINT)
    neither = [f for f, sides in owners.items() if not sides]
    if neither:
        raise ConfigError(f"feature(s) owned by neither party: {', '.join(neither)}", hint=SPLIT_HINT)
    return FeatureSplit(
        guest=tuple(f for f in features if owners[f] == ["guest"]),
        host=tuple(f for f in features if owners[f] == ["host"]),
    )


@dataclass(frozen=True)
class Holdings:
    """The customer ids each party holds (sorted); the true overlap is their intersection."""

    guest: np.ndarray
    host: np.ndarray

    def overlap(self) -> np.ndarray:
        return np.intersect1d(self.guest, self.host)


def draw_holdings(ids: Sequence[int] | np.ndarray, guest_share: float, host_share: float, seed: int) -> Holdings:
    """Each party holds a random ``share`` of the customers, drawn independently by ``seed``."""
    for name, share in (("guest_share", guest_share), ("host_share", host_share)):
        if not 0 < share <= 1:
            raise ConfigError(f"vertical.{name} must be in (0, 1], got {share}", hint="e.g. guest_share: 0.9")
    values = np.asarray(ids)
    if len(np.unique(values)) != len(values):
        raise DataError("customer ids repeat in the prepared table", hint="each row must be one customer")
    rng = np.random.default_rng(seed)
    guest = rng.choice(values, size=round(guest_share * len(values)), replace=False)
    host = rng.choice(values, size=round(host_share * len(values)), replace=False)
    return Holdings(np.sort(guest), np.sort(host))


def party_tables(
    frame: pd.DataFrame, holdings: Holdings, split: FeatureSplit, *, id_column: str, label: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(guest table: id, guest features, label; host table: id, host features), rows of the ids each holds."""
    guest = frame[frame[id_column].isin(holdings.guest)][[id_column, *split.guest, label]]
    host = frame[frame[id_column].isin(holdings.host)][[id_column, *split.host]]
    return guest.reset_index(drop=True), host.reset_index(drop=True)


def check_party_tables(guest: pd.DataFrame, host: pd.DataFrame, *, id_column: str, label: str) -> int:
    """Refuse tables a PSI + hetero fit cannot use; returns the number of shared ids.

    One error each, in this order: the id column missing on a side, id columns of different types,
    duplicate ids on a side, the label on the host, a feature column on both sides, no shared id.
    """
    for side, table in (("guest", guest), ("host", host)):
        if id_column not in table.columns:
            raise DataError(f"the {side}'s table has no id column {id_column!r}", hint="both parties need it")
    kinds = {side: _id_kind(table[id_column]) for side, table in (("guest", guest), ("host", host))}
    if kinds["guest"] != kinds["host"]:
        raise DataError(
            f"id column {id_column!r} is {kinds['guest']} on the guest but {kinds['host']} on the host",
            hint="PSI matches ids as text; give both sides the same id type",
        )
    for side, table in (("guest", guest), ("host", host)):
        repeated = table[id_column][table[id_column].duplicated()]
        if len(repeated):
            shown = ", ".join(map(str, repeated.unique()[:5]))
            raise DataError(
                f"the {side}'s table repeats {repeated.nunique()} id(s), e.g. {shown}",
                hint="one row per customer on each side",
            )
    if label not in guest.columns:
        raise DataError(f"the guest's table has no label column {label!r}", hint="the guest holds the label")
    if label in host.columns:
        raise DataError(f"the host's table has the label column {label!r}", hint="only the guest holds the label")
    shared = sorted((set(guest.columns) & set(host.columns)) - {id_column})
    if shared:
        raise DataError(f"column(s) on both sides: {', '.join(shared)}", hint=SPLIT_HINT)
    found = len(np.intersect1d(guest[id_column].astype(str), host[id_column].astype(str)))
    if found == 0:
        raise DataError(
            f"the guest ({len(guest)} ids) and the host ({len(host)} ids) share no id: nothing to train on",
            hint="check that both sides use the same customer ids",
        )
    return found


def _id_kind(ids: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(ids):
        return "integer"
    if pd.api.types.is_float_dtype(ids):
        return "float"
    return "text"
