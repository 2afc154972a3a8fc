"""Benchmark ``prepare_file`` against ``pyarrow.csv.read_csv`` (default options) on the same CSV.

The input is built by resampling (with replacement, seeded) the rows of the real 4,999-row Lending
Club sample up to the size of the full loan.csv, because the full file is not available here. Each
measurement runs in a fresh subprocess so that its peak RSS (ru_maxrss) is its own; the two
alternate, so that a burst of load on a shared machine hits both, and the best time of each counts.
CPU seconds (user + system, all threads) are recorded too: on a loaded machine they say more about
the work done than wall time does.

    python -m harness.benchmarks.prepare_bench --rows 887379
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FULL_ROWS = 887_379
SOURCE_LABEL = "resampled from the 4,999-row sample"
_REPO = Path(__file__).resolve().parents[2]
_SAMPLE_CANDIDATES = (
    _REPO / "data" / "loan_2011q4_head5k.csv",
    Path("/work/shared/data/lending_club/loan_2011q4_head5k.csv"),
)
_WRITE_ROWS = 50_000


def default_sample() -> Path:
    for path in _SAMPLE_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError(f"no Lending Club sample at any of {[str(p) for p in _SAMPLE_CANDIDATES]}")


def _records(sample: Path) -> tuple[bytes, list[bytes]]:
    """Header and data records of ``sample`` as bytes, each ending in a newline."""
    raw = sample.read_bytes()
    lines = raw.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    with sample.open(newline="", encoding="utf-8-sig") as fh:
        parsed = list(csv.reader(fh))[1:]
    if len(parsed) == len(body):  # no quoted line breaks: keep the original bytes exactly
        return header, [line if line.endswith(b"\n") else line + b"\n" for line in body]
    records = []
    for row in parsed:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(row)
        records.append(buffer.getvalue().encode("utf-8"))
    return header, records


def build_input(sample: Path, rows: int, out: Path, seed: int) -> Path:
    """Write ``rows`` records drawn with replacement from ``sample`` (seeded) to ``out``."""
    header, records = _records(sample)
    rng = np.random.default_rng(seed)
    with out.open("wb") as fh:
        fh.write(header if header.endswith(b"\n") else header + b"\n")
        for start in range(0, rows, _WRITE_ROWS):
            picks = rng.integers(0, len(records), size=min(_WRITE_ROWS, rows - start))
            fh.write(b"".join(records[i] for i in picks))
    return out


def _child(mode: str, csv_path: Path, out_dir: Path, chunk_rows: int) -> dict:
    # Imports happen before the clock starts: both sides are timed on their work, not on start-up.
    import pyarrow.csv as pacsv

    from harness.data.prepare import prepare_file

    result: dict = {}
    start = time.perf_counter()
    if mode == "read_csv":
        result["rows"] = pacsv.read_csv(str(csv_path)).num_rows
    elif mode == "prepare":
        card = prepare_file(csv_path, out_dir, chunk_rows=chunk_rows)
        result["rows"] = card["rows_in"]
        result["rows_out"] = card["rows_out"]
    else:
        raise ValueError(f"unknown mode {mode!r}")
    result["seconds"] = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # includes the same imports on both sides
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports ru_maxrss in KiB
    return result


def _run_child(mode: str, csv_path: Path, out_dir: Path, chunk_rows: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "harness.benchmarks.prepare_bench",
        "--child",
        mode,
        str(csv_path),
        str(out_dir),
        "--chunk-rows",
        str(chunk_rows),
    ]
    done = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {mode} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    rows: int = FULL_ROWS,
    workdir: Path | None = None,
    seed: int = 0,
    *,
    sample: Path | None = None,
    chunk_rows: int = 200_000,
    repeats: int = 3,
) -> dict:
    """Build the resampled input in ``workdir`` (a temporary directory if None), time and measure both.

    With ``repeats`` > 1 the fastest time and the largest peak RSS are reported.
    """
    sample = sample or default_sample()
    with tempfile.TemporaryDirectory(prefix="prepare_bench.") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        csv_path = build_input(sample, rows, base / f"loan_resampled_{rows}_seed{seed}.csv", seed)
        reads, prepares = [], []
        load_before = os.getloadavg()[0]
        for _ in range(max(1, repeats)):
            reads.append(_run_child("read_csv", csv_path, base / "prepared", chunk_rows))
            prepares.append(_run_child("prepare", csv_path, base / "prepared", chunk_rows))
        result = {
            "source": SOURCE_LABEL,
            "sample": str(sample),
            "seed": seed,
            "rows": rows,
            "bytes": csv_path.stat().st_size,
            "chunk_rows": chunk_rows,
            "repeats": max(1, repeats),
            **_summary("read_csv", reads),
            **_summary("prepare", prepares),
            "rows_out": prepares[0]["rows_out"],
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
        result["ratio"] = result["prepare_seconds"] / result["read_csv_seconds"]
        result["cpu_ratio"] = result["prepare_cpu_seconds"] / result["read_csv_cpu_seconds"]
    print(format_table(result))
    return result


def _summary(name: str, runs: list[dict]) -> dict:
    """Best wall and CPU time and the largest peak RSS of one side's runs."""
    return {
        f"{name}_seconds": min(r["seconds"] for r in runs),
        f"{name}_cpu_seconds": min(r["cpu_seconds"] for r in runs),
        f"{name}_peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
    }


def format_table(r: dict) -> str:
    mib = 1024 * 1024
    lines = [
        f"prepare benchmark: {r['rows']:,} rows {SOURCE_LABEL} (seed {r['seed']}), "
        f"{r['bytes'] / mib:,.1f} MiB, chunk_rows {r['chunk_rows']:,}, best of {r['repeats']}",
        f"{'measurement':<28}{'seconds':>10}{'CPU s':>10}{'peak RSS MiB':>15}",
        *(
            f"{label:<28}{r[f'{key}_seconds']:>10.2f}{r[f'{key}_cpu_seconds']:>10.2f}"
            f"{r[f'{key}_peak_rss_bytes'] / mib:>15.0f}"
            for label, key in (("pyarrow.csv.read_csv", "read_csv"), ("prepare_file", "prepare"))
        ),
        f"{'prepare / read_csv':<28}{r['ratio']:>10.2f}{r['cpu_ratio']:>10.2f}",
        f"rows out: {r['rows_out']:,}; 1-min load average {r['load_before']:.1f} before, "
        f"{r['load_after']:.1f} after",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.benchmarks.prepare_bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "OUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, csv_path, out_dir = args.child
        print(json.dumps(_child(mode, Path(csv_path), Path(out_dir), args.chunk_rows)))
        return 0
    result = run(args.rows, args.workdir, args.seed, chunk_rows=args.chunk_rows, repeats=args.repeats)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
