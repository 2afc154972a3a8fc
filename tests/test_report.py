"""Tests for harness.report.markdown / harness.report.figures.

The results fixture follows the orchestrator's schema, with every number computed here from the real
Lending Club sample: logistic regressions per arm on a seeded split, a one-shot weighted average of
the party models standing in for the federated arm. Nothing about the report is hard-coded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from harness.errors import ConfigError
from harness.report import claims
from harness.report import figures as plots
from harness.report import format as fmt
from harness.report import markdown as report
from harness.report import results as report_results
from harness.report.write import write_report

REPO = Path(__file__).resolve().parents[1]
DATA_CANDIDATES = (
    Path("/work/shared/data/lending_club/loan_2011q4_head5k.csv"),
    REPO / "data" / "loan_2011q4_head5k.csv",
)
FEATURES = ["loan_amnt", "int_rate", "installment", "annual_inc", "dti", "revol_bal", "revol_util",
            "open_acc", "total_acc", "inq_last_6mths", "delinq_2yrs", "pub_rec"]
PARTIES = {"9999": ["guest"], "9998": ["host"], "10000": ["host", "arbiter"]}
RATIOS = {"9999": 0.4, "9998": 0.35, "10000": 0.25}
SEED = 42
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data_path() -> Path:
    for p in DATA_CANDIDATES:
        if p.exists():
            return p
    pytest.skip("Lending Club sample not found")


# --------------------------------------------------------------------------------------------------
# Fixture: a results dict computed from real data


def _metrics(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    pred = (score >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    fpr, tpr, _ = roc_curve(y, score)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    return {
        "auc": float(roc_auc_score(y, score)),
        "ks": float(np.max(tpr - fpr)),
        "specificity": float(tn / (tn + fp)),
        "recall": float(tp / (tp + fn)),
        "precision": float(tp / (tp + fp)) if tp + fp else 0.0,
        "f1": float(f[1]),
        "accuracy": float((tp + tn) / len(y)),
        "per_class": {str(c): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                               "support": int(s[i])} for i, c in enumerate([0, 1])},
        "n": int(len(y)),
        "threshold": threshold,
    }


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
    xb, yb = SMOTE(random_state=SEED).fit_resample(x, y)
    lr = LogisticRegression(max_iter=300).fit(xb, yb)
    info = {"k_neighbors": 5, "rows_before": int(len(y)), "rows_after": int(len(yb)),
            "minority_before": int(y.sum()), "minority_after": int(yb.sum())}
    return lr.coef_[0], float(lr.intercept_[0]), info


def _score(x: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ coef + intercept)))


def _average(models: list[tuple[np.ndarray, float, int]]) -> tuple[np.ndarray, float]:
    total = sum(n for _, _, n in models)
    coef = sum(c * n for c, _, n in models) / total
    return coef, sum(b * n for _, b, n in models) / total


def _split(n: int, ratios: list[float], rng: np.random.Generator) -> list[np.ndarray]:
    idx = rng.permutation(n)
    cuts = np.cumsum([int(round(r * n)) for r in ratios])[:-1]
    return np.split(idx, cuts)


def build_results(run_id: str = "20261126-051500-ab12cd") -> dict[str, Any]:
    path = _data_path()
    raw = pd.read_csv(path, low_memory=False)
    steps = []
    kept = raw[raw["loan_status"].isin(["Fully Paid", "Charged Off"])]
    steps.append({"name": "finished_loans_only", "rows_in": len(raw), "rows_out": len(kept),
                  "dropped_columns": {}})
    selected = kept[FEATURES + ["loan_status"]]
    steps.append({"name": "select_columns", "rows_in": len(kept), "rows_out": len(selected),
                  "dropped_columns": {c: "not a feature of the test model" for c in raw.columns
                                      if c not in selected.columns}})
    clean = selected.dropna()
    steps.append({"name": "drop_missing", "rows_in": len(selected), "rows_out": len(clean),
                  "dropped_columns": {}})
    x = StandardScaler().fit_transform(clean[FEATURES].to_numpy(float))
    y = (clean["loan_status"] == "Charged Off").to_numpy(int)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=SEED, stratify=y)

    arms: dict[str, Any] = {}
    roc: dict[str, Any] = {}

    def record(name: str, coef: np.ndarray, intercept: float) -> None:
        s = _score(x_te, coef, intercept)
        arms[name] = _metrics(y_te, s)
        fpr, tpr, _ = roc_curve(y_te, s)
        roc[name] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}

    coef, b, _ = _fit(x_tr, y_tr)
    record("centralized", coef, b)

    rng = np.random.default_rng(SEED)
    parts = _split(len(y_tr), list(RATIOS.values()), rng)
    parties: dict[str, Any] = {}
    local_models = []
    for pid, idx in zip(RATIOS, parts):
        c, bb, info = _fit(x_tr[idx], y_tr[idx])
        local_models.append((c, bb, len(idx)))
        record(f"local:{pid}", c, bb)
        parties[pid] = {"roles": PARTIES[pid], "train_rows": int(len(idx)),
                        "train_rows_balanced": info["rows_after"], "test_rows": int(len(y_te)), "smote": info}
    record("federated", *_average(local_models))

    sweep = []
    for r in np.round(np.arange(0.1, 1.0, 0.1), 1):
        a, bpart = _split(len(y_tr), [float(r), float(1 - r)], np.random.default_rng(SEED))
        models = [(*_fit(x_tr[i], y_tr[i])[:2], len(i)) for i in (a, bpart)]
        s = _score(x_te, *_average(models))
        sweep.append({"ratio": [float(r), round(1 - float(r), 1)], "parties": ["9999", "9998"],
                      "federated": _metrics(y_te, s), "job_ids": [f"2026112605{int(r * 10):02d}0000000"]})

    fed = arms["federated"]
    return {
        "run_id": run_id, "created": "2026-11-26T05:15:00Z", "seed": SEED, "test_size": 0.3,
        "engine": {"name": "fate-2.2-standalone", "fate_version": "2.2.0", "endpoint": "127.0.0.1:9380"},
        "versions": {"python": "3.11", "pandas": pd.__version__, "numpy": np.__version__},
        "data": {"input": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                 "card": {"rows_in": len(raw), "rows_out": len(clean), "steps": steps,
                          "class_balance": {"1": int(y.sum()), "0": int(len(y) - y.sum())},
                          "features": FEATURES}},
        "parties": parties,
        "partitioner": {"kind": "size", "ratios": RATIOS},
        "model": {"family": "logistic regression",
                  "settings": {"penalty": "l2", "C": 1.0, "max_iter": 300, "smote": True},
                  "fate_mapping": {"C": "alpha = 1/C", "max_iter": "epochs"},
                  "not_expressible": ["lbfgs solver (FATE uses SGD)"]},
        "arms": arms,
        "arm_details": {
            "federated": {"ran": "FATE 2.2 HomoLR, guest 9999, hosts 9998/10000, arbiter 10000",
                          "job_ids": ["202611260515000000001"], "wall_s": 95.1,
                          "fate_metrics": {"auc": fed["auc"], "ks": fed["ks"]}},
            "centralized": {"ran": "scikit-learn LogisticRegression on the pooled training rows",
                            "wall_s": 0.4},
            **{f"local:{p}": {"ran": f"scikit-learn LogisticRegression on party {p}'s rows", "wall_s": 0.1}
               for p in PARTIES},
        },
        "sweep": sweep,
        "roc": roc,
        "timings": {"prepare_s": 1.2, "upload_s": 3.4, "federated_s": 95.1, "sweep_s": 840.0,
                    "total_s": 950.3, "fate_startup_share": 0.8},
        "gap_note": "The federated arm averages party models trained on SMOTE-balanced local data.",
    }


@pytest.fixture(scope="module")
def base_results() -> dict[str, Any]:
    return build_results()


@pytest.fixture()
def results(base_results: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(base_results)


@pytest.fixture(scope="module")
def written(base_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One full report shared by the read-only tests (drawing the figures is the slow part)."""
    reports = tmp_path_factory.mktemp("reports")
    return reports, write_report(copy.deepcopy(base_results), reports)


