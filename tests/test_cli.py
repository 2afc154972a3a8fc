"""The command line as a user meets it: help text, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from studykit import run_fatelab as fatelab

ROOT = Path(__file__).resolve().parents[1]


def test_help_answers_questions() -> None:
    out = fatelab("--help")
    assert out.returncode == 0
    for word in ("experiment", "prepare", "engine", "scenarios", "reports/latest", "--data", "--scenario"):
        assert word in out.stdout
    sub = fatelab("experiment", "--help")
    assert "--no-sweep" in sub.stdout and "--inventory" in sub.stdout and "--scenario" in sub.stdout


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


# Paths the help and README name that a fresh checkout does not hold, and why.
NOT_IN_A_CHECKOUT = {
    "ansible/inventory/lab.yml": "written by `make lab`",
    "ansible/inventory/mysite.yml": "the user's copy of the example inventory",
    "lab/.state/known_hosts": "written by `make lab`",
    "lab/cache/": "the lab's base image cache, made by `make lab`",
}
_REPO_PATH = re.compile(
    r"(?<![\w./~<-])((?:\.ci|ansible|data|docs|harness|kubefate|lab|requirements|tests)/[\w./<>*-]*)"
)


def _named_paths(text: str) -> set[str]:
    found = {m.group(1).rstrip(".") for m in _REPO_PATH.finditer(text)}
    return {p for p in found if "<" not in p and "*" not in p}


def test_every_path_in_help_and_readme_exists() -> None:
    texts = {"README.md": (ROOT / "README.md").read_text()}
    for command in ((), ("prepare",), ("engine",), ("experiment",), ("scenarios",)):
        out = fatelab(*command, "--help")
        assert out.returncode == 0, out.stderr
        texts[f"fatelab {' '.join(command)} --help"] = out.stdout
    named = {(where, path) for where, text in texts.items() for path in _named_paths(text)}
    assert any(path == "docs/configuration.md" for _, path in named), "the walk must see the --config help"
    assert any(path == "docs/scenarios.md" for _, path in named), "the walk must see the scenarios help"
    missing = sorted((where, p) for where, p in named if p not in NOT_IN_A_CHECKOUT and not (ROOT / p).exists())
    assert missing == []


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "many"])
def test_bad_seeds_flag_is_one_clear_error(value: str, tmp_path: Path) -> None:
    out = fatelab("experiment", f"--seeds={value}", "--quiet", "--reports", str(tmp_path))
    assert out.returncode == 2, out.stderr
    [message, hint] = out.stderr.strip().splitlines()
    assert message.startswith("fatelab: error: seeds must be") and value in message
    assert hint.startswith("  what to do: a whole number of seeds, 1 or more")
    assert not list(tmp_path.iterdir())
