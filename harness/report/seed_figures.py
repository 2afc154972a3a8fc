"""The split sweep across seeds (figure 4-3 with interval bands): per metric panel, one line per arm
present in the sweep (the mean over seeds) with its 95% band, and the centralised arm's mean and
band as a horizontal reference.

Drawn like harness/report/figures.py: a ``matplotlib.figure.Figure`` built directly (no pyplot
state, no window), colours shared with it (harness/report/plot_style.py) so the federated
series looks the same in every figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from harness.report import format as rf
from harness.report import plot_style as plots
from harness.report import results as rr

FILE = "sweep_seeds.png"


def panels(results: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The figure's two panels: the run's primary and second metric (AUC and specificity for Lending
    Club, as figure 4-3 draws them; accuracy and macro F1 for the deep-learning scenarios)."""
    ms = rr.metric_set(results)
    return rf.metric_columns(ms.primary, ms.second)

Cell = Mapping[str, Any] | None


def _band(cells: Sequence[Cell]) -> tuple[list[float], list[float], list[float]]:
    """Means, lows and highs as floats; NaN where a split has no value or no interval (n < 2)."""
    def pick(c: Cell, key: str) -> float:
        return plots.as_float(c.get(key) if isinstance(c, Mapping) else None)

    return [pick(c, "mean") for c in cells], [pick(c, "low") for c in cells], [pick(c, "high") for c in cells]


def plot_sweep_bands(
    split_labels: Sequence[str],
    panels: Mapping[str, Mapping[str, Sequence[Cell]]],
    path: Path,
    *,
    references: Mapping[str, Cell] | None = None,
    highlight: str | None = None,
    parties: Sequence[str] | None = None,
    n_seeds: int | None = None,
) -> Path:
    """``panels`` maps a metric's axis label to {arm label: one interval cell per split label}; a cell
    is ``{"mean", "low", "high"}`` (None/NaN draw nothing). ``references`` maps the same metric labels
    to the centralised arm's interval cell."""
    if not split_labels:
        raise ValueError("plot_sweep_bands needs at least one split")
    if not panels:
        raise ValueError("plot_sweep_bands needs at least one metric panel")
    for metric, series in panels.items():
        for arm, cells in series.items():
            if len(cells) != len(split_labels):
                raise ValueError(f"{metric} of {arm!r} has {len(cells)} values for {len(split_labels)} splits")
    xs = list(range(len(split_labels)))
    fig = Figure(figsize=(5.2 * len(panels), 4.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, series) in zip(axes, panels.items(), strict=True):
        finite = _draw_panel(ax, xs, series, highlight)
        finite += _draw_reference(ax, (references or {}).get(metric))
        lo, hi = min(finite, default=0.0), max(finite, default=1.0)
        pad = max(0.02, (hi - lo) * 0.15)
        ax.set_ylim(max(0.0, lo - pad), min(1.02, hi + pad))
        ax.set_xticks(xs, list(split_labels))
        who = f" (party {parties[0]} / party {parties[1]})" if parties and len(parties) == 2 else ""
        ax.set_xlabel(f"Split of training rows{who}, %")
        ax.set_ylabel(f"{metric} (test set)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    seeds = f" over {n_seeds} seeds" if n_seeds else ""
    fig.suptitle(f"Figure 4-3 across seeds: mean and 95% interval{seeds} per split")
    fig.savefig(Path(path), dpi=plots.DPI, format="png")
    return Path(path)


def _draw_panel(ax: Any, xs: Sequence[int], series: Mapping[str, Sequence[Cell]], highlight: str | None) -> list[float]:
    finite: list[float] = []
    others = 0
    for arm, cells in series.items():
        mean, low, high = _band(cells)
        if arm == highlight:
            colour, width = plots.HIGHLIGHT, 2.2
        else:
            colour, width = plots.other_colour(others), 1.6
            others += 1
        ax.plot(xs, mean, marker="o", color=colour, linewidth=width, label=f"{arm} (mean)")
        ax.fill_between(xs, low, high, color=colour, alpha=0.18, linewidth=0, label=f"{arm} (95% interval)")
        finite += [v for v in mean + low + high if not math.isnan(v)]
    return finite


def _draw_reference(ax: Any, cell: Cell) -> list[float]:
    mean, low, high = (v[0] for v in _band([cell]))
    if math.isnan(mean):
        return []
    ax.axhline(mean, linestyle="--", color=plots.REFERENCE, linewidth=1.2, label=f"Centralised ({mean:.3f})")
    if not (math.isnan(low) or math.isnan(high)):
        ax.axhspan(low, high, color=plots.REFERENCE, alpha=0.08, linewidth=0, label="Centralised 95% interval")
        return [mean, low, high]
    return [mean]


def plan(results: Mapping[str, Any]) -> plots.FigurePlan:
    """The figure as a plan for the report (drawn, or skipped with the reason)."""
    drawn = panels(results)
    caption = (f"Figure 4-3 across seeds: {' and '.join(rf.metric_word(k) for k, _ in drawn)} per split, "
               "mean and 95% interval")
    rows = [r for r in results.get("sweep_intervals") or [] if isinstance(r, Mapping)]
    if not rows:
        return plots.FigurePlan(FILE, caption, None, "no sweep across seeds in this run")
    arms = list(dict.fromkeys(k for r in rows for k, v in r.items() if isinstance(v, Mapping)
                              and (k in (rr.FEDERATED, rr.CENTRALIZED) or str(k).startswith(rr.LOCAL_PREFIX))))
    labels = [str(r.get("split") or rf.split_label(r.get("ratio") or [])) for r in rows]
    series = {title: {rr.arm_label(a, results): [(r.get(a) or {}).get(key) for r in rows] for a in arms}
              for key, title in drawn}
    if not any(isinstance(c, Mapping) and rf.is_number(c.get("mean"))
               for by_arm in series.values() for cells in by_arm.values() for c in cells):
        return plots.FigurePlan(FILE, caption, None, "no split produced metrics in any seed")
    cen = (results.get("intervals") or {}).get(rr.CENTRALIZED) or {}
    refs = {title: cen.get(key) for key, title in drawn}
    parties = rr.common_parties(rows)
    n = len(results.get("seeds") or []) or None
    return plots.FigurePlan(FILE, caption, lambda p: plot_sweep_bands(
        labels, series, p, references=refs, highlight=rr.arm_label(rr.FEDERATED, results), parties=parties,
        n_seeds=n))
