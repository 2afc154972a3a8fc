"""FATE 2.2's PSI (ECDH over curve25519) against id-set size: seconds and traffic for 1k, 10k, 100k ids.

Not in CI (minutes under load). Synthetic ids, which is fine for timing only: guest and host hold
``n`` ids each, half of them shared. One launch of FATE's multi-process launcher (guest + host), one fit
per size, each running ``psi_run`` on the sizes' train tables (and on a 20-id test table, which the
PSI seconds include). Traffic is what :class:`harness.engines.fate22.wire.WireCounter` counts: PSI
ships its encrypted ids as tables, counted in rows (and in bytes where the rows are byte strings).

    python -m harness.benchmarks.psi_bench [--sizes 1000 10000 100000] [--out build/bench/psi.json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.engines.fate22.launcher import launch_command, run_launch
from harness.engines.fate22.launcher_hetero import PSI_ONLY
from harness.engines.fate22.mapping_hetero import PSI

PARTIES = (("guest", "9999"), ("host", "9998"))
TEST_IDS = 20


def id_tables(n: int, seed: int, directory: Path) -> dict[str, dict[str, str]]:
    """Guest and host CSVs of ``n`` ids each, ``n // 2`` shared; a 20-id test table each, all shared."""
    rng = np.random.default_rng(seed)
    pool = rng.choice(10 * n + TEST_IDS, size=2 * n - n // 2 + TEST_IDS, replace=False)
    test, rest = pool[:TEST_IDS], pool[TEST_IDS:]
    guest, host = rest[:n], rest[n - n // 2 :]
    paths: dict[str, dict[str, str]] = {"train": {}, "test": {}}
    for split, ids in (("train", {"9999": guest, "9998": host}), ("test", {"9999": test, "9998": test})):
        for party, values in ids.items():
            frame = pd.DataFrame({"sample_id": values, "x": rng.normal(size=len(values))})
            if party == "9999":
                frame["label"] = rng.integers(0, 2, len(values))
            path = directory / f"{split}_{n}_{party}.csv"
            frame.to_csv(path, index=False)
            paths[split][party] = str(path)
    return paths


def run(sizes: Sequence[int], work: Path) -> list[dict[str, Any]]:
    session = time.strftime("%Y%m%d%H%M%S") + "-psi-" + secrets.token_hex(3)
    launch = work / session
    out_dir, data_dir = launch / "out", launch / "data"
    out_dir.mkdir(parents=True)
    fits = []
    for index, n in enumerate(sizes):
        paths = id_tables(n, index, launch)
        fits.append({"index": index, "what": f"psi {n}", "parties": [list(p) for p in PARTIES], **paths,
                     "params": {"family": PSI_ONLY, "psi": dict(PSI)}, "label": "label", "id_column": "sample_id"})
    plan = launch / "plan.json"
    plan.write_text(json.dumps({"session": session, "out_dir": str(out_dir.resolve()), "fits": fits}))
    command = launch_command(plan.resolve(), list(PARTIES), data_dir.resolve(), session)
    wall = run_launch(command, log_path=launch / "launch.log", timeout=3600)
    rows = []
    for index, n in enumerate(sizes):
        model = json.loads((out_dir / f"fit{index}" / "model.json").read_text())
        wires = {r: json.loads((out_dir / f"fit{index}" / f"wire_{r}_{p}.json").read_text()) for r, p in PARTIES}
        rows.append({
            "ids_per_party": n, "true_overlap": n // 2, "found_overlap": model["psi"]["train_found"],
            "psi_s": round(model["phases"]["psi_s"], 3),
            "guest_sent": model["psi"]["sent"],
            "host_sent": {k: wires["host"][k] for k in ("bytes", "tables", "table_rows")},
        })  # fmt: skip
    print(f"launch {wall:.1f} s (includes party start-up)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--work", type=Path, default=Path(".fatelab/work/psi_bench"))
    parser.add_argument("--out", type=Path, default=Path("build/bench/psi.json"))
    args = parser.parse_args(argv)
    rows = run(args.sizes, args.work)
    load = os.getloadavg()[0]
    for row in rows:
        print(f"  {row['ids_per_party']:>7} ids/party: PSI {row['psi_s']:7.2f} s, found {row['found_overlap']:>6} "
              f"of {row['true_overlap']:>6}, guest sent {row['guest_sent']['table_rows']} table rows")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load_1min": load, "cores": os.cpu_count(), "rows": rows}, indent=1))
    print(f"load {load:.1f} on {os.cpu_count()} cores; written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
