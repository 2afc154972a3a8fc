"""The fast paths of preparation give exactly what the plain paths give (issue 11 item 7).

Speed itself is measured by ``make bench`` (harness/benchmarks/prepare_bench.py), never asserted here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from harness.data import parsing
from harness.data import prepare as prep
from harness.data.csv_io import iter_tables
from harness.data.csv_writer import one_hot_text, write_frame_csv
from harness.errors import DataError

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "loan_2011q4_head5k.csv"
if not SAMPLE.is_file():
    SAMPLE = Path("/work/shared/data/lending_club/loan_2011q4_head5k.csv")

# Every value here is accepted by the scalar parsers; some only by their per-value path.
GOOD_NUMBERS = [
    "5000.0", " 5000 ", "+3", "-.5", "1.", "1e5", "2.5E-3", "007", "1e-320", "0.1", "123456789.123456789",
    "", "   ", "\u0663",  # an Arabic-Indic 3: float() takes it, Arrow's kernels do not
]
GOOD_PERCENTS = [*GOOD_NUMBERS, "13.56%", " 13.56 % ", "9 %", "0%"]
BAD_NUMBERS = ["nan", "inf", "1_000", "1e999", "0x10", "1,000", "12abc", "13.5%"]
BAD_PERCENTS = ["%", " % ", "13.5%%", "1e999%", "abc%"]


def _scalar(parser, values: list[str]) -> np.ndarray:
    return np.array([math.nan if (p := parser(v)) is None else p for v in values], dtype=np.float64)


@pytest.mark.parametrize(("column", "parser", "values"), [
    ("annual_inc", prep.parse_number, GOOD_NUMBERS),
    ("annual_inc", prep.parse_number, [v for v in GOOD_NUMBERS if v != "\u0663"]),
    ("revol_util", prep.parse_percent, GOOD_PERCENTS),
    ("revol_util", prep.parse_percent, [v for v in GOOD_PERCENTS if v != "\u0663"]),
])  # fmt: skip
def test_vectorised_numbers_equal_the_scalar_parser(column, parser, values) -> None:
    raw = pa.array([*values, None, *values], type=pa.string())
    got, missing = prep.parse_column(column, raw)
    expected = np.append(np.append(_scalar(parser, values), math.nan), _scalar(parser, values))
    np.testing.assert_array_equal(got, expected)  # bit-equal, NaN where missing
    np.testing.assert_array_equal(missing, np.isnan(expected))


def test_the_all_ascii_case_takes_the_vectorised_path() -> None:
    dictionary = pa.array(["5000.0", " 13.56 % ", ""], type=pa.string())
    assert parsing._numbers_at_once(dictionary, prep.parse_percent) is not None
    assert parsing._numbers_at_once(dictionary, prep.parse_number) is None  # '%' is no plain number


@pytest.mark.parametrize(("column", "parser", "bad"), [
    *(("annual_inc", prep.parse_number, b) for b in BAD_NUMBERS),
    *(("revol_util", prep.parse_percent, b) for b in BAD_PERCENTS),
])  # fmt: skip
def test_a_bad_value_among_good_ones_is_reported_as_before(column, parser, bad) -> None:
    with pytest.raises(ValueError) as scalar:
        parser(bad)
    raw = pa.array(["1.5", bad, "2", bad], type=pa.string())
    with pytest.raises(DataError) as err:
        prep.parse_column(column, raw)
    expected = f"column {column!r} has the value {bad!r} in 2 finished loan(s); expected {scalar.value}"
    assert str(err.value).splitlines()[0] == expected


def test_prepared_csv_from_parsed_arrays_equals_the_frame_writer(tmp_path: Path) -> None:
    card = prep.prepare_file(SAMPLE, tmp_path / "out")
    raw = prep.pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).replace({"": None})
    prepared = prep.prepare_frame(raw)
    blocks = [[prep.one_hot_column(c, v) for v in prep.CATEGORIES[c]] for c in prep.CATEGORICAL_FEATURES]
    write_frame_csv(prepared.frame, tmp_path / "frame.csv", blocks, rows_per_slice=1000)
    prep.write_prepared_csv(prepared.parsed, tmp_path / "parsed.csv", rows_per_slice=700)
    written = (tmp_path / "out" / "prepared.csv").read_bytes()
    assert (tmp_path / "frame.csv").read_bytes() == (tmp_path / "parsed.csv").read_bytes() == written
    assert card["columns"] == list(prepared.frame.columns)
    balance = prepared.frame[prep.LABEL].value_counts()
    assert card["class_balance"] == {"1": int(balance[1]), "0": int(balance[0])}


def test_one_hot_codes_outside_the_block_are_refused() -> None:
    with pytest.raises(ValueError, match="0..2"):
        one_hot_text(np.array([0, 3]), 3)
    piece = one_hot_text(np.array([2, 0, 1]), 3)
    assert piece(0, 3).to_pylist() == ["0,0,1", "1,0,0", "0,1,0"]


def test_batches_are_gathered_into_tables_of_at_least_the_row_budget() -> None:
    batches = [pa.record_batch({"a": list(range(n))}) for n in (3, 4, 2, 5, 1)]
    tables = list(iter_tables(iter(batches), 6))
    assert [t.num_rows for t in tables] == [7, 7, 1]
    assert sum((t.column("a").to_pylist() for t in tables), []) == sum((b.column("a").to_pylist() for b in batches), [])
