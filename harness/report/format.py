"""Numbers and values as report text: the one place that decides how a metric, a count, a time or a
setting is written, so report.md, report.html and the CLI's summary line always agree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DASH = "—"

#: Every metric a table or figure may show, as (metric key, header), in the study's order.
METRIC_NAMES: dict[str, str] = {
    "auc": "AUC",
    "ks": "KS",
    "specificity": "Specificity",
    "recall": "Recall",
    "precision": "Precision",
    "f1": "F1",
    "accuracy": "Accuracy",
    # multi-class (harness/model/multiclass.py, the deep-learning scenarios)
    "macro_precision": "Macro precision",
    "macro_recall": "Macro recall",
    "macro_f1": "Macro F1",
}


def metric_columns(*keys: str) -> tuple[tuple[str, str], ...]:
    """The (key, header) pairs of ``keys``, for a table's or a figure's metric columns."""
    return tuple((key, METRIC_NAMES[key]) for key in keys)


def metric_word(key: str) -> str:
    """A metric's name inside a sentence: 'AUC', 'KS' stay; 'Accuracy' -> 'accuracy', 'Macro F1' -> 'macro F1'."""
    header = METRIC_NAMES[key]
    return header[:1].lower() + header[1:] if header[1:2].islower() else header


@dataclass(frozen=True)
class MetricSet:
    """What a kind of model is judged by: the metric its claims are about (``primary``), the one the
    headline sentence adds (``second``), and the headline table's columns, in the study's order."""

    primary: str
    second: str
    headline: tuple[str, ...]


#: Binary classification (Lending Club: harness/model/metrics.py).
BINARY = MetricSet("auc", "specificity", ("auc", "specificity", "ks", "recall", "f1"))
#: Multi-class and text classification (the deep-learning scenarios: harness/model/multiclass.py).
MULTICLASS = MetricSet("accuracy", "macro_f1", ("accuracy", "macro_precision", "macro_recall", "macro_f1"))
#: In the order a run's results are matched against: the first whose primary metric an arm records.
METRIC_SETS = (BINARY, MULTICLASS)

#: Columns of the arms and sweep tables of a binary study (a run shows those its arms record).
METRIC_COLUMNS = metric_columns("auc", "ks", "specificity", "recall", "precision", "f1", "accuracy")
PER_CLASS_COLUMNS = metric_columns("precision", "recall", "f1")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt3(value: Any) -> str:
    """A metric with 3 decimals; None (NaN in the run) is 'n/a', absent/non-numeric is a dash."""
    if value is None:
        return "n/a"
    if not is_number(value):
        return DASH
    return f"{value:.3f}"


def signed(value: float, minus: str = "−") -> str:
    """A difference with its sign; the typographic minus by default, ``-`` for ASCII output."""
    text = f"{value:+.3f}"
    if text in ("+0.000", "-0.000"):
        return "±0.000"
    return text.replace("-", minus)


def seconds(value: Any) -> str:
    return f"{value:.1f} s" if is_number(value) else DASH


def count(value: Any) -> str:
    """A whole number with thousands separators; anything else is a dash."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else DASH


def plain(value: Any) -> str:
    """A setting or info value exactly as stored (no rounding), compact."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def inline(value: Any) -> str:
    """Text on one line (runs of whitespace, line breaks included, become one space)."""
    return " ".join(str(value).split())


def timing(key: str, value: Any) -> str:
    """A value of results["timings"]: ``*_share`` as a percentage, ``*_s`` as seconds."""
    if key.endswith("_share") and is_number(value):
        return f"{value:.1%}"
    return seconds(value) if key.endswith("_s") else plain(value)


def split_label(ratio: Sequence[Any]) -> str:
    """[0.1, 0.9] -> '10/90'."""
    parts = []
    for r in ratio:
        if not is_number(r):
            return "/".join(str(x) for x in ratio)
        pct = r * 100
        parts.append(f"{pct:.0f}" if abs(pct - round(pct)) < 1e-6 else f"{pct:.1f}")
    return "/".join(parts)
