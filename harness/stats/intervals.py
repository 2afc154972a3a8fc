"""Mean, standard deviation and a Student-t confidence interval of one metric over seeds.

Each seed redraws the split, the partitions and SMOTE, so the seeds are independent replicates of the
whole study and the t-interval over them is the interval a reviewer expects: mean ± t(0.975, n-1) ·
s / sqrt(n), with ``s`` the sample standard deviation (ddof=1). With one seed there is no spread to
estimate: the mean is reported and ``std``/``low``/``high`` are None with a note saying why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


class Interval(TypedDict, total=False):
    """One metric over seeds. ``n`` is the number of seeds the numbers rest on."""

    mean: float | None
    std: float | None
    low: float | None
    high: float | None
    n: int
    note: str


def finite_values(values: Sequence[float | None]) -> list[float]:
    """The usable values: numbers that are finite (None and NaN mark a seed without this metric)."""
    return [float(v) for v in values if is_number(v) and math.isfinite(float(v))]


def is_number(value: object) -> bool:
    return isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean, std (ddof=1) and the two-sided ``confidence`` t-interval of ``values``.

    ``values`` must already be the usable ones (see ``finite_values``); n is their count.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return {"mean": None, "std": None, "low": None, "high": None, "n": 0,
                "note": "no seed produced this metric"}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "std": None, "low": None, "high": None, "n": 1,
                "note": "one seed: no spread, so no interval"}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "low": mean - half, "high": mean + half, "n": n}


def has_interval(cell: object) -> bool:
    """True when ``cell`` is an interval with both bounds (n >= 2)."""
    return isinstance(cell, dict) and is_number(cell.get("low")) and is_number(cell.get("high"))
