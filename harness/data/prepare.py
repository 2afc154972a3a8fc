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
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness import output_pair
from harness.data.csv_io import (
    block_size_for,
    file_sha256,
    iter_batches,
    iter_tables,
    open_string_csv,
    read_header,
)
from harness.data.csv_writer import column_text, one_hot_text, write_pieces
from harness.data.plausible import implausible_rows
from harness.errors import DataError

LABEL = "loan_status"
ID_COLUMN = "sample_id"
GROUP_COLUMNS: tuple[str, ...] = ("addr_state",)
POSITIVE_STATUS = "Fully Paid"
NEGATIVE_STATUS = "Charged Off"
LABEL_MAP: dict[str, int] = {POSITIVE_STATUS: 1, NEGATIVE_STATUS: 0}

STUDY_FEATURES: tuple[str, ...] = (
    "loan_amnt",
    "term",
    "int_rate",
    "installment",
    "emp_length",
    "home_ownership",
    "annual_inc",
    "verification_status",
    "purpose",
    "dti",
    "delinq_2yrs",
    "inq_last_6mths",
    "open_acc",
    "pub_rec",
    "revol_bal",
    "revol_util",
    "total_acc",
)

# Every value Lending Club used in 2007-2015, so that the one-hot columns are the same for any
# subset of the data (a state, a year, the 5k sample) and models trained on different parties align.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "home_ownership": ("ANY", "MORTGAGE", "NONE", "OTHER", "OWN", "RENT"),
    "verification_status": ("Not Verified", "Source Verified", "Verified"),
    "purpose": (
        "car",
        "credit_card",
        "debt_consolidation",
        "educational",
        "home_improvement",
        "house",
        "major_purchase",
        "medical",
        "moving",
        "other",
        "renewable_energy",
        "small_business",
        "vacation",
        "wedding",
    ),
}

NUMERIC_FEATURES: tuple[str, ...] = tuple(f for f in STUDY_FEATURES if f not in CATEGORIES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f for f in STUDY_FEATURES if f in CATEGORIES)
REQUIRED_COLUMNS: tuple[str, ...] = (*STUDY_FEATURES, *GROUP_COLUMNS, LABEL)

REASON_MISSING = "missing > 1/3"
REASON_SINGLE = "single value"
REASON_IDENTIFIER = "identifier"
REASON_LEAKAGE = "leakage: known only after the loan"
REASON_NOT_STUDY = "not a study feature"
REASON_ONE_HOT = "replaced by one-hot columns"

IDENTIFIER_COLUMNS = frozenset({"id", "member_id", "url", "zip_code", "emp_title", "title", "desc"})
# Payment history, collections and post-issuance events: all recorded after the outcome is known.
LEAKAGE_COLUMNS = frozenset(
    {"recoveries", "next_pymnt_d", "last_credit_pull_d", "pymnt_plan", "debt_settlement_flag"}
)
LEAKAGE_PREFIXES = (
    "out_prncp",
    "total_pymnt",
    "total_rec_",
    "collection_recovery",
    "last_pymnt_",
    "last_fico_",
    "hardship_",
    "settlement_",
    "debt_settlement_",
)

_MISSING_STATUS = "<missing>"
_DISTINCT_PROBE_ROWS = 1024
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EMP_YEARS = re.compile(r"(\d+)\s*\+?\s*(?:years?|yrs?)?", re.IGNORECASE)
_EMP_UNDER_ONE = re.compile(r"<\s*1\s*(?:years?|yrs?)?", re.IGNORECASE)
_TERM = re.compile(r"(\d+)\s*(?:months?)?", re.IGNORECASE)
_EMP_MISSING = frozenset({"n/a", "na"})

