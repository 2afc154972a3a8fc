"""`fatelab prepare` on bad input, run as a user would: a subprocess, its exit code and its stderr.

Every case must end with exit 2, one error line and one hint line, no traceback, and the output
directory exactly as it was (an earlier run's pair survives). Inputs are built from the real
Lending Club sample; the defects sit past the first MiB, where only the streaming reader sees them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "loan_2011q4_head5k.csv"
if not SAMPLE.is_file():
    SAMPLE = Path("/work/shared/data/lending_club/loan_2011q4_head5k.csv")
BASE_ROWS = 2000  # about 1.2 MB: a defect at row 1900 lies past the first MiB that read_header checks
DEFECT_ROW = 1900
SECRET = "BORROWER-ROW-7f3a"  # planted in broken rows: must never reach the terminal
OLD_CSV, OLD_CARD = "old prepared\n", '{"old": true}\n'
Rows = list[list[str]]


def run_prepare(
    source: Path, out: Path, *, without_dac: bool = False, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    args = ["prepare", "--input", str(source), "--output", str(out)]
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "harness.cli", *args]
    if without_dac and os.geteuid() == 0:
        # Root reads and writes through any permission bits; without these two capabilities it
        # meets them like any other owner, so the permission cases are real for root too.
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


def assert_clean_failure(done: subprocess.CompletedProcess[str], *patterns: str) -> str:
    err = done.stderr
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in err and "terminate called" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("fatelab: error: "), err
    assert lines[1].startswith("  what to do: ") and len(lines[1]) > len("  what to do: ") + 10, err
    assert done.stdout == ""
    for pattern in patterns:
        assert pattern in err, (pattern, err)
    assert SECRET not in err
    return err


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], Rows]:
    with SAMPLE.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1 : BASE_ROWS + 1]


def write_rows(path: Path, header: list[str], rows: Rows, *, newline: str = "\n") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator=newline).writerows([header, *rows])
    return path


def line_of_row(path: Path, row_index: int) -> int:
    """The physical line (1-based) on which data row ``row_index`` (0-based) starts."""
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        next(reader)
        for index, _ in enumerate(reader):
            if index == row_index - 1:
                return reader.line_num + 1
    raise AssertionError(f"{path} has no row {row_index}")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "prepared.csv").write_text(OLD_CSV)
    (out / "data_card.json").write_text(OLD_CARD)
    return out


def assert_untouched(out: Path) -> None:
    assert sorted(os.listdir(out)) == ["data_card.json", "prepared.csv"]
    assert (out / "prepared.csv").read_text() == OLD_CSV
    assert (out / "data_card.json").read_text() == OLD_CARD


def with_defect(tmp_path: Path, sample, make_line: Callable[[list[str]], str]) -> tuple[Path, int]:
    """The base rows with one raw line (``make_line(header)``) inserted before row DEFECT_ROW."""
    header, rows = sample
    path = write_rows(tmp_path / "loan.csv", header, rows)
    line = line_of_row(path, DEFECT_ROW)
    lines = path.read_bytes().split(b"\n")
    lines.insert(line - 1, make_line(header).encode("utf-8", "surrogateescape"))
    path.write_bytes(b"\n".join(lines))
    assert path.stat().st_size > 1 << 20
    return path, line


def ragged(header: list[str]) -> str:
    return f"1,{SECRET},3"


# --- CSV parse errors: file name and line, never the row, never an abort ---------------------------


def test_ragged_row_names_file_and_line(tmp_path: Path, sample, out_dir: Path) -> None:
    source, line = with_defect(tmp_path, sample, ragged)
    err = assert_clean_failure(run_prepare(source, out_dir), str(source), f"line {line}: the row has 3 field(s)")
    assert f"sed -n '{line}p'" in err
    assert_untouched(out_dir)


def test_ragged_row_never_aborts_in_20_runs(tmp_path: Path, sample, out_dir: Path) -> None:
    # Before pyarrow read the file by path, about 1 run in 5-30 died with exit 134.
    source, line = with_defect(tmp_path, sample, ragged)
    codes = []
    for _ in range(20):
        done = run_prepare(source, out_dir)
        codes.append(done.returncode)
        assert_clean_failure(done, f"line {line}:")
    assert codes == [2] * 20
    assert_untouched(out_dir)


def test_unterminated_quote_names_the_line_it_opens(tmp_path: Path, sample, out_dir: Path) -> None:
    source, line = with_defect(tmp_path, sample, lambda h: ",".join(["1", f'"{SECRET}'] + ["x"] * (len(h) - 2)))
    # Later rows hold quoted fields: the stray quote pairs with one of them, many lines further on.
    assert_clean_failure(run_prepare(source, out_dir), str(source), f"line {line}: a quoted field opened on this line")
    assert_untouched(out_dir)
    header, rows = sample
    at_end = write_rows(tmp_path / "end.csv", header, rows)
    with at_end.open("a") as fh:
        fh.write(",".join(["1", f'"{SECRET}', *rows[0][2:]]) + "\n" + ",".join(rows[1]) + "\n")
    last = line_of_row(at_end, len(rows))
    assert_clean_failure(run_prepare(at_end, out_dir), f"line {last}: a quoted field", "never closed")
    assert_untouched(out_dir)


def test_invalid_utf8_after_the_first_mib(tmp_path: Path, sample, out_dir: Path) -> None:
    header, rows = sample
    bad = [*rows[DEFECT_ROW]]
    bad[header.index("emp_title")] = SECRET + "\udcff"  # a lone 0xff byte once encoded
    source, line = with_defect(tmp_path, sample, lambda h: ",".join(bad))
    assert_clean_failure(run_prepare(source, out_dir), str(source), f"line {line}: invalid UTF-8")
    assert_untouched(out_dir)


# --- encodings, line endings, header ----------------------------------------------------------------


def test_cr_only_line_endings(tmp_path: Path, sample, out_dir: Path) -> None:
    source = write_rows(tmp_path / "mac.csv", *sample, newline="\r")
    assert_clean_failure(run_prepare(source, out_dir), str(source), "CR-only", "tr '\\r' '\\n'")
    assert_untouched(out_dir)


@pytest.mark.parametrize(("encoding", "named"), [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16LE")])
def test_utf16_input_says_how_to_convert(tmp_path: Path, sample, out_dir: Path, encoding: str, named: str) -> None:
    header, rows = sample
    text = "\n".join(",".join(r) for r in [header, *rows[:50]])
    source = tmp_path / "wide.csv"
    source.write_bytes(text.encode(encoding))
    assert_clean_failure(run_prepare(source, out_dir), f"is {named} text", f"iconv -f {named} -t UTF-8")
    assert_untouched(out_dir)


def test_duplicated_header_names_get_a_hint(tmp_path: Path, sample, out_dir: Path) -> None:
    header, rows = sample
    source = write_rows(tmp_path / "dup.csv", [*header, "dti"], [[*r, "1"] for r in rows[:50]])
    err = assert_clean_failure(run_prepare(source, out_dir), "repeats header columns: dti")
    assert "must appear once" in err
    assert_untouched(out_dir)


def test_semicolon_separated_file(tmp_path: Path, sample, out_dir: Path) -> None:
    header, rows = sample
    source = tmp_path / "semi.csv"
    source.write_text("\n".join(";".join(r) for r in [header, *rows[:50]]) + "\n")
    assert_clean_failure(run_prepare(source, out_dir), "not comma-separated", "semicolon")
    assert_untouched(out_dir)


# --- the input and output paths ------------------------------------------------------------------


def test_input_is_a_directory(tmp_path: Path, out_dir: Path) -> None:
    assert_clean_failure(run_prepare(tmp_path, out_dir), "does not exist or is not a file")
    assert_untouched(out_dir)


def test_unreadable_input(tmp_path: Path, sample, out_dir: Path) -> None:
    _needs_setpriv()
    source = write_rows(tmp_path / "loan.csv", *sample)
    source.chmod(0)
    assert_clean_failure(run_prepare(source, out_dir, without_dac=True), str(source), "Permission denied")
    assert_untouched(out_dir)


def test_output_is_a_file(tmp_path: Path, sample) -> None:
    source = write_rows(tmp_path / "loan.csv", *sample)
    target = tmp_path / "taken"
    target.write_text("mine\n")
    assert_clean_failure(run_prepare(source, target), f"output path {target} exists and is not a directory")
    assert_clean_failure(run_prepare(source, target / "sub"), f"{target} is a file")
    assert target.read_text() == "mine\n"


def test_output_not_writable(tmp_path: Path, sample) -> None:
    _needs_setpriv()
    source = write_rows(tmp_path / "loan.csv", *sample)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert_clean_failure(run_prepare(source, locked / "out", without_dac=True), "not writable")
        assert_clean_failure(run_prepare(source, locked, without_dac=True), "not writable")
    finally:
        locked.chmod(0o755)
    assert os.listdir(locked) == []


DISK_FULL = """
import errno, os, sys
from harness.data import prepare
real = prepare.write_prepared_csv
def fill_disk(frame, path, **kwargs):
    real(frame, path, **kwargs)  # a partial file exists when the disk fills up
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
prepare.write_prepared_csv = fill_disk
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_disk_full_keeps_the_previous_output(tmp_path: Path, sample, out_dir: Path) -> None:
    source = write_rows(tmp_path / "loan.csv", *sample)
    err = assert_clean_failure(run_prepare(source, out_dir, code=DISK_FULL), "No space left on device")
    assert "previous output was kept" in err
    assert_untouched(out_dir)
    fresh = tmp_path / "fresh"
    assert_clean_failure(run_prepare(source, fresh, code=DISK_FULL), "No space left on device")
    assert not fresh.exists()


