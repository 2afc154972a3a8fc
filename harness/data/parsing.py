"""Parsing the raw text of the study columns into numbers and category codes.

Every parser takes one raw value; :func:`parse_column` runs it once per *distinct* value of a
dictionary-encoded column (plain numbers and percentages go through Arrow kernels instead), so the
scalar parsers may stay plain, readable Python. A value a parser rejects is an error naming the
column, the value and how many finished loans hold it: unknown values are never mapped silently.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.data.lending_club import CATEGORICAL_FEATURES, CATEGORIES, GROUP_COLUMNS, NUMERIC_FEATURES
from harness.errors import DataError

_T = TypeVar("_T")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EMP_YEARS = re.compile(r"(\d+)\s*\+?\s*(?:years?|yrs?)?", re.IGNORECASE)
_EMP_UNDER_ONE = re.compile(r"<\s*1\s*(?:years?|yrs?)?", re.IGNORECASE)
_TERM = re.compile(r"(\d+)\s*(?:months?)?", re.IGNORECASE)
_EMP_MISSING = frozenset({"n/a", "na"})

# --- scalar parsers: applied to the distinct values of a column, so they may be plain Python ----------


def _blank_is_missing(parse: Callable[[str], _T]) -> Callable[[str], _T | None]:
    """Strip the raw value first; an empty one is missing (None) in every column."""

    @functools.wraps(parse)
    def parse_stripped(text: str) -> _T | None:
        text = text.strip()
        return parse(text) if text else None

    return parse_stripped


@_blank_is_missing
def parse_number(text: str) -> float:
    """A plain, finite decimal number; '' is missing.

    Rejects 'nan', 'inf' and '1_000' that float() accepts, and '1e999' that overflows to infinity.
    """
    if not _NUMBER.fullmatch(text):
        raise ValueError("a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a finite number (this one overflows a 64-bit float)")
    return value


@_blank_is_missing
def parse_percent(text: str) -> float | None:
    """'13.56', '13.56%' or ' 13.56 % ' -> 13.56 (percent points, as Lending Club reports them)."""
    if text.endswith("%"):
        text = text[:-1]
        if not text.strip():
            raise ValueError("a percentage like 13.56 or 13.56%")
    try:
        return parse_number(text)
    except ValueError:
        raise ValueError("a percentage like 13.56 or 13.56%") from None


@_blank_is_missing
def parse_emp_length(text: str) -> float | None:
    """'10+ years' -> 10, '< 1 year' -> 0, '1 year' -> 1, '3' -> 3, 'n/a' -> missing."""
    if text.lower() in _EMP_MISSING:
        return None
    if _EMP_UNDER_ONE.fullmatch(text):
        return 0.0
    return _leading_number(_EMP_YEARS, text, "an employment length like '10+ years', '< 1 year' or 'n/a'")


@_blank_is_missing
def parse_term(text: str) -> float:
    """' 36 months' -> 36."""
    return _leading_number(_TERM, text, "a term like ' 36 months'")


def _leading_number(pattern: re.Pattern[str], text: str, expected: str) -> float:
    """The number ``pattern`` captures first when it matches all of ``text``; else ``expected`` is wrong."""
    match = pattern.fullmatch(text)
    if not match:
        raise ValueError(expected)
    return float(match.group(1))


def _category_parser(column: str) -> Callable[[str], str | None]:
    allowed = frozenset(CATEGORIES[column])

    @_blank_is_missing
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"one of {', '.join(CATEGORIES[column])}")
        return text

    return parse


@_blank_is_missing
def _text(text: str) -> str:
    return text


PARSERS: dict[str, Callable[[str], Any]] = {
    **{col: parse_number for col in NUMERIC_FEATURES},
    "term": parse_term,
    "int_rate": parse_percent,
    "revol_util": parse_percent,
    "emp_length": parse_emp_length,
    **{col: _category_parser(col) for col in CATEGORICAL_FEATURES},
    **{col: _text for col in GROUP_COLUMNS},
}

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