NOTES: tuple[str, ...] = (
    "Column missingness (step 2) and single-value checks (step 3) are computed over finished loans "
    "(Fully Paid / Charged Off) only: in the full loan.csv next_pymnt_d is empty for every finished "
    "loan and filled for current ones, so deciding on all 887,379 rows and then dropping rows with "
    "missing values would lose every finished loan.",
    "Rows with missing values are dropped (drop_missing_rows) after feature selection, so no finished "
    "loan is lost to a column that is dropped anyway; parsing runs before that step so that "
    "emp_length 'n/a' becomes missing and its rows are counted there.",
    "funded_amnt, funded_amnt_inv: dropped as 'not a study feature'. They are fixed at issuance "
    "(not outcome leakage) but are Lending Club / investor decisions taken after the application "
    "and nearly duplicate loan_amnt.",
    "grade, sub_grade: dropped as 'not a study feature'. They are Lending Club's own risk score; "
    "keeping them would make the study model learn Lending Club's model. int_rate, a study feature, "
    "is set from sub_grade, so part of that score remains through int_rate.",
    "Leakage (payment history, recoveries, next/last payment and credit-pull dates, pymnt_plan) is "
    "recorded only after the loan was issued and partly after its outcome.",
    "Categorical values outside CATEGORIES are an error naming the value, never extra columns; the "
    "one-hot columns are identical for every input. One-hot column names are "
    "'<column>_<category>' with spaces in the category replaced by '_'.",
    "sample_id is a new 0..n-1 row number in input order; Lending Club's id and member_id are dropped.",
    "Steps 2-3 count a field as missing when it is empty (as pandas reads it); a whitespace-only "
    "value of a kept column becomes missing when parsed and its row is dropped in drop_missing_rows. "
    "Distinct values are compared after trimming surrounding whitespace.",
    "Numbers must be finite: a value such as 1e999 (infinite as a float) is an error naming the "
    "column, like 'inf' or 'nan' written out.",
    "plausibility drops complete rows with a value outside wide, documented ranges (harness/data/plausible.py: "
    "Lending Club's product rules or the field's meaning, e.g. annual_inc >= 0, emp_length 0-10, term "
    "36 or 60); rows_dropped_by_rule lists every rule, a row breaking several is counted under each.",
)
PREPARED_CSV = "prepared.csv"
DATA_CARD = "data_card.json"
_DIGEST_KEY = "prepared_csv_sha256"


@dataclass(frozen=True)
class PreparedData:
    """The prepared rows and their data card.

    ``parsed`` holds one array per parsed column (numbers, category codes, group values, label);
    :attr:`frame` lays them out as prepared.csv's columns (:func:`output_columns`) on first use.
    prepare_file writes the file from ``parsed`` directly: building a 40-column frame first cost
    about as much as writing it.
    """

    parsed: dict[str, np.ndarray]
    card: dict

    @cached_property
    def frame(self) -> pd.DataFrame:
        return encode(self.parsed)


def one_hot_column(column: str, category: str) -> str:
    """Name of the 0/1 column for ``category`` of ``column`` (spaces become '_' for FATE headers)."""
    return f"{column}_{category.replace(' ', '_')}"


def one_hot_columns() -> list[str]:
    return [one_hot_column(col, cat) for col in CATEGORICAL_FEATURES for cat in CATEGORIES[col]]


def output_columns() -> list[str]:
    """The columns of prepared.csv, in order."""
    return [ID_COLUMN, *NUMERIC_FEATURES, *one_hot_columns(), *GROUP_COLUMNS, LABEL]


def feature_columns(frame_columns: Iterable[str]) -> list[str]:
    """The model feature columns of a prepared frame: everything but the id, the label and groups."""
    excluded = {ID_COLUMN, LABEL, *GROUP_COLUMNS}
    return [c for c in frame_columns if c not in excluded]


def selection_reason(column: str) -> str:
    """Why feature selection drops ``column`` (only called for columns that are not kept)."""
    if column in IDENTIFIER_COLUMNS:
        return REASON_IDENTIFIER
    if column in LEAKAGE_COLUMNS or column.startswith(LEAKAGE_PREFIXES):
        return REASON_LEAKAGE
    return REASON_NOT_STUDY


# --- scalar parsers: applied to the distinct values of a column, so they may be plain Python ----------


