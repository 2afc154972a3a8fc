"""prepared.csv + data_card.json as a pair, stale temporaries, and the plausibility ranges."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import output_pair
from harness.data import prepare as prep
from harness.data import scan
from harness.data.plausible import RANGES, implausible_rows
from harness.data.prepare import prepare_file, prepare_frame, prepared_card
from harness.errors import DataError
from tests.test_prepare import frame, loan, step, write_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "loan.csv", [loan(i) for i in range(12)])


def test_card_records_and_checks_the_prepared_digest(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "out"
    card = prepare_file(source, out)
    assert card["output"]["prepared_csv_sha256"] == output_pair.file_sha256(out / "prepared.csv")
    assert prepared_card(out) == card
    with (out / "prepared.csv").open("a") as fh:
        fh.write("99,1,2\n")  # a prepared.csv from some other run
    assert prepared_card(out) is None
    (out / "data_card.json").unlink()
    assert prepared_card(out) is None
    assert prepared_card(tmp_path / "nowhere") is None


def test_a_crash_between_the_renames_leaves_no_card(tmp_path: Path, source: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    prepare_file(source, out)
    old_csv = (out / "prepared.csv").read_bytes()
    other = write_csv(tmp_path / "other.csv", [loan(i) for i in range(20, 41)])
    real_replace = os.replace
    calls: list[str] = []

    def dies_on_second(src, dst):
        calls.append(str(dst))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is stopped after prepared.csv was replaced
        real_replace(src, dst)

    monkeypatch.setattr(output_pair.os, "replace", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        prepare_file(other, out)
    monkeypatch.undo()
    # The new prepared.csv is in place but no card claims it: no reader takes the pair as valid.
    assert (out / "prepared.csv").read_bytes() != old_csv
    assert sorted(os.listdir(out)) == ["prepared.csv"]
    assert prepared_card(out) is None
    card = prepare_file(other, out)
    assert prepared_card(out) == card and card["rows_in"] == 21


KILLED_WHILE_WRITING = """
import os, signal, sys
from harness.data import prepare
real = prepare.write_prepared_csv
def write_then_die(frame, path, **kwargs):
    real(frame, path, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
prepare.write_prepared_csv = write_then_die
prepare.prepare_file(sys.argv[1], sys.argv[2])
"""


def test_temporaries_of_a_killed_run_are_swept(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n")
    (out / ".other.tmp").write_text("not ours\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(source), str(out)], env=env, capture_output=True, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    leftovers = sorted(p for p in os.listdir(out) if p.startswith((".prepared.csv.", ".data_card.json.")))
    assert len(leftovers) == 2 and all(p.endswith(".tmp") for p in leftovers)
    (out / ".prepared.csv.4242.0123456789ab.tmp").write_text("an earlier version's leftover\n")
    assert not (out / "prepared.csv").exists() and not (out / "data_card.json").exists()
    prepare_file(source, out)
    assert sorted(os.listdir(out)) == [".other.tmp", "data_card.json", "notes.txt", "prepared.csv"]


def test_temp_names_are_unique_per_call() -> None:
    names = {output_pair.temp_name("prepared.csv") for _ in range(100)}
    assert len(names) == 100
    assert all(n.startswith(f".prepared.csv.{os.getpid()}.") and n.endswith(".tmp") for n in names)


def test_replace_file_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    output_pair.replace_file(target, "one\n")
    output_pair.replace_file(target, b"two\n")
    assert target.read_text() == "two\n"
    assert os.listdir(tmp_path) == ["state.json"]


def test_files_follow_the_umask(tmp_path: Path, source: Path) -> None:
    old = os.umask(0o027)
    try:
        prepare_file(source, tmp_path / "out")
    finally:
        os.umask(old)
    for name in ("prepared.csv", "data_card.json"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o640


def test_input_changed_while_read_is_an_error(tmp_path: Path, source: Path, monkeypatch) -> None:
    real_scan = scan.scan_file

    def scan_then_append(path, *args):
        counters = real_scan(path, *args)
        with Path(path).open("a") as fh:
            fh.write("\n")
        return counters

    monkeypatch.setattr(scan, "scan_file", scan_then_append)
    with pytest.raises(DataError, match="changed while it was being read"):
        prepare_file(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- plausibility -----------------------------------------------------------------------------------


def test_non_finite_numbers_are_errors() -> None:
    with pytest.raises(ValueError, match="finite"):
        prep.parse_number("1e999")
    rows = [loan(i) for i in range(9)]
    rows[3]["dti"] = "-1e400"
    with pytest.raises(DataError, match=r"'dti' has the value '-1e400' in 1 finished loan"):
        prepare_frame(frame(rows))


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("annual_inc", "-1.0", "annual_inc < 0"),
        ("dti", "250", "dti > 100"),
        ("emp_length", "99 years", "emp_length > 10"),
        ("term", " 12 months", "term not in (36, 60)"),
        ("loan_amnt", "0", "loan_amnt <= 0"),
        ("int_rate", "137.5", "int_rate > 36"),
        ("int_rate", "0", "int_rate <= 0"),
        ("open_acc", "2.5", "open_acc not a whole number"),
        ("revol_bal", "-3", "revol_bal < 0"),
    ],
)
def test_one_implausible_value_drops_its_row(column: str, value: str, rule: str) -> None:
    rows = [loan(i) for i in range(12)]
    rows[4][column] = value
    result = prepare_frame(frame(rows))
    counts = step(result.card, "plausibility")["rows_dropped_by_rule"]
    assert {k: v for k, v in counts.items() if v} == {rule: 1}
    assert result.card["rows_out"] == 11
    assert float(rows[4]["loan_amnt"]) not in set(result.frame["loan_amnt"])  # amounts are unique per row


def test_every_rule_is_listed_and_a_row_counts_under_each_rule_it_breaks() -> None:
    parsed = {spec.column: np.array([1.0, 1.0]) for spec in RANGES}
    parsed["term"] = np.array([36.0, 60.0])
    parsed["annual_inc"] = np.array([-1.0, 5.0])
    parsed["dti"] = np.array([-1.0, 5.0])
    dropped, counts = implausible_rows(parsed, 2)
    assert dropped.tolist() == [True, False]
    assert counts["annual_inc < 0"] == counts["dti < 0"] == 1
    assert len(counts) == sum(len(spec.rules()) for spec in RANGES)
    assert all(spec.why for spec in RANGES)


def test_revol_util_over_100_percent_is_kept() -> None:
    rows = [loan(i) for i in range(12)]
    rows[4]["revol_util"] = "112.3"  # a balance over the credit limit happens
    card = prepare_frame(frame(rows)).card
    assert card["rows_out"] == 12


def test_card_json_is_what_prepare_file_returns(tmp_path: Path, source: Path) -> None:
    card = prepare_file(source, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "data_card.json").read_text()) == card


# Computed by prepare_file before it was split into modules (commit 087ea9b): the bundled sample must
# keep preparing to the same bytes. The card is pinned without input.path, which names this checkout.
SAMPLE_PREPARED_SHA256 = "f3d44038f251b88bf987298ef570c00561bca9517680e4ce98f2546f91c98213"
SAMPLE_CARD_SHA256 = "4239e4a75c7eafeeaf9be7302aae54c9b297a6a570acc487305b14f29ba3f220"


def test_bundled_sample_prepares_to_pinned_bytes(tmp_path: Path) -> None:
    card = prepare_file(ROOT / "data" / "loan_2011q4_head5k.csv", tmp_path / "out")
    assert output_pair.file_sha256(tmp_path / "out" / "prepared.csv") == SAMPLE_PREPARED_SHA256
    assert json.loads((tmp_path / "out" / "data_card.json").read_text()) == card
    card["input"]["path"] = None
    assert hashlib.sha256(json.dumps(card, sort_keys=True).encode()).hexdigest() == SAMPLE_CARD_SHA256


def _harness_imports(module_name: str) -> set[str]:
    """The harness modules ``module_name`` imports at module level, from its source."""
    import ast
    import importlib

    path = Path(importlib.import_module(module_name).__file__)
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            if hasattr(importlib.import_module(node.module), "__path__"):  # from a package: modules
                found |= {f"{node.module}.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found - {"harness.errors", "harness.output_pair"}


def test_preparation_modules_are_every_module_that_prepare_runs() -> None:
    # The study reuses prepared data only while these modules are unchanged: one left out would let a
    # change to it keep serving data prepared by the old code.
    reached, todo = set(), ["harness.data.prepare"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += sorted(_harness_imports(name))
    assert {m.__name__ for m in prep.preparation_modules()} == reached
