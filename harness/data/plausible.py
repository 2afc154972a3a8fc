"""Plausibility ranges of the parsed study features: rows outside them are dropped and counted.

A value that parses but cannot describe a Lending Club loan (a negative income, a 99-year
employment length, a 12-month term) is a data-entry error, a unit mix-up or a placeholder such as
``9999``; left in, a single one can dominate a feature's mean and variance after scaling. The
ranges are deliberately wide: they follow from Lending Club's product rules (2007-2016) or from
the meaning of the field, never from the sample's own spread, so that no real loan is lost. On the
bundled 4,999-row sample they drop no row.

Non-finite numbers (``1e999``) are not a plausibility question: they are rejected as unparseable
by :func:`harness.data.prepare.parse_number`, like ``inf`` and ``nan`` spelled out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Predicate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Range:
    """Allowed values of one parsed numeric column; ``why`` is the reason for the bounds."""

    column: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low bound itself is not allowed (a loan amount of 0)
    whole: bool = False  # counts: whole numbers only
    allowed: tuple[float, ...] = ()  # a closed set of values (term)
    why: str = ""

    def rules(self) -> list[tuple[str, Predicate]]:
        """(rule name as written in the data card, predicate giving the violating rows)."""
        out: list[tuple[str, Predicate]] = []
        c = self.column
        if self.allowed:
            shown = ", ".join(f"{v:g}" for v in self.allowed)
            out.append((f"{c} not in ({shown})", lambda v: ~np.isin(v, self.allowed)))
        if self.low is not None:
            if self.low_open:
                out.append((f"{c} <= {self.low:g}", lambda v: v <= self.low))
            else:
                out.append((f"{c} < {self.low:g}", lambda v: v < self.low))
        if self.high is not None:
            out.append((f"{c} > {self.high:g}", lambda v: v > self.high))
        if self.whole:
            out.append((f"{c} not a whole number", lambda v: v != np.floor(v)))
        return out


_COUNT_WHY = "a count of credit-file events or accounts: a whole number, never negative"

RANGES: tuple[Range, ...] = (
    Range("loan_amnt", 0, 40_000, low_open=True,
          why="Lending Club lent $500-$35,000 until 2015 and up to $40,000 from 2016; 0 is no loan"),
    Range("term", allowed=(36, 60), why="Lending Club offered 36- and 60-month loans only"),
    Range("int_rate", 0, 36, low_open=True,
          why="percent points; Lending Club's rates were 5-31 %, 36 % APR is the US consumer-loan cap "
          "it worked under; 0 or above 36 is a unit error (a fraction, basis points)"),
    Range("installment", 0, 2_000, low_open=True,
          why="the largest monthly payment the loan rules allow is about $1,832 ($40,000 at 36 % over "
          "36 months)"),
    Range("emp_length", 0, 10, whole=True,
          why="Lending Club reports whole years from '< 1 year' (0) to '10+ years' (10)"),
    Range("annual_inc", 0, 100_000_000,
          why="self-reported yearly income: never negative; $100M is far above any Lending Club "
          "borrower's and only catches unit errors and placeholders"),
    Range("dti", 0, 100,
          why="monthly debt payments as a percent of monthly income: never negative, and above 100 % "
          "(payments larger than the income) Lending Club did not lend; catches placeholders like 9999"),
    Range("delinq_2yrs", 0, whole=True, why=_COUNT_WHY),
    Range("inq_last_6mths", 0, whole=True, why=_COUNT_WHY),
    Range("open_acc", 0, whole=True, why=_COUNT_WHY),
    Range("pub_rec", 0, whole=True, why=_COUNT_WHY),
    Range("total_acc", 0, whole=True, why=_COUNT_WHY),
    Range("revol_bal", 0, why="a revolving balance is never negative"),
    # No upper bound: a balance above the credit limit (utilisation over 100 %) really occurs.
    Range("revol_util", 0, why="percent of the revolving limit in use: never negative"),
)  # fmt: skip


def implausible_rows(parsed: dict[str, np.ndarray], rows: int) -> tuple[np.ndarray, dict[str, int]]:
    """A mask of the rows outside :data:`RANGES` and, per rule, how many rows break it.

    ``parsed`` holds complete rows (no NaN). Every rule is listed, with 0 when nothing broke it, so
    the data card shows what was checked. A row breaking several rules is counted under each, so the
    counts may add up to more than the rows dropped.
    """
    dropped = np.zeros(rows, dtype=bool)
    counts: dict[str, int] = {}
    for spec in RANGES:
        values = parsed[spec.column]
        for name, violates in spec.rules():
            bad = np.asarray(violates(values), dtype=bool)
            counts[name] = int(bad.sum())
            dropped |= bad
    return dropped, counts
