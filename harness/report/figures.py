"""Figures for the study report: one function per figure, and the plan of which to draw.

Each ``plot_*`` function takes plain data (names, floats, lists) and a path, and writes one PNG. They
build a ``matplotlib.figure.Figure`` directly instead of going through pyplot: no global figure state,
no backend selection, so they are safe to call from any thread or process and never open a window.
:func:`plan_figures` decides from the results which figures have data and what goes into each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from harness.report import nn, seed_figures
from harness.report.format import metric_columns, split_label
from harness.report.plot_style import DPI, FigurePlan
from harness.report.plot_style import HIGHLIGHT as _HIGHLIGHT
from harness.report.plot_style import REFERENCE as _REFERENCE
from harness.report.plot_style import as_float as _as_float
from harness.report.plot_style import colours as _colours
from harness.report.results import CENTRALIZED, FEDERATED, arm_label, arm_order, common_parties, is_ok
from harness.report.seeds import has_seeds

#: Metrics drawn in the arms figure, as (key in the metrics dict, axis label).
ARM_METRICS = metric_columns("auc", "ks", "specificity", "recall", "f1")


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def plot_arms(
    metrics: Mapping[str, Mapping[str, float | None]],
    path: Path,
    *,
    highlight: str | None = None,
    title: str = "Figure 4-2: metrics per arm (federated highlighted)",
) -> Path:
    """Grouped bars: one group per metric (AUC, KS, specificity, recall, F1), one bar per arm.

    ``metrics`` maps an arm's display name to its metric values, in the order the bars are drawn.
    The arm named ``highlight`` is drawn in a strong colour with its values printed above its bars.
    """
    if not metrics:
        raise ValueError("plot_arms needs at least one arm")
    arms = list(metrics)
    n_arms = len(arms)
    group_width = 0.8
    bar_width = group_width / n_arms

    fig = Figure(figsize=(9.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for i, (arm, colour, strong) in enumerate(_colours(arms, highlight)):
        values = [_as_float(metrics[arm].get(key)) for key, _ in ARM_METRICS]
        xs = [m - group_width / 2 + (i + 0.5) * bar_width for m in range(len(ARM_METRICS))]
        bars = ax.bar(xs, values, width=bar_width * 0.95, color=colour, edgecolor="black" if strong else "none",
                      linewidth=0.8, label=arm, zorder=3 if strong else 2)
        if strong:
            ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.2f}" for v in values],
                         padding=2, fontsize=8, color=_HIGHLIGHT, fontweight="bold")

    ax.set_xticks(range(len(ARM_METRICS)), [label for _, label in ARM_METRICS])
    ax.set_ylim(0.0, 1.08)
    ax.set_ylabel("Score (test set, threshold 0.5)")
    ax.set_xlabel("Metric")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_axisbelow(True)
    # Legend below the axes so it never hides a bar; at most 3 columns so long party labels still fit
    # the figure width (constrained layout grows the bottom margin, never the width).
    fig.legend(loc="outside lower center", ncols=min(n_arms, 3), frameon=False, fontsize=9)
    return _save(fig, path)


def plot_sweep(
    split_labels: Sequence[str],
    auc: Sequence[float | None],
    specificity: Sequence[float | None],
    path: Path,
    *,
    reference_auc: float | None = None,
    parties: Sequence[str] | None = None,
    title: str = "Figure 4-3: federated model vs split of training rows",
) -> Path:
    """Federated AUC and specificity per split ratio, with the centralised AUC as a dashed line.

    ``split_labels`` are the x tick labels ("10/90", ...); ``auc`` and ``specificity`` hold one value
    per label, None where that run failed (the line breaks there).
    """
    if not split_labels:
        raise ValueError("plot_sweep needs at least one split")
    if not len(split_labels) == len(auc) == len(specificity):
        raise ValueError("plot_sweep needs one AUC and one specificity value per split label")
    xs = list(range(len(split_labels)))
    auc_v = [_as_float(v) for v in auc]
    spec_v = [_as_float(v) for v in specificity]

    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(xs, auc_v, marker="o", color=_HIGHLIGHT, linewidth=2, label="Federated AUC")
    ax.plot(xs, spec_v, marker="s", color="#1f77b4", linewidth=2, label="Federated specificity")
    finite = [v for v in auc_v + spec_v if not math.isnan(v)]
    ref = _as_float(reference_auc)
    if not math.isnan(ref):
        ax.axhline(ref, linestyle="--", color=_REFERENCE, linewidth=1.3, label=f"Centralised AUC ({ref:.3f})")
        finite.append(ref)

    ax.set_xticks(xs, list(split_labels))
    if len(split_labels) > 9:
        ax.tick_params(axis="x", labelrotation=45)
    lo = min(finite, default=0.0)
    hi = max(finite, default=1.0)
    pad = max(0.05, (hi - lo) * 0.15)
    ax.set_ylim(max(0.0, lo - pad), min(1.02, hi + pad))
    # A gap in the lines alone reads like missing data; say that the run failed.
    bottom = ax.get_ylim()[0]
    for x, a, sp in zip(xs, auc_v, spec_v, strict=True):
        if math.isnan(a) and math.isnan(sp):
            ax.annotate("failed", (x, bottom), xytext=(0, 6), textcoords="offset points", ha="center",
                        fontsize=9, color="#777777", fontstyle="italic")
    who = f" (party {parties[0]} / party {parties[1]})" if parties and len(parties) == 2 else ""
    ax.set_xlabel(f"Split of training rows{who}, %")
    ax.set_ylabel("Score (test set)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _save(fig, path)


def plot_roc(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float], float | None]],
    path: Path,
    *,
    highlight: str | None = None,
    title: str = "ROC curves per arm (test set)",
) -> Path:
    """One ROC curve per arm plus the chance diagonal.

    ``curves`` maps an arm's display name to ``(fpr, tpr, auc)``; ``auc`` (may be None) goes into
    the legend so the figure can be read without the table.
    """
    if not curves:
        raise ValueError("plot_roc needs at least one curve")
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    ax = fig.add_subplot()
    for arm, colour, strong in _colours(list(curves), highlight):
        fpr, tpr, auc = curves[arm]
        if len(fpr) != len(tpr):
            raise ValueError(f"ROC curve of {arm!r} has {len(fpr)} fpr but {len(tpr)} tpr values")
        auc_v = _as_float(auc)
        label = arm if math.isnan(auc_v) else f"{arm} (AUC {auc_v:.3f})"
        ax.plot(fpr, tpr, color=colour, linewidth=2.4 if strong else 1.4, label=label, zorder=3 if strong else 2)
    ax.plot([0, 1], [0, 1], linestyle=":", color="#999999", linewidth=1, label="Chance (AUC 0.500)")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate (1 − specificity)")
    ax.set_ylabel("True positive rate (recall)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


# --------------------------------------------------------------------------------------------------
# Which figures a report gets


def plan_figures(results: Mapping[str, Any]) -> list[FigurePlan]:
    """The arms, sweep and ROC figures of the first seed and the sweep across seeds, each with its data,
    or with why it is not drawn."""
    nn_plans = nn.figure_plans(results)  # the deep-learning scenarios draw their own
    if nn_plans:
        return nn_plans
    plans = [_arms_plan(results), _sweep_plan(results), _roc_plan(results)]
    return [*plans, seed_figures.plan(results)] if has_seeds(results) else plans


def render_figures(results: Mapping[str, Any], out_dir: Path) -> list[FigurePlan]:
    """Draw every figure that has data into ``out_dir``; return the plans (drawn and skipped)."""
    plans = plan_figures(results)
    for plan in plans:
        if plan.draw is not None:
            plan.draw(Path(out_dir) / plan.file)
    return plans


# The lambdas look plot_* up among this module's globals when they draw, so a test can replace one.


def _arms_plan(results: Mapping[str, Any]) -> FigurePlan:
    arms = results.get("arms") or {}
    ok_arms = {arm_label(a, results): arms[a] for a in arm_order(results) if is_ok(arms[a])}
    if not ok_arms:
        return FigurePlan("arms.png", "Figure 4-2: metrics per arm", None, "no arm produced metrics")
    fed_label = arm_label(FEDERATED, results)
    return FigurePlan("arms.png", "Figure 4-2: AUC, KS, specificity, recall and F1 per arm",
                      lambda p: plot_arms(ok_arms, p, highlight=fed_label))


def _sweep_plan(results: Mapping[str, Any]) -> FigurePlan:
    sweep = results.get("sweep") or []
    if not sweep:
        return FigurePlan("sweep.png", "Figure 4-3: split sweep", None, "the sweep was skipped")
    if not any(is_ok(e.get(FEDERATED)) for e in sweep):
        return FigurePlan("sweep.png", "Figure 4-3: split sweep", None, "every sweep run failed")
    cen = (results.get("arms") or {}).get(CENTRALIZED)
    ref = cen.get("auc") if is_ok(cen) else None
    labels = [split_label(e.get("ratio") or []) for e in sweep]
    auc = [e[FEDERATED].get("auc") if is_ok(e.get(FEDERATED)) else None for e in sweep]
    spec = [e[FEDERATED].get("specificity") if is_ok(e.get(FEDERATED)) else None for e in sweep]
    parties = common_parties(sweep)
    return FigurePlan("sweep.png", "Figure 4-3: federated AUC and specificity vs split of training rows",
                      lambda p: plot_sweep(labels, auc, spec, p, reference_auc=ref, parties=parties))


def _roc_plan(results: Mapping[str, Any]) -> FigurePlan:
    arms = results.get("arms") or {}
    roc = results.get("roc") or {}
    curves = {
        arm_label(a, results): (roc[a]["fpr"], roc[a]["tpr"], arms[a].get("auc") if is_ok(arms[a]) else None)
        for a in arm_order(results)
        if isinstance(roc.get(a), Mapping) and roc[a].get("fpr") and roc[a].get("tpr")
    }
    if not curves:
        return FigurePlan("roc.png", "ROC curves", None, "no ROC points were recorded")
    fed_label = arm_label(FEDERATED, results)
    return FigurePlan("roc.png", "ROC curve per arm (test set)",
                      lambda p: plot_roc(curves, p, highlight=fed_label))