def parse_number(text: str) -> float | None:
    """A plain, finite decimal number; '' is missing.

    Rejects 'nan', 'inf' and '1_000' that float() accepts, and '1e999' that overflows to infinity.
    """
    text = text.strip()
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise ValueError("a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a finite number (this one overflows a 64-bit float)")
    return value


def parse_percent(text: str) -> float | None:
    """'13.56', '13.56%' or ' 13.56 % ' -> 13.56 (percent points, as Lending Club reports them)."""
    text = text.strip()
    if text.endswith("%"):
        text = text[:-1]
        if not text.strip():
            raise ValueError("a percentage like 13.56 or 13.56%")
    try:
        return parse_number(text)
    except ValueError:
        raise ValueError("a percentage like 13.56 or 13.56%") from None


def parse_emp_length(text: str) -> float | None:
    """'10+ years' -> 10, '< 1 year' -> 0, '1 year' -> 1, '3' -> 3, 'n/a' -> missing."""
    text = text.strip()
    if not text or text.lower() in _EMP_MISSING:
        return None
    if _EMP_UNDER_ONE.fullmatch(text):
        return 0.0
    match = _EMP_YEARS.fullmatch(text)
    if not match:
        raise ValueError("an employment length like '10+ years', '< 1 year' or 'n/a'")
    return float(match.group(1))


def parse_term(text: str) -> float | None:
    """' 36 months' -> 36."""
    text = text.strip()
    if not text:
        return None
    match = _TERM.fullmatch(text)
    if not match:
        raise ValueError("a term like ' 36 months'")
    return float(match.group(1))


def _category_parser(column: str) -> Callable[[str], str | None]:
    allowed = frozenset(CATEGORIES[column])

    def parse(text: str) -> str | None:
        text = text.strip()
        if not text:
            return None
        if text not in allowed:
            raise ValueError(f"one of {', '.join(CATEGORIES[column])}")
        return text

    return parse


def _text(text: str) -> str | None:
    return text.strip() or None


PARSERS: dict[str, Callable[[str], Any]] = {
    **{col: parse_number for col in NUMERIC_FEATURES},
    "term": parse_term,
    "int_rate": parse_percent,
    "revol_util": parse_percent,
    "emp_length": parse_emp_length,
    **{col: _category_parser(col) for col in CATEGORICAL_FEATURES},
    **{col: _text for col in GROUP_COLUMNS},
}
_INTEGER_FEATURES = frozenset({"term", "emp_length"})


