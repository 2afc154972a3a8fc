"""Split one prepared table into per-party tables, the way Flower Datasets' partitioners do.

Every partitioner maps a frame to ``{party_id: rows}``. Rows keep their original index, appear in
exactly one party (disjoint and complete), and the result depends only on the frame and the seed.

* :class:`SizePartitioner` - quantity skew: fixed shares of the rows (the study: 25/25/50 for
  parties 10000/9999/9998), optionally stratified by the label so each party keeps the class mix.
* :class:`DirichletPartitioner` - label skew: per class, the rows are shared out by a draw from
  Dirichlet(alpha); small alpha gives parties with very different default rates.
* :class:`ColumnPartitioner` - natural groups (regional banks): each value of a column (``addr_state``)
  goes to one party as a whole, largest groups first to the party furthest below its target.

Party IDs are strings (FATE party IDs such as ``"9999"``); integers from YAML are accepted and turned
into strings.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.data.checks import refuse_repeats, require_columns
from harness.errors import ConfigError, DataError

_RATIO_TOLERANCE = 1e-6


def _party_ids(party_ids: Sequence[Any]) -> tuple[str, ...]:
    if isinstance(party_ids, str | bytes) or not isinstance(party_ids, Sequence | Mapping):
        raise ConfigError(
            f"party IDs must be a list, got {party_ids!r}", hint='write e.g. party_ids: ["9999", "9998"]'
        )
    ids: list[str] = []
    for raw in party_ids:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ConfigError(f"party ID {raw!r} is not a string or integer", hint='use IDs such as "9999"')
        pid = str(raw).strip()
        if not pid:
            raise ConfigError("a party ID is empty", hint="give every party a non-empty ID such as 9999")
        ids.append(pid)
    if not ids:
        raise ConfigError("no party IDs given", hint="list at least one party")
    refuse_repeats(ids, "duplicate party IDs", hint="every party needs its own ID", error=ConfigError)
    return tuple(ids)


def _is_positive_number(value: Any) -> bool:
    # bool is an int to Python, but `ratio: true` in a config is a typo, not a share of 1.
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value > 0


def _check_frame(frame: pd.DataFrame, n_parties: int, columns: Sequence[str] = ()) -> None:
    require_columns(frame, columns, hint=f"available columns: {', '.join(map(str, frame.columns[:20]))}")
    if not frame.index.is_unique:
        raise DataError(
            "the data's index has duplicate labels, so parties could not be kept disjoint",
            hint="call frame.reset_index(drop=True) before partitioning",
        )
    if len(frame) < n_parties:
        raise DataError(
            f"{len(frame)} rows cannot be split among {n_parties} parties",
            hint="use more rows or fewer parties",
        )


def _largest_remainder(total: int, shares: Sequence[float]) -> np.ndarray:
    """Integer counts summing to ``total``, each within one of ``share * total`` (Hamilton's method)."""
    quotas = np.asarray(shares, dtype=float) * total
    counts = np.floor(quotas).astype(int)
    remainder = total - int(counts.sum())
    # Stable sort keeps the order deterministic when remainders tie: earlier parties win.
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def _split_positions(
    positions: np.ndarray, counts: Sequence[int], ids: Sequence[str]
) -> dict[str, np.ndarray]:
    bounds = np.cumsum([0, *counts])
    return {pid: np.sort(positions[bounds[i] : bounds[i + 1]]) for i, pid in enumerate(ids)}


def _to_frames(frame: pd.DataFrame, positions: Mapping[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    return {pid: frame.iloc[pos] for pid, pos in positions.items()}


class Partitioner(ABC):
    """Maps a frame to ``{party_id: rows}``; rows keep their original index."""

    party_ids: tuple[str, ...]

    @abstractmethod
    def partition(self, frame: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
        """Split ``frame`` among ``party_ids``, deterministically for ``seed``."""


class SizePartitioner(Partitioner):
    """Shares of the rows per party; each party's size is within one row of ``ratio * n``.

    With ``stratify`` (a label column) the rows of each class are spread evenly through the deal, so
    every party's class counts are also within about one row of ``ratio * n_class``.
    """

    def __init__(self, ratios: Mapping[Any, float], *, stratify: str | None = None) -> None:
        if not isinstance(ratios, Mapping) or not ratios:
            raise ConfigError(
                f"ratios must be a non-empty mapping of party ID to share, got {ratios!r}",
                hint='write e.g. ratios: {"10000": 0.25, "9999": 0.25, "9998": 0.5}',
            )
        self.party_ids = _party_ids(list(ratios.keys()))
        values: list[float] = []
        for pid, raw in zip(self.party_ids, ratios.values(), strict=True):
            if not _is_positive_number(raw):
                raise ConfigError(f"ratio for party {pid} must be a positive number, got {raw!r}")
            values.append(float(raw))
        total = sum(values)
        if abs(total - 1.0) > _RATIO_TOLERANCE:
            raise ConfigError(
                f"ratios sum to {total:.6g}, not 1", hint="make the parties' shares add up to exactly 1"
            )
        self.ratios = dict(zip(self.party_ids, values, strict=True))
        self.stratify = stratify

    def partition(self, frame: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
        _check_frame(frame, len(self.party_ids), [self.stratify] if self.stratify else [])
        n = len(frame)
        counts = _largest_remainder(n, list(self.ratios.values()))
        empty = [pid for pid, c in zip(self.party_ids, counts, strict=True) if c == 0]
        if empty:
            raise DataError(
                f"with {n} rows, party(ies) {', '.join(empty)} would get no rows",
                hint="use more rows or larger ratios",
            )
        rng = np.random.default_rng(seed)
        if self.stratify is None:
            order = rng.permutation(n)
        else:
            order = self._interleaved_order(frame[self.stratify].to_numpy(), rng)
        return _to_frames(frame, _split_positions(order, counts, self.party_ids))

    @staticmethod
    def _interleaved_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # Each class's rows, shuffled, are placed at evenly spaced points (k + 0.5) / n_class along
        # [0, 1]; any contiguous slice of the merged order then holds each class in proportion.
        keys = np.empty(len(labels))
        codes, _ = pd.factorize(labels, use_na_sentinel=False)
        for code in np.unique(codes):
            members = np.flatnonzero(codes == code)
            shuffled = rng.permutation(members)
            keys[shuffled] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
        return np.argsort(keys, kind="stable")


class DirichletPartitioner(Partitioner):
    """Label skew: each class's rows are split by proportions drawn from Dirichlet(alpha, ..., alpha).

    The draw is repeated (up to ``max_tries`` times, from the same seeded generator) until every party
    has at least ``min_rows`` rows, as Flower's DirichletPartitioner does.
    """

    def __init__(
        self,
        party_ids: Sequence[Any],
        *,
        alpha: float,
        label: str = "loan_status",
        min_rows: int = 1,
        max_tries: int = 100,
    ) -> None:
        self.party_ids = _party_ids(party_ids)
        if not _is_positive_number(alpha):
            raise ConfigError(
                f"Dirichlet alpha must be a positive number, got {alpha!r}",
                hint="small alpha (0.1) gives strong label skew, large alpha (100) nearly none",
            )
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
            raise ConfigError(f"min_rows must be a non-negative integer, got {min_rows!r}")
        if not isinstance(max_tries, int) or max_tries < 1:
            raise ConfigError(f"max_tries must be a positive integer, got {max_tries!r}")
        self.alpha = float(alpha)
        self.label = label
        self.min_rows = min_rows
        self.max_tries = max_tries

    def partition(self, frame: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
        _check_frame(frame, len(self.party_ids), [self.label])
        if self.min_rows * len(self.party_ids) > len(frame):
            raise DataError(
                f"{len(frame)} rows cannot give {len(self.party_ids)} parties {self.min_rows} rows each",
                hint="lower min_rows or use more rows",
            )
        rng = np.random.default_rng(seed)
        codes, _ = pd.factorize(frame[self.label].to_numpy(), use_na_sentinel=False)
        k = len(self.party_ids)
        for _ in range(self.max_tries):
            assigned: list[list[np.ndarray]] = [[] for _ in range(k)]
            for code in np.unique(codes):
                members = rng.permutation(np.flatnonzero(codes == code))
                shares = rng.dirichlet(np.full(k, self.alpha))
                counts = _largest_remainder(len(members), shares)
                bounds = np.cumsum([0, *counts])
                for p in range(k):
                    assigned[p].append(members[bounds[p] : bounds[p + 1]])
            parts = [np.sort(np.concatenate(chunks)) for chunks in assigned]
            if min(len(p) for p in parts) >= self.min_rows:
                return _to_frames(frame, dict(zip(self.party_ids, parts, strict=True)))
        raise DataError(
            f"after {self.max_tries} Dirichlet draws (alpha={self.alpha}) some party still had fewer than "
            f"{self.min_rows} rows",
            hint="raise alpha, lower min_rows, or use more rows",
        )


class ColumnPartitioner(Partitioner):
    """Natural groups: all rows sharing a value of ``column`` go to the same party.

    Groups are dealt largest first, each to the party furthest below its target size (equal shares,
    or ``ratios`` if given); the seed only breaks ties between equally large groups, so the result is
    deterministic for a seed and may differ between seeds only when group sizes tie.
    """

    def __init__(
        self,
        party_ids: Sequence[Any],
        *,
        column: str = "addr_state",
        ratios: Mapping[Any, float] | None = None,
    ) -> None:
        self.party_ids = _party_ids(party_ids)
        if not isinstance(column, str) or not column:
            raise ConfigError(f"column must be a column name, got {column!r}", hint="e.g. addr_state")
        self.column = column
        if ratios is None:
            self.ratios = {pid: 1.0 / len(self.party_ids) for pid in self.party_ids}
        else:
            sized = SizePartitioner(ratios)
            if set(sized.party_ids) != set(self.party_ids):
                raise ConfigError(
                    f"ratios name parties {sorted(sized.party_ids)} "
                    f"but party_ids are {sorted(self.party_ids)}",
                    hint="give a ratio for exactly the listed parties",
                )
            self.ratios = {pid: sized.ratios[pid] for pid in self.party_ids}

    def partition(self, frame: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
        _check_frame(frame, len(self.party_ids), [self.column])
        values = frame[self.column]
        if values.isna().any():
            raise DataError(
                f"{int(values.isna().sum())} rows have no value in {self.column!r}",
                hint=f"fill or drop rows with a missing {self.column} before partitioning by it",
            )
        codes, uniques = pd.factorize(values.to_numpy(), sort=True)
        if len(uniques) < len(self.party_ids):
            raise DataError(
                f"{self.column!r} has {len(uniques)} distinct values, "
                f"fewer than {len(self.party_ids)} parties",
                hint="partition by a column with more groups, or use fewer parties",
            )
        sizes = np.bincount(codes, minlength=len(uniques))
        rng = np.random.default_rng(seed)
        tie_break = rng.permutation(len(uniques))
        order = np.lexsort((tie_break, -sizes))
        targets = np.array([self.ratios[pid] for pid in self.party_ids]) * len(frame)
        filled = np.zeros(len(self.party_ids))
        owner = np.empty(len(uniques), dtype=int)
        for g in order:
            # Empty parties first so that every party gets a group, then the largest deficit.
            deficit = targets - filled
            p = int(np.lexsort((-deficit, filled > 0))[0])
            owner[g] = p
            filled[p] += sizes[g]
        row_owner = owner[codes]
        positions = {pid: np.flatnonzero(row_owner == p) for p, pid in enumerate(self.party_ids)}
        return _to_frames(frame, positions)


_KINDS = {
    "size": {"ratios", "stratify"},
    "dirichlet": {"alpha", "label", "min_rows", "max_tries", "party_ids"},
    "column": {"column", "ratios", "party_ids"},
}


def partitioner_from_config(
    spec: Mapping[str, Any], *, party_ids: Sequence[Any] | None = None
) -> Partitioner:
    """Build a partitioner from a config mapping such as ``{"kind": "dirichlet", "alpha": 0.5}``.

    ``party_ids`` supplies the parties for kinds that do not name them (dirichlet, column) when the
    spec has no ``party_ids`` of its own; a ``size`` spec names its parties through ``ratios``.
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"partition spec must be a mapping, got {spec!r}", hint='e.g. {"kind": "size", ...}'
        )
    kind = spec.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"unknown partition kind {kind!r}", hint=f"use one of: {', '.join(sorted(_KINDS))}")
    options = {k: v for k, v in spec.items() if k != "kind"}
    unknown = sorted(set(options) - _KINDS[kind])
    if unknown:
        raise ConfigError(
            f"partition kind {kind!r} does not take {', '.join(unknown)}",
            hint=f"allowed keys: {', '.join(sorted(_KINDS[kind]))}",
        )
    if kind == "size":
        if "ratios" not in options:
            raise ConfigError("a size partition needs ratios", hint='e.g. ratios: {"9999": 0.5, "9998": 0.5}')
        return SizePartitioner(options["ratios"], stratify=options.get("stratify"))
    ids = options.pop("party_ids", None)
    if ids is None and kind == "column" and isinstance(options.get("ratios"), Mapping):
        ids = list(options["ratios"])
    if ids is None:
        ids = party_ids
    if ids is None:
        raise ConfigError(f"a {kind} partition needs party IDs", hint="add party_ids to the partition spec")
    if kind == "dirichlet":
        if "alpha" not in options:
            raise ConfigError("a dirichlet partition needs alpha", hint="e.g. alpha: 0.5")
        return DirichletPartitioner(ids, **options)
    return ColumnPartitioner(ids, **options)
