"""The deep-learning scenarios' part of the report: headline metrics, convergence, cost, per-class recall,
and two figures (test accuracy per round/epoch; confusion matrices).

Everything comes from results.json's ``arms``, ``curves``, ``cost`` and ``convergence`` blocks
(:mod:`harness.study.nn_arms`) at render time; a run without a ``curves`` block (Lending Club) gets nothing
from here. ``sections`` is one of the scenario section providers of :mod:`harness.report.sections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from harness.report.format import MULTICLASS, metric_columns
from harness.report.markup import Heading, Section, Table, Text
from harness.report.plot_style import DPI, FigurePlan, save_line_plot
from harness.report.results import CENTRALIZED, FEDERATED, arm_label, arm_order, is_ok

HEADLINE = metric_columns(*MULTICLASS.headline)


def _f(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "—"


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def sections(results: Mapping[str, Any]) -> list[Section]:
    """Headline metrics, then convergence, cost and recall per class; [] for a run without curves."""
    if not results.get("curves"):
        return []
    arms = results.get("arms") or {}
    names = [a for a in arm_order(results) if is_ok(arms.get(a))]
    metrics = Table("dl-metrics", ["Arm", *(h for _, h in HEADLINE)], "l" + "r" * len(HEADLINE),
                    [[arm_label(a, results), *(_f(arms[a].get(k)) for k, _ in HEADLINE)] for a in names])
    classes = sorted({c for a in names for c in arms[a].get("per_class_recall", {})}, key=int)
    recall = Table("dl-recall", ["Arm", *classes], "l" + "r" * len(classes),
                   [[arm_label(a, results), *(_f(arms[a]["per_class_recall"].get(c), 3) for c in classes)]
                    for a in names])
    convergence = _convergence_lines(results)
    return [Section("Deep-learning metrics (test set)", (metrics,), "dl-metrics-section"),
            Section("Convergence and cost", (_cost_table(results, names), *([Text(convergence)] if convergence else []),
                                             Heading("Recall per class"), recall), "dl-cost-section")]


def _cost_table(results: Mapping[str, Any], names: Sequence[str]) -> Table:
    curves, cost = results.get("curves") or {}, results.get("cost") or {}
    rows = []
    for a in names:
        c = cost.get(a) or {}
        if "parties" in c:  # federated: per party per round
            data_parties = [p for n, p in c["parties"].items() if p.get("round_s")]
            per_round = _mean([_mean(p["round_s"]) for p in data_parties if p["round_s"]] or [])
            compute = _mean([_mean(p["compute_s"]) for p in data_parties if p["compute_s"]] or [])
            sent = {n: _mean(p["bytes_per_round"]) for n, p in c["parties"].items()}
            bytes_text = ", ".join(f"{n} {v / 1e6:.2f} MB" for n, v in sorted(sent.items()) if v is not None)
        else:
            per_round = compute = _mean(c.get("epoch_s", []))
            bytes_text = "0 (in-process)"
        rows.append([arm_label(a, results), str(len(curves.get(a, []))), _f(compute, 2), _f(per_round, 2),
                     bytes_text or "—", _f(c.get("wall_s"), 1)])
    return Table("dl-cost", ["Arm", "Rounds / epochs", "Compute s per round (mean over parties)",
                             "Round s incl. aggregation", "Bytes sent per round per party", "Training wall s"],
                 "lrrrlr", rows)


def _convergence_lines(results: Mapping[str, Any]) -> tuple[str, ...]:
    conv = results.get("convergence") or {}
    if "target_accuracy" in conv:
        rounds, sent = conv.get("federated_rounds_to_target"), conv.get("federated_bytes_to_target")
        reached = (f"reached it at round {rounds} ({sent / 1e6:.1f} MB sent by all parties together up to then)"
                   if rounds is not None else f"did not reach it within the {conv.get('rounds_run')} rounds run")
        return (f"Target: centralised accuracy minus one point = {_f(conv['target_accuracy'])}. "
                f"Federated {reached}; centralised reached it at epoch "
                f"{conv.get('centralized_epochs_to_target') or '—'}.",)
    if conv.get("note"):
        return (f"Convergence: {conv['note']}.",)
    return ()


# ------------------------------------------------------------------------------------------- figures
def figure_plans(results: Mapping[str, Any]) -> list[FigurePlan]:
    curves = results.get("curves") or {}
    if not curves:
        return []
    series = {arm_label(a, results): curves[a] for a in arm_order(results) if curves.get(a)}
    arms = results.get("arms") or {}
    matrices = {arm_label(a, results): arms[a]["confusion"] for a in (FEDERATED, CENTRALIZED)
                if is_ok(arms.get(a)) and arms[a].get("confusion")}
    plans = [FigurePlan("curves.png", "Test accuracy after every federated round / centralised and local epoch",
                        lambda p: plot_curves(series, p, highlight=arm_label(FEDERATED, results)))]
    if matrices:
        plans.append(FigurePlan("confusion.png", "Confusion matrices on the test set (rows: true, columns: predicted)",
                                lambda p: plot_confusions(matrices, p)))
    return plans


def plot_curves(series: Mapping[str, Sequence[float]], path: Path, *, highlight: str) -> Path:
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for name, values in series.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3,
                linewidth=2.2 if name == highlight else 1.2, label=name)
    return save_line_plot(fig, ax, path, xlabel="round (federated) / epoch (in-process)", ylabel="test accuracy")


def plot_confusions(matrices: Mapping[str, Sequence[Sequence[int]]], path: Path) -> Path:
    fig = Figure(figsize=(4.2 * len(matrices), 4))
    for i, (name, matrix) in enumerate(matrices.items(), start=1):
        ax = fig.add_subplot(1, len(matrices), i)
        m = np.asarray(matrix)
        ax.imshow(m, cmap="Blues")
        for (r, c), v in np.ndenumerate(m):
            if v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=6,
                        color="white" if v > m.max() / 2 else "black")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path
