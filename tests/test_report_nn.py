"""The deep-learning report sections and figures, from a results document of the NN arms' shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.model.multiclass import multiclass_metrics
from harness.report import nn
from harness.report.markdown import render_markdown
from harness.report.markup import section_md


def dl_results() -> dict:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    arms = {a: multiclass_metrics(y, np.where(rng.random(200) < acc, y, (y + 1) % 10), range(10))
            for a, acc in (("federated", 0.93), ("centralized", 0.96), ("local:9999", 0.85))}
    party = {"round_s": [2.0, 2.5], "compute_s": [1.0, 1.5], "bytes_per_round": [400_000, 400_000],
             "setup_bytes": 80, "bytes": 800_080}
    return {
        "run_id": "t", "seed": 1, "engine": {"name": "fate-2.2-launcher"}, "model": {"family": "CNN (FATE HomoNN)"},
        "arms": arms,
        "curves": {"federated": [0.9, 0.93], "centralized": [0.94, 0.96], "local:9999": [0.8, 0.85]},
        "cost": {"federated": {"wall_s": 30.0, "parties": {"guest:9999": party, "arbiter:10000": party | {
            "round_s": [], "compute_s": []}}},
                 "centralized": {"wall_s": 9.0, "epoch_s": [4.0, 5.0], "bytes": 0},
                 "local:9999": {"wall_s": 3.0, "epoch_s": [1.5, 1.5], "bytes": 0}},
        "convergence": {"target_accuracy": 0.95, "federated_rounds_to_target": None, "rounds_run": 2,
                        "centralized_epochs_to_target": 2},
    }


def test_sections_show_metrics_cost_and_convergence() -> None:
    text = "\n".join(line for section in nn.sections(dl_results()) for line in section_md(section))
    assert "| Federated" in text or "| federated" in text.lower()
    assert "0.40 MB" in text  # bytes per round per party
    assert "| 2 | 1.25 | 2.25 |" in text  # rounds, mean compute s, mean round s of the data parties
    assert "Federated did not reach it within the 2 rounds run" in text
    assert "### Recall per class" in text


def test_whole_report_renders_and_figures_draw(tmp_path: Path) -> None:
    results = dl_results()
    plans = nn.figure_plans(results)
    assert [p.file for p in plans] == ["curves.png", "confusion.png"]
    for plan in plans:
        assert plan.draw is not None and plan.draw(tmp_path / plan.file).stat().st_size > 10_000
    text = render_markdown(results, plans)
    assert "## Convergence and cost" in text and "curves.png" in text


def test_tabular_runs_get_nothing() -> None:
    assert nn.sections({"arms": {}}) == [] and nn.figure_plans({"arms": {}}) == []
