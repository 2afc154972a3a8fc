"""Steps 1-8 of the preparation, from the streaming scan's counters to clean rows and their data card.

The column decisions (steps 1-4) are taken from the counters alone; then only the kept columns of
finished loans are parsed (step 5), rows with a missing or implausible value dropped (steps 6-7), and
the card records every step's rows in and out, dropped columns and why (step 8, one-hot, is laid out
by :mod:`harness.data.encode`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.data import lending_club as lc
from harness.data.encode import encode
from harness.data.parsing import parse_column
from harness.data.plausible import implausible_rows
from harness.data.scan import FinishedLoanScan
from harness.errors import DataError

Parsed = dict[str, np.ndarray]


@dataclass(frozen=True)
class PreparedData:
    """The prepared rows and their data card.

    ``parsed`` holds one array per parsed column (numbers, category codes, group values, label);
    :attr:`frame` lays them out as prepared.csv's columns (:func:`lc.output_columns`) on first use.
    prepare_file writes the file from ``parsed`` directly: building a 40-column frame first cost
    about as much as writing it.
    """

    parsed: Parsed
    card: dict

    @cached_property
    def frame(self) -> pd.DataFrame:
        return encode(self.parsed)


def finish_preparation(scan: FinishedLoanScan, input_info: dict, source: str) -> PreparedData:
    """Decide the column drops from the scan's counters, then parse, clean and encode the kept rows."""
    _check_labels(scan, source)
    steps = _column_steps(scan, source)
    finished = scan.finished_rows
    parsed, missing, made_missing = _parse_kept(scan.kept_table())
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
    _check_both_classes(parsed, rows_out, source)
    steps.append(_step("one_hot", rows_out, rows_out, dict.fromkeys(lc.CATEGORICAL_FEATURES, lc.REASON_ONE_HOT)))
    return PreparedData(parsed=parsed, card=_card(scan, steps, parsed, input_info))


def _step(name: str, rows_in: int, rows_out: int, dropped: dict[str, str], **details: Any) -> dict:
    return {"name": name, "rows_in": rows_in, "rows_out": rows_out, "dropped_columns": dropped, **details}


def _check_labels(scan: FinishedLoanScan, source: str) -> None:
    if scan.rows_in == 0:
        raise DataError(f"{source} has a header but no data rows", hint="supply the full loan.csv")
    absent = [
        f"{status!r} (label {label})" for status, label in lc.LABEL_MAP.items() if not scan.status_counts[status]
    ]
    if absent:
        found = ", ".join(f"{s!r}: {c}" for s, c in scan.status_counts.most_common(8))
        raise DataError(
            f"{source} has no {' and no '.join(absent)} loans after labelling, so there is nothing to "
            f"learn; loan_status values found: {found}",
            hint="the study needs both Fully Paid and Charged Off loans; supply the full loan.csv",
        )


def _column_steps(scan: FinishedLoanScan, source: str) -> list[dict]:
    """Steps 1-4 (label, column_missingness, single_value, feature_selection) from the counters."""
    finished = scan.finished_rows
    steps = [
        _step(
            "label",
            scan.rows_in,
            finished,
            {},
            kept_statuses={s: scan.status_counts[s] for s in lc.LABEL_MAP},
            label_map=dict(lc.LABEL_MAP),
        )
    ]
    dropped_missing = {c: lc.REASON_MISSING for c in scan.columns if 3 * scan.missing[c] > finished}
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
    dropped_single = {c: lc.REASON_SINGLE for c in remaining if c != lc.LABEL and len(scan.distinct[c]) < 2}
    steps.append(_step("single_value", finished, finished, dropped_single))
    _refuse_lost_study_columns(scan, source, {**dropped_single, **dropped_missing})
    remaining = [c for c in remaining if c not in dropped_single]
    kept = set(lc.REQUIRED_COLUMNS)
    dropped_selection = {c: lc.selection_reason(c) for c in remaining if c not in kept}
    steps.append(_step("feature_selection", finished, finished, dropped_selection))
    return steps


def _refuse_lost_study_columns(scan: FinishedLoanScan, source: str, dropped: dict[str, str]) -> None:
    """A study column dropped by the cleaning rules means the input is not (enough of) loan.csv."""
    lost = [c for c in (*lc.STUDY_FEATURES, *lc.GROUP_COLUMNS) if c in dropped]
    if lost:
        detail = "; ".join(_drop_reason_detail(scan, c, dropped[c]) for c in lost)
        raise DataError(
            f"{source}: study column(s) would be dropped by the cleaning rules: {detail}",
            hint="the input is too small or not the Lending Club loan.csv; "
            "use the full file or a larger sample",
        )


def _drop_reason_detail(scan: FinishedLoanScan, column: str, reason: str) -> str:
    if reason == lc.REASON_MISSING:
        return f"{column} ({reason}: {scan.missing[column]} of {scan.finished_rows} finished loans missing)"
    return f"{column} ({reason})"


def _parse_kept(raw: pa.Table) -> tuple[Parsed, Parsed, dict[str, int]]:
    """Parse the kept columns: (values, missing masks, values that parsing turned into missing)."""
    parsed: Parsed = {}
    missing: Parsed = {}
    made_missing: dict[str, int] = {}
    parsed_columns = (*lc.STUDY_FEATURES, *lc.GROUP_COLUMNS)
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
    status = pc.utf8_trim_whitespace(raw.column(lc.LABEL))
    parsed[lc.LABEL] = pc.equal(status, lc.POSITIVE_STATUS).to_numpy(zero_copy_only=False).astype(np.int64)
    return parsed, missing, made_missing


def _take_rows(parsed: Parsed, keep: np.ndarray) -> Parsed:
    rows = np.flatnonzero(keep)  # once, instead of once per column as a boolean index would
    return {column: values.take(rows) for column, values in parsed.items()}


def _check_both_classes(parsed: Parsed, rows_out: int, source: str) -> None:
    classes = sorted(set(np.unique(parsed[lc.LABEL]).tolist()))
    if classes != [0, 1]:
        raise DataError(
            f"{source}: after dropping rows with missing or implausible values {rows_out} rows remain "
            f"with classes {classes}; both classes (0 and 1) are needed",
            hint="check the missing values per column in the input and the plausibility ranges in "
            "harness/data/plausible.py",
        )


def _card(scan: FinishedLoanScan, steps: list[dict], parsed: Parsed, input_info: dict) -> dict:
    rows_out = len(parsed[lc.LABEL])
    positives = int(parsed[lc.LABEL].sum())
    return {
        "rows_in": scan.rows_in,
        "rows_out": rows_out,
        "steps": steps,
        "label_counts_dropped": {s: c for s, c in sorted(scan.status_counts.items()) if s not in lc.LABEL_MAP},
        "class_balance": {"1": positives, "0": rows_out - positives},
        "features": lc.feature_columns(lc.output_columns()),
        "categories": {c: list(v) for c, v in lc.CATEGORIES.items()},
        "columns": lc.output_columns(),
        "id_column": lc.ID_COLUMN,
        "label": {"column": lc.LABEL, "positive": lc.POSITIVE_STATUS, "negative": lc.NEGATIVE_STATUS},
        "group_columns": list(lc.GROUP_COLUMNS),
        "input": input_info,
        "notes": list(lc.NOTES),
    }
