"""What every figure of the report shares: resolution, colours, the NaN rule, and the figure plan.

Below both figure modules (figures.py: one seed; seed_figures.py: across seeds), so the federated
series looks the same in every figure and figures.py can list the seed figure among its plans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 150

HIGHLIGHT = "#d62728"
REFERENCE = "#333333"
# Muted colours for the other arms so the federated series stands out.
OTHERS = ("#7f7f7f", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#bcbd22", "#17becf", "#8c6d31")


@dataclass(frozen=True)
class FigurePlan:
    """One figure of the report: drawn by ``draw`` into ``file``, or skipped for ``skipped``."""

    file: str
    caption: str
    draw: Callable[[Path], Path] | None
    skipped: str | None = None


def other_colour(index: int) -> str:
    """The ``index``-th muted colour, cycling."""
    return OTHERS[index % len(OTHERS)]


def colours(names: Sequence[str], highlight: str | None) -> Iterator[tuple[str, str, bool]]:
    """(name, colour, highlighted) per series: the highlighted one strong, the others muted in turn."""
    others = 0
    for name in names:
        if name == highlight:
            yield name, HIGHLIGHT, True
        else:
            yield name, other_colour(others), False
            others += 1


def as_float(value: float | None) -> float:
    """Missing or non-numeric values become NaN so lines break and bars are skipped instead of failing."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def save_line_plot(
    fig: Figure, ax: Axes, path: Path, *, xlabel: str, ylabel: str, legend_size: int = 8, dpi: int = DPI
) -> Path:
    """Label, grid and legend one line plot the way every report figure has them, and write it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path