# --- values -----------------------------------------------------------------------------------------


def test_infinite_income_is_an_error(tmp_path: Path, sample, out_dir: Path) -> None:
    header, rows = sample
    rows = [list(r) for r in rows]
    rows[DEFECT_ROW][header.index("annual_inc")] = "1e999"
    source = write_rows(tmp_path / "loan.csv", header, rows)
    assert_clean_failure(run_prepare(source, out_dir), "'annual_inc' has the value '1e999'", "finite number")
    assert_untouched(out_dir)


def test_implausible_values_are_dropped_and_counted(tmp_path: Path, sample) -> None:
    header, rows = sample
    base = run_prepare(write_rows(tmp_path / "base.csv", header, rows), tmp_path / "base")
    assert base.returncode == 0, base.stderr
    kept = _complete_finished_rows(header, rows)[:3]
    changed = [list(r) for r in rows]
    for i, (column, value) in zip(kept, [("annual_inc", "-5000"), ("dti", "-0.5"), ("emp_length", "99 years")]):
        changed[i][header.index(column)] = value
    done = run_prepare(write_rows(tmp_path / "odd.csv", header, changed), tmp_path / "odd")
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "odd" / "data_card.json").read_text())
    base_card = json.loads((tmp_path / "base" / "data_card.json").read_text())
    step = next(s for s in card["steps"] if s["name"] == "plausibility")
    broken = {k: v for k, v in step["rows_dropped_by_rule"].items() if v}
    assert broken == {"annual_inc < 0": 1, "dti < 0": 1, "emp_length > 10": 1}
    assert step["rows_in"] - step["rows_out"] == 3
    assert card["rows_out"] == base_card["rows_out"] - 3


def _complete_finished_rows(header: list[str], rows: Rows) -> list[int]:
    from harness.data.prepare import REQUIRED_COLUMNS

    status, emp = header.index("loan_status"), header.index("emp_length")
    required = [header.index(c) for c in REQUIRED_COLUMNS]
    return [
        i
        for i, r in enumerate(rows)
        if r[status] in ("Fully Paid", "Charged Off") and r[emp] != "n/a" and all(r[j].strip() for j in required)
    ]


def _needs_setpriv() -> None:
    if os.geteuid() != 0:
        return
    if shutil.which("setpriv") is None:
        pytest.skip("root ignores permission bits and setpriv (util-linux) is not installed to drop that")
    probe = subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"root ignores permission bits and may not drop them here: {probe.stderr.decode().strip()}")
