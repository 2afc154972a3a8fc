"""Print the wall time of each part of the last ``make experiment`` run and FATE's start-up share.

Reads ``reports/latest/results.json`` (run ``make experiment`` first): timing a whole study again
here would cost 10+ minutes for numbers the study already recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def rows(results: dict) -> list[tuple[str, str]]:
    timings = results.get("timings", {})
    details = results.get("arm_details", {})
    out = [
        ("preparation", f"{timings.get('prepare_s', 0):.1f} s"),
        ("uploads (all tables, concurrent)", f"{timings.get('upload_s', 0):.1f} s"),
        ("FATE jobs (federated + sweep, concurrent)", f"{timings.get('fate_jobs_s', 0):.1f} s"),
    ]
    for arm, info in details.items():
        out.append((f"arm {arm}", f"{info.get('wall_s', 0):.1f} s"))
    for point in results.get("sweep", []):
        a, b = point["ratio"]
        out.append((f"sweep {round(a * 100)}/{round(b * 100)} job", f"{point.get('wall_s', 0):.1f} s"))
    share = timings.get("fate_startup_share")
    if share is not None:
        out.append(("FATE job time not spent training (start-up, scheduling, federation)", f"{share:.0%}"))
    out.append(("total", f"{timings.get('total_s', 0):.1f} s"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=Path("reports/latest/results.json"))
    args = parser.parse_args(argv)
    if not args.results.exists():
        print(f"no {args.results}: run 'make experiment' first", file=sys.stderr)
        return 1
    results = json.loads(args.results.read_text())
    print(f"experiment timings from run {results.get('run_id')} ({results.get('engine', {}).get('name')}):")
    width = max(len(name) for name, _ in rows(results))
    for name, value in rows(results):
        print(f"  {name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
