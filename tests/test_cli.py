"""The command line as a user meets it: help text, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fatelab(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_help_answers_questions() -> None:
    out = fatelab("--help")
    assert out.returncode == 0
    for word in ("experiment", "prepare", "engine", "reports/latest", "--data"):
        assert word in out.stdout
    sub = fatelab("experiment", "--help")
    assert "--no-sweep" in sub.stdout and "--inventory" in sub.stdout


def test_prepare_missing_columns_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "loans.csv"
    bad.write_text("id,loan_amnt\n1,1000\n")
    out = fatelab("prepare", "--input", str(bad), "--output", str(tmp_path / "out"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "loan_status" in out.stderr and "int_rate" in out.stderr
    assert not (tmp_path / "out" / "prepared.csv").exists()


def test_prepare_the_bundled_sample(tmp_path: Path) -> None:
    out = fatelab("prepare", "--input", str(ROOT / "data" / "loan_2011q4_head5k.csv"), "--output", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "prepared 4,338 of 4,999 rows" in out.stdout
    assert (tmp_path / "prepared.csv").exists() and (tmp_path / "data_card.json").exists()


def test_experiment_with_a_missing_input_file(tmp_path: Path) -> None:
    out = fatelab("experiment", "--data", str(tmp_path / "nope.csv"), "--quiet")
    assert out.returncode == 2
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_engine_status_on_an_unused_port() -> None:
    out = fatelab("engine", "status", "--port", "9399")
    # Nothing of ours answers there: whatever the pid file says, the state is not "running".
    assert out.returncode == 1
    assert out.stdout.startswith("FATE-Flow ") and "running" not in out.stdout
