"""Step 8 and the output: parsed, complete rows laid out as prepared.csv's columns.

:func:`encode` builds the frame (id, numbers, one-hot, groups, label); :func:`write_prepared_csv`
writes the same bytes straight from the parsed arrays, which is how prepare_file writes the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.data import lending_club as lc
from harness.data.csv_writer import column_text, one_hot_text, write_pieces


def encode(parsed: dict[str, np.ndarray]) -> pd.DataFrame:
    """Lay out parsed, complete rows as prepared.csv: id, numbers, one-hot, groups, label.

    Categorical features arrive as codes into :data:`~harness.data.lending_club.CATEGORIES`, so
    every category gets its column whether or not it occurs in this input.
    """
    n = len(parsed[lc.LABEL])
    columns: dict[str, Any] = {lc.ID_COLUMN: np.arange(n, dtype=np.int64)}
    for column in lc.NUMERIC_FEATURES:
        columns[column] = _numeric(parsed, column)
    for column in lc.CATEGORICAL_FEATURES:
        codes = parsed[column]
        for code, category in enumerate(lc.CATEGORIES[column]):
            columns[lc.one_hot_column(column, category)] = (codes == code).astype(np.int8)
    for column in lc.GROUP_COLUMNS:
        columns[column] = parsed[column]
    columns[lc.LABEL] = parsed[lc.LABEL].astype(np.int64)
    return pd.DataFrame(columns)


def _numeric(parsed: dict[str, np.ndarray], column: str) -> np.ndarray:
    return parsed[column].astype(np.int64 if column in lc.INTEGER_FEATURES else np.float64)


def write_prepared_csv(parsed: dict[str, np.ndarray], path: Path, *, rows_per_slice: int = 100_000) -> None:
    """Write parsed, complete rows as prepared.csv: the same bytes as writing :func:`encode`'s frame
    with :func:`~harness.data.csv_writer.write_frame_csv`, the one-hot blocks pasted straight from the codes.
    """
    rows = len(parsed[lc.LABEL])
    pieces = [column_text(np.arange(rows, dtype=np.int64))]
    pieces += [column_text(_numeric(parsed, column)) for column in lc.NUMERIC_FEATURES]
    pieces += [one_hot_text(parsed[column], len(lc.CATEGORIES[column])) for column in lc.CATEGORICAL_FEATURES]
    pieces += [column_text(parsed[column]) for column in lc.GROUP_COLUMNS]
    pieces.append(column_text(parsed[lc.LABEL].astype(np.int64)))
    write_pieces(path, lc.output_columns(), pieces, rows, rows_per_slice=rows_per_slice)
