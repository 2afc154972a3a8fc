"""Chapter-3 preparation of the Kaggle Lending Club ``loan.csv`` (2007-2015, 74 columns).

The order of the steps matters and is recorded in the data card:

1. ``label``: keep finished loans (Fully Paid -> 1, Charged Off -> 0); every other status is counted
   and dropped.
2. ``column_missingness``: over finished loans only, drop columns with more than 1/3 missing.
3. ``single_value``: drop columns with a single distinct value.
4. ``feature_selection``: keep the study features, the group column and the label.
5. ``parse``: turn ``term``, ``int_rate``, ``emp_length``, ``revol_util`` ... into numbers; ``emp_length``
   ``n/a`` becomes missing, an unknown category is an error.
6. ``drop_missing_rows``: drop rows with a missing value in a kept column.
7. ``plausibility``: drop rows with a value outside the documented ranges of
   :data:`harness.data.plausible.RANGES` (a negative income, a 99-year employment length), counted per rule.
8. ``one_hot``: expand the categorical features with the fixed :data:`CATEGORIES`.

Steps 1-4 only need per-column counters, so :func:`prepare_file` computes them in one streaming pass
and keeps in memory just the kept columns of finished loans. :func:`prepare_frame` runs the same code
on an in-memory frame.

This module holds the two entry points and the output pair; the work is done by
:mod:`~harness.data.lending_club` (which columns, and why), :mod:`~harness.data.scan` (the streaming
pass), :mod:`~harness.data.parsing` (raw text to numbers), :mod:`~harness.data.cleaning` (steps 1-7
and the data card) and :mod:`~harness.data.encode` (step 8 and prepared.csv's layout).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pandas as pd

from harness import output_pair
from harness.data import checks, cleaning, csv_io, csv_writer, encode, lending_club, parsing, plausible, scan
from harness.data.cleaning import PreparedData, finish_preparation
from harness.data.csv_io import block_size_for, file_sha256, read_header

# The names callers and tests use from this module, wherever they now live. write_prepared_csv is
# looked up here by prepare_file, so replacing it on this module (as the crash tests do) takes effect.
from harness.data.encode import write_prepared_csv
from harness.data.lending_club import (
    CATEGORICAL_FEATURES,
    CATEGORIES,
    GROUP_COLUMNS,
    ID_COLUMN,
    LABEL,
    NUMERIC_FEATURES,
    REQUIRED_COLUMNS,
    STUDY_FEATURES,
    check_required_columns,
    feature_columns,
    one_hot_column,
    output_columns,
)
from harness.data.parsing import parse_column, parse_emp_length, parse_number, parse_percent, parse_term
from harness.errors import DataError

__all__ = [
    "CATEGORICAL_FEATURES",
    "CATEGORIES",
    "GROUP_COLUMNS",
    "ID_COLUMN",
    "LABEL",
    "NUMERIC_FEATURES",
    "REQUIRED_COLUMNS",
    "STUDY_FEATURES",
    "PreparedData",
    "feature_columns",
    "one_hot_column",
    "output_columns",
    "parse_column",
    "parse_emp_length",
    "parse_number",
    "parse_percent",
    "parse_term",
    "prepare_file",
    "prepare_frame",
    "prepared_card",
    "preparation_modules",
    "write_prepared_csv",
]

PREPARED_CSV = "prepared.csv"
DATA_CARD = "data_card.json"
_DIGEST_KEY = "prepared_csv_sha256"


def preparation_modules() -> tuple[ModuleType, ...]:
    """Every module whose code shapes prepared.csv and its card: a cache of prepared data is valid
    only while all of them are unchanged (the study keys its cache on their source)."""
    import sys

    return (sys.modules[__name__], checks, cleaning, csv_io, csv_writer, encode, lending_club, parsing,
            plausible, scan)


def prepare_frame(raw: pd.DataFrame) -> PreparedData:
    """Prepare an in-memory raw frame (loan.csv layout). Pure: no files are read or written."""
    if not isinstance(raw, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(raw).__name__}")
    columns = [str(c) for c in raw.columns]
    if not columns:
        raise DataError("the input frame has no columns", hint="supply the Lending Club loan data")
    checks.refuse_repeats(
        columns,
        "the input frame repeats columns",
        hint="every column name must appear once; rename or drop the repeated columns",
    )
    check_required_columns(columns, "the input frame")
    counters = scan.FinishedLoanScan(columns)
    counters.update(scan.frame_as_strings(raw))
    info = {"path": None, "bytes": None, "sha256": None, "columns": columns}
    return finish_preparation(counters, info, "the input frame")


def prepare_file(
    input_csv: Path, output_dir: Path, *, chunk_rows: int = 200_000, progress: bool = False
) -> dict:
    """Prepare ``input_csv`` into ``output_dir``/prepared.csv and data_card.json; return the card.

    One streaming pass over the CSV (plus a hashing pass, run beside it); memory is bounded by one
    chunk of ``chunk_rows`` rows plus the kept columns of finished loans, whatever the file's size.
    The two files are replaced as a pair (:mod:`harness.output_pair`): the card is written last and
    records prepared.csv's sha256. Every failure is a FatelabError (exit 2).
    """
    input_csv = Path(input_csv)
    output_dir = Path(output_dir)
    if chunk_rows <= 0:
        raise DataError(f"chunk_rows must be positive, got {chunk_rows}")
    output_pair.check_output_dir(output_dir)
    columns, bytes_per_row = read_header(input_csv)
    check_required_columns(columns, f"input file {input_csv}")
    before = _identity(input_csv)
    rows_guess = int(before[0] / bytes_per_row) if progress else None
    # The hash is a second read of the file (see harness.data.csv_io); hashlib releases the GIL, so it
    # runs beside the parse instead of after it. The pool waits for it even when the scan fails.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(file_sha256, input_csv)
        counters = scan.scan_file(input_csv, columns, block_size_for(chunk_rows, bytes_per_row), chunk_rows, rows_guess)
        digest = hashing.result()
    if _identity(input_csv) != before:
        raise DataError(
            f"input file {input_csv} changed while it was being read",
            hint="wait until the file is completely written (or copied), then run again",
        )
    info = {"path": str(input_csv.resolve()), "bytes": before[0], "sha256": digest, "columns": columns}
    prepared = finish_preparation(counters, info, f"input file {input_csv}")

    def write_frame(path: Path) -> None:
        write_prepared_csv(prepared.parsed, path)

    def make_card(prepared_sha256: str) -> dict:
        output = {"prepared_csv": PREPARED_CSV, "data_card": DATA_CARD, _DIGEST_KEY: prepared_sha256}
        return {**prepared.card, "output": output}

    return output_pair.write_pair(output_dir, PREPARED_CSV, write_frame, DATA_CARD, make_card)


def prepared_card(output_dir: Path) -> dict | None:
    """The data card of ``output_dir`` if it describes the prepared.csv beside it, else None.

    A reader that finds None (no card, a card of an older layout, or a prepared.csv from another
    run) prepares again instead of trusting the pair.
    """
    return output_pair.verified_card(Path(output_dir), PREPARED_CSV, DATA_CARD, _DIGEST_KEY)


def _identity(path: Path) -> tuple[int, int, int]:
    """Size, modification time and inode: a file replaced or appended to while read changes one."""
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"input file {path} cannot be read: {exc.strerror or exc}", hint="check the path") from None
    return st.st_size, st.st_mtime_ns, st.st_ino
