"""The streaming pass: steps 1-3's counters over the raw rows, keeping only what later steps need.

:class:`FinishedLoanScan` takes tables whose columns are all nullable strings, from the file
(:func:`scan_file`, chunk by chunk) or from an in-memory frame (:func:`frame_as_strings`), so both
inputs go through the same code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.data.csv_io import iter_batches, iter_tables, open_string_csv
from harness.data.lending_club import LABEL, LABEL_MAP, REQUIRED_COLUMNS
from harness.errors import DataError

_MISSING_STATUS = "<missing>"
_DISTINCT_PROBE_ROWS = 1024


class FinishedLoanScan:
    """Streaming counters for steps 1-3 plus the kept columns of finished loans.

    ``update`` takes Arrow batches whose columns are all nullable strings.
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = list(columns)
        self.rows_in = 0
        self.status_counts: Counter[str] = Counter()
        self.missing: dict[str, int] = dict.fromkeys(self.columns, 0)
        self.distinct: dict[str, set[str]] = {c: set() for c in self.columns}
        self._kept: list[pa.Table] = []
        self._label_values = pa.array(list(LABEL_MAP), type=pa.string())

    @property
    def finished_rows(self) -> int:
        return sum(self.status_counts.get(s, 0) for s in LABEL_MAP)

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self.rows_in += table.num_rows
        status = pc.utf8_trim_whitespace(table.column(LABEL))
        counts = pc.value_counts(status)
        values, tallies = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        for value, count in zip(values, tallies, strict=True):
            self.status_counts[value if value is not None else _MISSING_STATUS] += count
        mask = pc.fill_null(pc.is_in(status, value_set=self._label_values), False)
        n = pc.sum(mask).as_py() or 0
        if n == 0:
            return
        # Only the kept columns of finished loans are copied out; the other columns are counted in
        # place, because copying free text such as desc would cost as much as parsing it.
        self._kept.append(table.select(list(REQUIRED_COLUMNS)).filter(mask))
        finished_rows: np.ndarray | None = None
        for name in self.columns:
            column = table.column(name)
            missing = 0 if column.null_count == 0 else pc.sum(pc.and_(pc.is_null(column), mask)).as_py()
            self.missing[name] += missing or 0
            if len(self.distinct[name]) < 2 and (missing or 0) < n:
                if finished_rows is None:
                    finished_rows = np.flatnonzero(mask.to_numpy())
                self._add_distinct(name, column, finished_rows)

    def _add_distinct(self, name: str, column: pa.ChunkedArray, finished_rows: np.ndarray) -> None:
        # Capped at two: the single-value rule only needs "one" or "more than one". Most columns
        # show two values within their first rows, which spares hashing all of e.g. ``desc``.
        if self._add_unique(name, column.take(pa.array(finished_rows[:_DISTINCT_PROBE_ROWS]))):
            return
        everywhere = pc.drop_null(pc.unique(column)).to_pylist()
        if len(everywhere) <= 1:
            # One raw value in the whole chunk: the finished loans, of which at least one has a
            # value here, hold exactly that one, so no rows need to be copied out to see it.
            self._add_unique(name, pa.array(everywhere, pa.string()))
            return
        self._add_unique(name, column.take(pa.array(finished_rows)))

    def _add_unique(self, name: str, values: pa.Array | pa.ChunkedArray) -> bool:
        """Add the trimmed non-empty values; True once the column has shown two distinct values."""
        seen = self.distinct[name]
        for value in pc.unique(values).to_pylist():
            if value is not None and value.strip():
                seen.add(value.strip())
                if len(seen) >= 2:
                    return True
        return False

    def kept_table(self) -> pa.Table:
        """The required columns of all finished loans, as nullable strings."""
        if not self._kept:
            return pa.table({c: pa.array([], pa.string()) for c in REQUIRED_COLUMNS})
        return pa.concat_tables(self._kept)


def frame_as_strings(raw: pd.DataFrame) -> pa.Table:
    """The in-memory counterpart of reading every CSV column as a nullable string."""
    arrays = []
    for name in raw.columns:
        values = raw[name].tolist()
        arrays.append(pa.array([None if _is_missing(v) else str(v) for v in values], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=[str(c) for c in raw.columns])


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def scan_file(
    path: Path, columns: list[str], block_size: int, chunk_rows: int, rows_guess: int | None
) -> FinishedLoanScan:
    """Steps 1-3's counters over the whole file; a progress bar (in rows) when ``rows_guess`` is set.

    Memory is bounded by one chunk of ``chunk_rows`` rows (all columns) plus the kept columns of
    finished loans; the chunk size only sets how often the per-column Python work runs.
    """
    reader = open_string_csv(path, columns, block_size)
    if reader.schema.names != columns:
        raise DataError(
            f"input file {path}: the CSV reader sees columns {reader.schema.names[:5]}... "
            f"instead of the header {columns[:5]}...",
            hint="check the header line and the delimiter (must be ',')",
        )
    scan = FinishedLoanScan(columns)
    # pyarrow reads the file itself, so progress is counted in rows against an estimate.
    bar = _progress_bar(rows_guess, path.name) if rows_guess is not None else None
    try:
        batches = iter_batches(reader, path)
        for table in iter_tables(batches if bar is None else _counted(batches, bar), chunk_rows):
            scan.update(table)
    finally:
        if bar is not None:
            bar.close()
    return scan


def _counted(batches: Iterator[pa.RecordBatch], bar: Any) -> Iterator[pa.RecordBatch]:
    """Advance ``bar`` per 4 MiB batch read, not per (much larger) chunk scanned."""
    for batch in batches:
        bar.update(batch.num_rows)
        yield batch


def _progress_bar(total: int, name: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=" rows", unit_scale=True, desc=f"prepare {name}")