@pytest.fixture()
def stub_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests about files and links, not figures: write a token PNG instead of drawing."""

    def stub(*args: Any, **_k: Any) -> Path:
        path = next(a for a in args if isinstance(a, Path))
        path.write_bytes(PNG_MAGIC + b"stub")
        return path

    for name in ("plot_arms", "plot_sweep", "plot_roc"):
        monkeypatch.setattr(plots, name, stub)


# --------------------------------------------------------------------------------------------------
# Helpers


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def arm_row(md: str, label: str) -> str:
    rows = [line for line in md.splitlines() if line.startswith("| ") and label in line.split("|")[1]]
    assert rows, f"no table row for {label!r}"
    return rows[0]


# --------------------------------------------------------------------------------------------------
# Tests


def test_writes_run_dir_with_valid_pngs_and_results(
    written: tuple[Path, Path], results: dict[str, Any], tmp_path: Path
) -> None:
    reports, run = written
    assert run == reports / results["run_id"]
    for name in ("arms.png", "sweep.png", "roc.png"):
        w, h = png_size(run / name)
        assert 800 <= w <= 2500 and 600 <= h <= 2000, (name, w, h)
        assert (run / name).stat().st_size > 20_000
    assert json.loads((run / "results.json").read_text()) == results
    assert not [p for p in reports.iterdir() if p.name.startswith(".")], "temp files left behind"
    probe = tmp_path / "probe"
    probe.mkdir()
    assert run.stat().st_mode & 0o777 == probe.stat().st_mode & 0o777, "run dir ignores the umask"


def test_report_shows_every_arm_with_its_numbers(written: tuple[Path, Path], results: dict[str, Any]) -> None:
    md = (written[1] / "report.md").read_text()
    for arm, m in results["arms"].items():
        row = arm_row(md, report_results.arm_label(arm, results))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1:8] == [f"{m[k]:.3f}" for k, _ in fmt.METRIC_COLUMNS], arm
    for entry in results["sweep"]:
        row = arm_row(md, fmt.split_label(entry["ratio"]))
        assert f"{entry['federated']['auc']:.3f}" in row
    for name in ("arms.png", "sweep.png", "roc.png"):
        assert f"]({name})" in md
    for step in results["data"]["card"]["steps"]:
        assert f"| {step['name']} | {step['rows_in']:,} | {step['rows_out']:,} |" in md
    assert results["data"]["sha256"] in md
    assert "95.1 s" in md and "202611260515000000001" in md
    assert results["gap_note"] in md
    for pid, p in results["parties"].items():
        roles = ", ".join(p["roles"])
        assert f"| {pid} | {roles} | {p['train_rows']:,} | {p['train_rows_balanced']:,} |" in md


def test_per_class_tables_match_results(written: tuple[Path, Path], results: dict[str, Any]) -> None:
    md = (written[1] / "report.md").read_text()
    for arm in ("federated", "centralized"):
        section = md.split(f"### {report_results.arm_label(arm, results)}\n", 1)[1].split("###", 1)[0]
        for cls, v in results["arms"][arm]["per_class"].items():
            expected = (f"| {cls} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} "
                        f"| {v['support']:,} |")
            assert expected in section


def test_headline_and_summary_line_use_the_results(results: dict[str, Any]) -> None:
    fed, cen = results["arms"]["federated"], results["arms"]["centralized"]
    line = claims.render_summary_line(results)
    assert "\n" not in line and line.isascii()
    assert line.startswith(f"Federated AUC {fed['auc']:.3f} vs centralised {cen['auc']:.3f} (")
    gap = fed["auc"] - cen["auc"]
    assert f"{gap:+.3f}" in line or (round(gap, 3) == 0 and "0.000" in line)
    assert f"specificity {fed['specificity']:.3f} vs {cen['specificity']:.3f}" in line
    locals_ = [a for a in results["arms"] if a.startswith("local:")]
    best = max(locals_, key=lambda a: results["arms"][a]["auc"])
    assert f"best local-only {results['arms'][best]['auc']:.3f} (party {best.split(':')[1]})" in line


@pytest.mark.usefixtures("stub_figures")
def test_latest_is_relative_and_moves_to_the_newest_run(tmp_path: Path, results: dict[str, Any]) -> None:
    first = write_report(results, tmp_path)
    latest = tmp_path / "latest"
    assert latest.is_symlink() and os.readlink(latest) == first.name
    assert latest.resolve() == first.resolve()

    second_results = dict(results, run_id="20261126-061500-cd34ef")
    second = write_report(second_results, tmp_path)
    assert os.readlink(latest) == second.name
    assert first.is_dir() and (first / "report.md").exists()
    assert json.loads((latest / "results.json").read_text())["run_id"] == "20261126-061500-cd34ef"


# plot_roc is drawn last of the figures and render_markdown runs after all of them, so these fail
# with results.json and the other PNGs already written in the temporary directory.
@pytest.mark.usefixtures("stub_figures")
@pytest.mark.parametrize("module, broken", [(plots, "plot_roc"), (report, "render_markdown")])
def test_failure_mid_write_leaves_nothing_and_keeps_latest(
    tmp_path: Path, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch, module: Any, broken: str
) -> None:
    first = write_report(results, tmp_path)

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, broken, boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(dict(results, run_id="20261126-071500-ef56ab"), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, "latest"])
    assert os.readlink(tmp_path / "latest") == first.name


def test_missing_arms_empty_sweep_and_failed_arm(tmp_path: Path, results: dict[str, Any]) -> None:
    results["sweep"] = []
    del results["arms"]["local:10000"], results["arms"]["local:9998"]
    del results["roc"]["local:10000"], results["roc"]["local:9998"], results["roc"]["local:9999"]
    results["arms"]["local:9999"] = {"error": "FATE job 123 failed | reader: no such table"}
    run = write_report(results, tmp_path)
    md = (run / "report.md").read_text()
    assert not (run / "sweep.png").exists() and "](sweep.png)" not in md
    assert "sweep was skipped" in md
    assert "**Missing:** `local:9998`, `local:10000`" in md
    row = arm_row(md, report_results.arm_label("local:9999", results))
    assert "failed: FATE job 123 failed \\| reader: no such table" in row
    assert "- **Failed:** `local:9999`: FATE job 123 failed | reader: no such table" in md
    assert "no local-only arm succeeded; other arms: 1 failed, 2 missing" in md.splitlines()[2]
    png_size(run / "arms.png")
    png_size(run / "roc.png")
    assert json.loads((run / "results.json").read_text()) == results


def test_only_failures_still_render(tmp_path: Path, results: dict[str, Any]) -> None:
    results["arms"] = {"federated": {"error": "engine unreachable"}}
    results["roc"] = {}
    results["sweep"] = [dict(results["sweep"][0], federated={"error": "job failed"})]
    run = write_report(results, tmp_path)
    md = (run / "report.md").read_text()
    assert "Federated arm failed (engine unreachable)" in md
    assert "centralised arm missing" in md
    assert "No gap can be computed" in md
    assert not list(run.glob("*.png"))
    assert "every sweep run failed" in md


@pytest.mark.usefixtures("stub_figures")
def test_nan_and_numpy_values_become_strict_json(tmp_path: Path, results: dict[str, Any]) -> None:
    results["arms"]["local:9998"]["precision"] = float("nan")
    results["arms"]["local:9998"]["n"] = np.int64(results["arms"]["local:9998"]["n"])
    results["seed"] = np.int64(SEED)

    def no_constants(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name}")

    run = write_report(results, tmp_path)
    data = json.loads((run / "results.json").read_text(), parse_constant=no_constants)
    assert data["arms"]["local:9998"]["precision"] is None and data["seed"] == SEED
    row = arm_row((run / "report.md").read_text(), report_results.arm_label("local:9998", results))
    assert "| n/a |" in row


@pytest.mark.parametrize("bad", ["../escape", "latest", "", ".hidden", None, "a/b"])
def test_rejects_unusable_run_ids(tmp_path: Path, results: dict[str, Any], bad: Any) -> None:
    with pytest.raises(ConfigError):
        write_report(dict(results, run_id=bad), tmp_path)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


@pytest.mark.usefixtures("stub_figures")
def test_refuses_to_overwrite_a_run(tmp_path: Path, results: dict[str, Any]) -> None:
    run = write_report(results, tmp_path)
    before = (run / "report.md").read_text()
    changed = copy.deepcopy(results)
    changed["arms"]["federated"]["auc"] = 0.0
    with pytest.raises(ConfigError, match="already exists"):
        write_report(changed, tmp_path)
    assert (run / "report.md").read_text() == before


def test_split_labels() -> None:
    assert fmt.split_label([0.1, 0.9]) == "10/90"
    assert fmt.split_label([0.25, 0.75]) == "25/75"
    assert fmt.split_label([0.333, 0.667]) == "33.3/66.7"
    assert re.fullmatch(r"\d+/\d+", fmt.split_label([0.7, 0.30000000000000004]))


def test_plot_sweep_breaks_the_line_at_failed_runs(tmp_path: Path) -> None:
    out = plots.plot_sweep(["10/90", "50/50", "90/10"], [0.70, None, 0.69], [0.6, None, 0.62],
                           tmp_path / "s.png", reference_auc=0.71, parties=["9999", "9998"])
    assert png_size(out)[0] > 800
    with pytest.raises(ValueError, match="one AUC"):
        plots.plot_sweep(["10/90"], [0.7, 0.7], [0.6], tmp_path / "t.png")


def test_dropped_columns_are_grouped_by_reason(written: tuple[Path, Path], results: dict[str, Any]) -> None:
    md = (written[1] / "report.md").read_text()
    step = next(s for s in results["data"]["card"]["steps"] if s["dropped_columns"])
    row = next(line for line in md.splitlines() if line.startswith(f"| {step['name']} | not a feature"))
    assert row.count("`") == 2 * len(step["dropped_columns"])


def test_to_jsonable_takes_what_the_study_records(tmp_path: Path) -> None:
    # The study's results hold numpy numbers, paths and sets (e.g. a scaler's pass-through columns);
    # one conversion serves it and the report, and a set is written in sorted order.
    value = {1: np.float32(0.5), "dir": tmp_path, "cols": frozenset({"b", "a"}), "arr": np.arange(3),
             "nan": float("nan"), "nested": ({"x"}, [np.int64(7)])}
    assert report.to_jsonable(value) == {"1": 0.5, "dir": str(tmp_path), "cols": ["a", "b"], "arr": [0, 1, 2],
                                         "nan": None, "nested": [["x"], [7]]}
    with pytest.raises(TypeError, match=r"results\['bad'\] is a object"):
        report.to_jsonable({"bad": object()})
