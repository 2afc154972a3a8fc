"""The default study's costs as ratios from one run: one FATE-Flow fit vs the same fit on the launcher,
and the whole multi-seed study (every seed's arms and sweep) on the launcher against that one fit.

By default it runs ``fatelab experiment`` as ``make experiment`` does (launcher, 10 seeds, the first
fit validated as one embedded FATE-Flow job) into ``build/bench/reports`` and reads its results.json;
``--results PATH`` reads an existing run instead. The load average before and after is printed with
the numbers: on a shared 2-core machine they mean little without it.

    python -m harness.benchmarks.experiment_timings            # runs the study (minutes)
    python -m harness.benchmarks.experiment_timings --results reports/latest/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPORTS = Path("build/bench/reports")


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def run_experiment(reports: Path, extra: list[str]) -> tuple[Path, float]:
    """``fatelab experiment`` with the defaults; its results.json and its wall seconds."""
    started = time.monotonic()
    command = [sys.executable, "-m", "harness.cli", "experiment", "--reports", str(reports), *extra]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv
    return reports / "latest" / "results.json", time.monotonic() - started


def rows(results: Mapping[str, Any], wall_s: float | None) -> list[tuple[str, str]]:
    """What the run cost, each line a number of this one run."""
    timings = results.get("timings") or {}
    launch = (results.get("engine") or {}).get("last_launch") or {}
    validation = results.get("validation") or {}
    seeds = results.get("seeds") or [results.get("seed")]
    out = [
        ("seeds", str(len(seeds))),
        ("preparation", f"{timings.get('prepare_s', 0):.1f} s"),
        ("fits of the run (one launch)", str(launch.get("fits", "?"))),
    ]
    if launch:
        lanes = launch.get("lanes") or [launch]
        out += [
            ("launch: every seed's federated fit and sweep", f"{launch['launch_s']:.1f} s"),
            ("  launches at once (launcher_lanes)", str(len(lanes))),
            ("  FATE's fits (guest wall, summed over the launches)", f"{launch['fit_s_sum']:.1f} s"),
            # Start-up (imports, the parties' ready handshake) and the end (reaping the parties, exit).
            ("  outside the fits (the longest of the launches)",
             f"{max(lane['launch_s'] - lane['fit_s_sum'] for lane in lanes):.1f} s"),
            ("  fits per second of launch", f"{launch['fits'] / max(launch['launch_s'], 1e-9):.3f}"),
        ]
    flow_s = launcher_s = None
    walls = validation.get("wall_s") or {}
    if len(walls) == 2:
        (flow_name, flow_s), (launcher_name, launcher_s) = walls.items()
        out += [
            (f"one federated fit as a FATE-Flow job ({flow_name})", f"{flow_s:.1f} s"),
            (f"the same fit on the launcher ({launcher_name}, in the launch)", f"{launcher_s:.2f} s"),
            ("ratio FATE-Flow fit / launcher fit", f"{flow_s / launcher_s:.0f}x" if launcher_s else "n/a"),
        ]
    if launch and flow_s:
        out.append((f"ratio whole launch ({launch.get('fits')} fits) / one FATE-Flow fit",
                     f"{launch['launch_s'] / flow_s:.2f}"))
    out += [
        ("FATE engine call (launch, the validation job beside it)", f"{timings.get('fate_jobs_s', 0):.1f} s"),
        ("study total (prepare .. report)", f"{timings.get('total_s', 0):.1f} s"),
    ]
    if wall_s is not None:
        out.append(("`fatelab experiment` wall, process start to exit", f"{wall_s:.1f} s"))
    if validation.get("error"):
        out.append(("validation (coefficients, scores, AUC)", f"FAILED: {str(validation['error']).splitlines()[0]}"))
    elif validation:
        verdict = "within" if validation.get("within_bounds") else "OUTSIDE"
        out.append(("validation (coefficients, scores, AUC)", f"{verdict} the bounds"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, help="read this results.json instead of running the study")
    parser.add_argument("--reports", type=Path, default=REPORTS, help=f"where the run's report goes ({REPORTS})")
    args, extra = parser.parse_known_args(argv)
    before = load_text()
    wall_s = None
    path = args.results
    if path is None:
        path, wall_s = run_experiment(args.reports, extra)
    if not path.exists():
        print(f"no {path}: run 'make experiment' first", file=sys.stderr)
        return 1
    results = json.loads(path.read_text())
    print(f"experiment timings from run {results.get('run_id')} ({(results.get('engine') or {}).get('name')}), "
          f"load average (1/5/15 min) before {before}, after {load_text()}:")
    table = rows(results, wall_s)
    width = max(len(name) for name, _ in table)
    for name, value in table:
        print(f"  {name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