def parse_column(column: str, values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Parse one raw string column; return ``(values, missing)``.

    ``values`` is float64 (NaN where missing) for numeric features, int64 codes into
    ``CATEGORIES[column]`` (-1 where missing) for categorical ones, and an object array of strings
    for group columns. The parser runs once per distinct value of the dictionary-encoded column (for
    plain numbers and percentages as Arrow kernels over all of them at once), so a quarter of a
    million rows take milliseconds.
    """
    parser = PARSERS[column]
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = array.dictionary_encode()
    # Index -1 (a null in the raw column) picks the trailing "missing" entry of the lookup table.
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    numbers = _numbers_at_once(encoded.dictionary, parser)
    if numbers is not None:
        out = np.append(numbers, np.nan)[indices]
        return out, np.isnan(out)
    parsed = _parse_each(column, array, encoded.dictionary, parser)
    if column in CATEGORIES:
        order = {category: code for code, category in enumerate(CATEGORIES[column])}
        lookup = np.array([-1 if p is None else order[p] for p in parsed] + [-1], dtype=np.int64)
        out = lookup[indices]
        return out, out < 0
    if column in GROUP_COLUMNS:
        lookup_obj = np.array([*parsed, None], dtype=object)
        out = lookup_obj[indices]
        return out, np.array([p is None for p in lookup_obj])[indices]
    lookup_num = np.array([np.nan if p is None else p for p in parsed] + [np.nan], dtype=np.float64)
    out = lookup_num[indices]
    return out, np.isnan(out)


def _parse_each(column: str, array: pa.Array, dictionary: pa.Array, parser: Callable[[str], Any]) -> list[Any]:
    """Run ``parser`` on every distinct value; the first it rejects is an error naming the value."""
    parsed: list[Any] = []
    for value in dictionary.to_pylist():
        try:
            parsed.append(parser(value))
        except ValueError as exc:
            count = pc.sum(pc.equal(array, pa.scalar(value, pa.string()))).as_py()
            raise DataError(
                f"column {column!r} has the value {value!r} in {count} finished loan(s); expected {exc}",
                hint="fix or remove those rows; unknown values are not mapped silently",
            ) from None
    return parsed


# parse_number's grammar in RE2 syntax (ASCII digits only: other digits take the per-value path).
_NUMBER_RE2 = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def _numbers_at_once(dictionary: pa.Array, parser: Callable[[str], Any]) -> np.ndarray | None:
    """parse_number / parse_percent over all distinct values in a few Arrow kernels (NaN = missing).

    The real loan.csv has ~10^5 distinct incomes and balances, which the per-value Python parser
    takes seconds over. This path only accepts what the scalar parser accepts with the same result
    (Arrow's string-to-double conversion is correctly rounded, like float()); anything else, e.g. a
    value the scalar parser rejects, returns None and the caller runs the scalar parser, which
    reports the bad value exactly as before.
    """
    if parser is not parse_number and parser is not parse_percent:
        return None
    text = pc.utf8_trim_whitespace(dictionary)
    if parser is parse_percent:
        bare = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, pattern="%$", replacement=""))
        if pc.any(pc.and_(pc.not_equal(text, bare), pc.equal(bare, ""))).as_py():
            return None  # a lone '%': an error, worded by the scalar parser
        text = bare
    empty = pc.equal(text, "")
    if not pc.all(pc.or_(empty, pc.match_substring_regex(text, _NUMBER_RE2))).as_py():
        return None
    try:
        numbers = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out = numbers.to_numpy(zero_copy_only=False)
    if np.isinf(out).any():
        return None  # beyond a 64-bit float: an error, worded by the scalar parser
    return out


def check_required_columns(columns: Iterable[str], source: str) -> None:
    present = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise DataError(
            f"{source} lacks {len(missing)} required column(s): {', '.join(missing)}",
            hint="supply the Kaggle Lending Club loan.csv (74 columns) or a file with at least "
            f"these columns: {', '.join(REQUIRED_COLUMNS)}",
        )


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


def _step(name: str, rows_in: int, rows_out: int, dropped: dict[str, str], **details: Any) -> dict:
    return {"name": name, "rows_in": rows_in, "rows_out": rows_out, "dropped_columns": dropped, **details}


def _check_labels(scan: FinishedLoanScan, source: str) -> None:
    if scan.rows_in == 0:
        raise DataError(f"{source} has a header but no data rows", hint="supply the full loan.csv")
    absent = [
        f"{status!r} (label {label})" for status, label in LABEL_MAP.items() if not scan.status_counts[status]
    ]
    if absent:
        found = ", ".join(f"{s!r}: {c}" for s, c in scan.status_counts.most_common(8))
        raise DataError(
            f"{source} has no {' and no '.join(absent)} loans after labelling, so there is nothing to "
            f"learn; loan_status values found: {found}",
            hint="the study needs both Fully Paid and Charged Off loans; supply the full loan.csv",
        )


def _drop_reason_detail(scan: FinishedLoanScan, column: str, reason: str) -> str:
    if reason == REASON_MISSING:
        return f"{column} ({reason}: {scan.missing[column]} of {scan.finished_rows} finished loans missing)"
    return f"{column} ({reason})"


def finish_preparation(scan: FinishedLoanScan, input_info: dict, source: str) -> PreparedData:
    """Decide the column drops from the scan's counters, then parse, clean and encode the kept rows."""
    _check_labels(scan, source)
    finished = scan.finished_rows
    steps = [
        _step(
            "label",
            scan.rows_in,
            finished,
            {},
            kept_statuses={s: scan.status_counts[s] for s in LABEL_MAP},
            label_map=dict(LABEL_MAP),
        )
    ]

    dropped_missing = {c: REASON_MISSING for c in scan.columns if 3 * scan.missing[c] > finished}
    steps.append(
        _step(
            "column_missingness",
            finished,
            finished,
            dropped_missing,
            missing_fraction={c: round(scan.missing[c] / finished, 6) for c in dropped_missing},
        )
    )
    remaining = [c for c in scan.columns if c not in dropped_missing]
    dropped_single = {c: REASON_SINGLE for c in remaining if c != LABEL and len(scan.distinct[c]) < 2}
    steps.append(_step("single_value", finished, finished, dropped_single))

    lost = [c for c in (*STUDY_FEATURES, *GROUP_COLUMNS) if c in dropped_missing or c in dropped_single]
    if lost:
        detail = "; ".join(
            _drop_reason_detail(scan, c, dropped_missing.get(c) or dropped_single[c]) for c in lost
        )
        raise DataError(
            f"{source}: study column(s) would be dropped by the cleaning rules: {detail}",
            hint="the input is too small or not the Lending Club loan.csv; "
            "use the full file or a larger sample",
        )

    remaining = [c for c in remaining if c not in dropped_single]
    kept = set(REQUIRED_COLUMNS)
    dropped_selection = {c: selection_reason(c) for c in remaining if c not in kept}
    steps.append(_step("feature_selection", finished, finished, dropped_selection))

    raw = scan.kept_table()
    parsed: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    made_missing: dict[str, int] = {}
    parsed_columns = (*STUDY_FEATURES, *GROUP_COLUMNS)
    # Arrow's and numpy's kernels release the GIL, so two columns are parsed at a time; results are
    # taken in column order, so an error names the same (first) bad column as a serial loop would.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda column: parse_column(column, raw.column(column)), parsed_columns)
        for column, (values, missing_values) in zip(parsed_columns, results, strict=True):
            parsed[column], missing[column] = values, missing_values
    for column in parsed_columns:
        lost_values = int(missing[column].sum()) - raw.column(column).null_count
        if lost_values:
            made_missing[column] = lost_values
    status = pc.utf8_trim_whitespace(raw.column(LABEL))
    parsed[LABEL] = pc.equal(status, POSITIVE_STATUS).to_numpy(zero_copy_only=False).astype(np.int64)
    steps.append(_step("parse", finished, finished, {}, values_made_missing=made_missing))

    incomplete = np.zeros(finished, dtype=bool)
    for mask in missing.values():
        incomplete |= mask
    missing_by_column = {c: int(m.sum()) for c, m in missing.items() if m.any()}
    parsed = _take_rows(parsed, ~incomplete)
    rows_out = int((~incomplete).sum())
    steps.append(_step("drop_missing_rows", finished, rows_out, {}, missing_by_column=missing_by_column))
    implausible, by_rule = implausible_rows(parsed, rows_out)
    parsed = _take_rows(parsed, ~implausible)
    complete, rows_out = rows_out, int((~implausible).sum())
    steps.append(_step("plausibility", complete, rows_out, {}, rows_dropped_by_rule=by_rule))
    classes = sorted(set(np.unique(parsed[LABEL]).tolist()))
    if classes != [0, 1]:
        raise DataError(
            f"{source}: after dropping rows with missing or implausible values {rows_out} rows remain "
            f"with classes {classes}; both classes (0 and 1) are needed",
            hint="check the missing values per column in the input and the plausibility ranges in "
            "harness/data/plausible.py",
        )

    steps.append(_step("one_hot", rows_out, rows_out, dict.fromkeys(CATEGORICAL_FEATURES, REASON_ONE_HOT)))

    positives = int(parsed[LABEL].sum())
    card = {
        "rows_in": scan.rows_in,
        "rows_out": rows_out,
        "steps": steps,
        "label_counts_dropped": {s: c for s, c in sorted(scan.status_counts.items()) if s not in LABEL_MAP},
        "class_balance": {"1": positives, "0": rows_out - positives},
        "features": feature_columns(output_columns()),
        "categories": {c: list(v) for c, v in CATEGORIES.items()},
        "columns": output_columns(),
        "id_column": ID_COLUMN,
        "label": {"column": LABEL, "positive": POSITIVE_STATUS, "negative": NEGATIVE_STATUS},
        "group_columns": list(GROUP_COLUMNS),
        "input": input_info,
        "notes": list(NOTES),
    }
    return PreparedData(parsed=parsed, card=card)


def _take_rows(parsed: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    rows = np.flatnonzero(keep)  # once, instead of once per column as a boolean index would
    return {column: values.take(rows) for column, values in parsed.items()}


def encode(parsed: dict[str, np.ndarray]) -> pd.DataFrame:
    """Lay out parsed, complete rows as prepared.csv: id, numbers, one-hot, groups, label.

    Categorical features arrive as codes into :data:`CATEGORIES`, so every category gets its
    column whether or not it occurs in this input.
    """
    n = len(parsed[LABEL])
    columns: dict[str, Any] = {ID_COLUMN: np.arange(n, dtype=np.int64)}
    for column in NUMERIC_FEATURES:
        columns[column] = _numeric(parsed, column)
    for column in CATEGORICAL_FEATURES:
        codes = parsed[column]
        for code, category in enumerate(CATEGORIES[column]):
            columns[one_hot_column(column, category)] = (codes == code).astype(np.int8)
    for column in GROUP_COLUMNS:
        columns[column] = parsed[column]
    columns[LABEL] = parsed[LABEL].astype(np.int64)
    return pd.DataFrame(columns)


def _numeric(parsed: dict[str, np.ndarray], column: str) -> np.ndarray:
    return parsed[column].astype(np.int64 if column in _INTEGER_FEATURES else np.float64)


def _as_strings(raw: pd.DataFrame) -> pa.Table:
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


def prepare_frame(raw: pd.DataFrame) -> PreparedData:
    """Prepare an in-memory raw frame (loan.csv layout). Pure: no files are read or written."""
    if not isinstance(raw, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(raw).__name__}")
    columns = [str(c) for c in raw.columns]
    if not columns:
        raise DataError("the input frame has no columns", hint="supply the Lending Club loan data")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise DataError(
            f"the input frame repeats columns: {', '.join(duplicates)}",
            hint="every column name must appear once; rename or drop the repeated columns",
        )
    check_required_columns(columns, "the input frame")
    scan = FinishedLoanScan(columns)
    scan.update(_as_strings(raw))
    info = {"path": None, "bytes": None, "sha256": None, "columns": columns}
    return finish_preparation(scan, info, "the input frame")


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
        scan = _scan(input_csv, columns, block_size_for(chunk_rows, bytes_per_row), chunk_rows, rows_guess)
        digest = hashing.result()
    if _identity(input_csv) != before:
        raise DataError(
            f"input file {input_csv} changed while it was being read",
            hint="wait until the file is completely written (or copied), then run again",
        )
    info = {"path": str(input_csv.resolve()), "bytes": before[0], "sha256": digest, "columns": columns}
    prepared = finish_preparation(scan, info, f"input file {input_csv}")

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


def _scan(
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


def write_prepared_csv(parsed: dict[str, np.ndarray], path: Path, *, rows_per_slice: int = 100_000) -> None:
    """Write parsed, complete rows as prepared.csv: the same bytes as writing :func:`encode`'s frame
    with :func:`~harness.data.csv_writer.write_frame_csv`, the one-hot blocks pasted straight from the codes.
    """
    rows = len(parsed[LABEL])
    pieces = [column_text(np.arange(rows, dtype=np.int64))]
    pieces += [column_text(_numeric(parsed, column)) for column in NUMERIC_FEATURES]
    pieces += [one_hot_text(parsed[column], len(CATEGORIES[column])) for column in CATEGORICAL_FEATURES]
    pieces += [column_text(parsed[column]) for column in GROUP_COLUMNS]
    pieces.append(column_text(parsed[LABEL].astype(np.int64)))
    write_pieces(path, output_columns(), pieces, rows, rows_per_slice=rows_per_slice)


def _progress_bar(total: int, name: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=" rows", unit_scale=True, desc=f"prepare {name}")
