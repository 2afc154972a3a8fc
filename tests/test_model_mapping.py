"""The report's model section: which FATE the settings were mapped onto, and how.

Every engine answers ``model_mapping(job)`` itself: the FATE 2.2 engines (standalone, hosts,
launcher) with engines/fate22/mapping.py, FATE 1.8 on KubeFATE with engines/fate18/mapping.py. The
FATE 1.8 strings are checked against homo_lr_params, the function that builds the submitted job, so
the two cannot drift. The end-to-end check against a submitted job is in test_kubefate18_engine.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engines.base import FitJob, Roles, Table
from harness.engines.fate18.mapping import MAPPING_TARGET, Fate18Options, homo_lr_params, settings_mapping
from harness.engines.fate22 import mapping as fate22
from harness.engines.fate22.hosts import ClusterEngine
from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.fate22.standalone import StandaloneEngine
from harness.errors import ConfigError
from harness.model.logreg import HomoLRSettings
from harness.report import markdown as report
from harness.report.write import write_report
from harness.study.config import load_config

MAX_ROWS = 1234
ROLES = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")


def fit_job(settings: HomoLRSettings, rows: dict[str, int] | None = None) -> FitJob:
    rows = rows or {"9999": MAX_ROWS, "9998": 17, "10000": MAX_ROWS - 1}
    train = {p: Table(p, "fatelab", f"train_{p}", n) for p, n in rows.items()}
    test = {p: Table(p, "fatelab", "test", 5) for p in rows}
    return FitJob(ROLES, train, test, settings)


def model_mapping(settings: HomoLRSettings, options: Fate18Options, *, max_rows: int) -> tuple[dict, list]:
    found = settings_mapping(settings, options, max_rows=max_rows)
    return dict(found.mapping), list(found.caveats)


def small_results(model_part: dict) -> dict:
    return {
        "run_id": "model-mapping",
        "engine": {"name": "test"},
        "model": {"family": "logistic regression"} | model_part,
    }


def test_fate22_engines_share_the_fate22_mapping(tmp_path: Path) -> None:
    config = load_config()
    m = config.model
    job = fit_job(m)
    section = StandaloneEngine(tmp_path / "flow", progress=False).model_mapping(job).section()
    assert LauncherEngine(tmp_path / "launcher", progress=False).model_mapping(job).section() == section
    # Every FATE 2.2 engine answers with the one FATE 2.2 mapping.
    assert ClusterEngine.model_mapping is StandaloneEngine.model_mapping is fate22.Fate22Engine.model_mapping
    assert section == fate22.model_mapping(job).section()
    assert section["fate_target"] == "FATE 2.2 HomoLR"
    assert section["fate_mapping"] == {
        "penalty L2, alpha": f"optimizer.penalty='l2', optimizer.alpha={m.alpha} (torch weight_decay)",
        "optimizer": f"optimizer.method='{m.optimizer}', optimizer_params.lr={m.learning_rate}",
        "full batch (batch_size -1)": f"batch_size={MAX_ROWS} (the largest party's balanced rows)",
        "max_iter": f"epochs={m.epochs}",
        "init": f"init_param.method='{m.init_method}', fit_intercept={m.fit_intercept}",
        "learning rate decay": "learning_rate_scheduler constant, factor 1.0",
    }
    assert [line.split(":")[0] for line in section["not_expressible"]] == [
        "tol 1e-4 with early_stop 'diff'",
        "batch_size -1",
        "FATE 2.2 clips gradients to norm 1.0 (HuggingFace Trainer default); the baselines do the same",
    ]


def test_fate22_full_batch_is_the_largest_partys_rows() -> None:
    params = fate22.fit_params(fit_job(HomoLRSettings(epochs=25, learning_rate=0.02, alpha=0.01)))
    assert params["batch_size"] == MAX_ROWS and params["epochs"] == 25
    optimizer = {"method": "rmsprop", "penalty": "l2", "alpha": 0.01, "optimizer_params": {"lr": 0.02}}
    assert params["optimizer"] == optimizer
    assert fate22.fit_params(fit_job(HomoLRSettings(batch_size=64)))["batch_size"] == 64
    with pytest.raises(ConfigError, match="full-batch HomoLR needs"):
        fate22.homo_lr_params(HomoLRSettings(), max_party_rows=0)


def test_a_model_family_no_engine_knows_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot train str models"):
        fate22.settings_params("a CNN", 10)


def test_report_names_the_fate_version_of_the_mapping(tmp_path: Path) -> None:
    config = load_config()
    md = report.render_markdown(small_results(fate22.model_mapping(fit_job(config.model)).section()), [])
    target = fate22.TARGET
    assert f"How the settings map onto {target}:" in md
    assert f"What {target} cannot express, and how it compares with the in-process baselines:" in md
    assert f"batch_size={MAX_ROWS} (the largest party's balanced rows)" in md
    # Results written before the version was recorded still render, without claiming one.
    legacy = small_results({"fate_mapping": {"max_iter": "epochs=20"}, "not_expressible": ["tol"]})
    md = report.render_markdown(legacy, [])
    assert "How the settings map onto FATE HomoLR:" in md and "FATE 2.2" not in md


SETTINGS = [
    pytest.param(HomoLRSettings(), Fate18Options(), id="study-defaults"),
    pytest.param(HomoLRSettings(tol=1e-3, batch_size=64), Fate18Options(tol=1e-3), id="tol-and-minibatch"),
    pytest.param(
        HomoLRSettings(optimizer="sgd", max_grad_norm=None),
        Fate18Options(paillier=True, paillier_key_length=2048),
        id="paillier-sgd-unclipped",
    ),
]


@pytest.mark.parametrize(("settings", "options"), SETTINGS)
def test_fate18_mapping_is_read_from_the_job_parameters(settings: HomoLRSettings, options: Fate18Options) -> None:
    mapping, _ = model_mapping(settings, options, max_rows=MAX_ROWS)
    p = homo_lr_params(settings, options, max_train_rows=MAX_ROWS)
    text = json.dumps(mapping)
    for expected in (
        f"penalty={p.penalty!r}, alpha={p.alpha}",
        f"optimizer={p.optimizer!r}, learning_rate={p.learning_rate}",
        f"batch_size={p.batch_size}",
        f"max_iter={p.max_iter}",
        f"tol={p.tol}, early_stop={p.early_stop!r}",
        f"init_method={p.init_method!r}",
        f"decay={p.decay}, decay_sqrt={p.decay_sqrt}",
        f"aggregate_iters={p.aggregate_iters}",
    ):
        assert json.dumps(expected)[1:-1] in text
    batch_key = "full batch" if settings.batch_size is None else f"batch_size {settings.batch_size}"
    assert mapping[batch_key].startswith(
        "batch_size=-1 (FATE 1.8's full batch" if p.batch_size == -1 else "batch_size="
    )
    if p.paillier:
        assert f"'Paillier', key_length={p.paillier_key_length}" in mapping["encryption"]
    else:
        assert mapping["encryption"].startswith("encrypt_param.method=None")


def test_fate18_study_defaults_map_to_full_batch_tol_and_no_decay() -> None:
    mapping, caveats = model_mapping(HomoLRSettings(), Fate18Options(), max_rows=MAX_ROWS)
    assert mapping["full batch"].startswith("batch_size=-1")
    assert mapping["convergence"].startswith("tol=0.0001, early_stop='diff'")
    assert "model.tol is unset" in mapping["convergence"]
    assert mapping["learning rate decay (constant)"].startswith("decay=0,")
    assert [c.split(":")[0] for c in caveats] == ["gradient clipping", "early stopping"]
    assert "does not clip gradients" in caveats[0] and "global norm 1.0" in caveats[0]
    assert "may finish before 20 epochs" in caveats[1] and "set model.tol" in caveats[1]


@pytest.mark.parametrize(("settings", "options"), SETTINGS)
def test_fate18_caveats_follow_the_settings(settings: HomoLRSettings, options: Fate18Options) -> None:
    _, caveats = model_mapping(settings, options, max_rows=MAX_ROWS)
    topics = {c.split(":")[0]: c for c in caveats}
    assert ("gradient clipping" in topics) == (settings.max_grad_norm is not None)
    if settings.tol:
        assert f"model.tol={settings.tol}" in topics["early stopping"]
    else:
        assert "model.tol is unset" in topics["early stopping"]
    assert any(c.startswith("Paillier") for c in caveats) == options.paillier


def test_fate18_mapping_refuses_what_fate18_cannot_run() -> None:
    with pytest.raises(ConfigError, match="needs optimizer 'sgd'"):
        model_mapping(HomoLRSettings(), Fate18Options(paillier=True), max_rows=MAX_ROWS)


def test_fate18_report_names_fate18(tmp_path: Path) -> None:
    mapping, caveats = model_mapping(HomoLRSettings(), Fate18Options(), max_rows=MAX_ROWS)
    doc = small_results({"fate_target": MAPPING_TARGET, "fate_mapping": mapping, "not_expressible": caveats})
    run_dir = write_report(doc, tmp_path / "reports")
    md = (run_dir / "report.md").read_text()
    assert f"How the settings map onto {MAPPING_TARGET}:" in md and "FATE 1.8" in MAPPING_TARGET
    assert "FATE 2.2 HomoLR" not in md
    for value in [*mapping.values(), *caveats]:
        assert value in md
    saved = json.loads((run_dir / "results.json").read_text())["model"]
    assert (saved["fate_target"], saved["fate_mapping"], saved["not_expressible"]) == (MAPPING_TARGET, mapping, caveats)
