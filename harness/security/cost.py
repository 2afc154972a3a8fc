"""Cost of protection: plaintext vs FATE 2.2 secure aggregation vs Paillier, in one launch of FATE's launcher.

The grid varies one thing at a time from the base point (37 features, 3 data parties): every protection
(Paillier at every key size) at the base, then plaintext / secure aggregation / Paillier at the smallest
key for each other feature count and party count. All cases run in one launch
(:mod:`harness.security.cost_party`), every message counted by the launcher engine's WireCounter.

Bytes are what each data party sends per round (model and loss), read from the counter; the minimum next
to them is ``values x 2 x key_bits / 8`` for Paillier (a ciphertext lives mod n^2) and ``values x 8`` for
float64 plaintext. ``transfer_s`` is the rest of a data party's round: its wall time from sending to holding
the aggregate, less encryption/masking, the arbiter's aggregation and decryption (serialisation, FATE's
federation, waiting for the slowest party).
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import mean, median
from typing import Any

import numpy as np

from harness.engines.fate22.launcher import launch_command, run_launch
from harness.security.config import SecurityConfig
from harness.security.data import PartyArrays, split_parties, widen
from harness.study.scenario import say

PROTECTIONS = ("plaintext", "secure_aggregation", "paillier")
GUEST, ARBITER = "9999", "10000"
LAUNCH_TIMEOUT = 3600.0
FLOAT64_BYTES = 8


def grid(config: SecurityConfig) -> list[dict[str, Any]]:
    """The cases, base point first: one factor varied at a time (a full product would not fit 20 minutes)."""
    base_f, base_p, small_key = config.features[0], config.parties[0], min(config.key_bits)
    cases: list[dict[str, Any]] = []

    def add(protection: str, key_bits: int | None, features: int, parties: int) -> None:
        case = {"protection": protection, "key_bits": key_bits, "features": features, "parties": parties}
        if case not in cases:
            cases.append(case)

    add("plaintext", None, base_f, base_p)
    add("secure_aggregation", None, base_f, base_p)
    for bits in config.key_bits:
        add("paillier", bits, base_f, base_p)
    for features in config.features[1:]:
        for protection in PROTECTIONS:
            add(protection, small_key if protection == "paillier" else None, features, base_p)
    for parties in config.parties[1:]:
        for protection in PROTECTIONS:
            add(protection, small_key if protection == "paillier" else None, base_f, parties)
    return cases


def party_ids(parties: int) -> list[str]:
    """Guest 9999, hosts 9998 then 10001...; the arbiter 10000 holds no data."""
    return [GUEST, "9998", *(str(10001 + i) for i in range(parties - 2))]


def case_roles(parties: int) -> list[list[str]]:
    ids = party_ids(parties)
    return [["guest", ids[0]], *(["host", p] for p in ids[1:]), ["arbiter", ARBITER]]


def write_case_data(arrays: PartyArrays, cases: Sequence[Mapping[str, Any]], data_dir: Path) -> dict[tuple, dict]:
    """One npz per party per (features, parties) shape, from the seed's pooled training rows."""
    x, y = arrays.pooled()
    paths: dict[tuple, dict] = {}
    for case in cases:
        shape = (case["features"], case["parties"])
        if shape in paths:
            continue
        wide = widen(x, case["features"], arrays.seed)
        shares = split_parties(wide, y, case["parties"], arrays.seed)
        paths[shape] = {}
        for party, (xs, ys) in zip(party_ids(case["parties"]), shares, strict=True):
            path = data_dir / f"f{shape[0]}_p{shape[1]}_{party}.npz"
            np.savez(path, x=xs.astype(np.float32), y=ys.astype(np.float32))
            paths[shape][party] = str(path.resolve())
    return paths


def run_cost(config: SecurityConfig, arrays: PartyArrays, work_dir: Path) -> list[dict[str, Any]]:
    cases = grid(config)
    session = "security-" + time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
    launch_dir = work_dir / session
    out_dir, data_dir, fate_dir = launch_dir / "out", launch_dir / "data", launch_dir / "fate"
    out_dir.mkdir(parents=True)
    data_dir.mkdir()
    data = write_case_data(arrays, cases, data_dir)
    plan_cases = [
        c | {"index": i, "rounds": config.cost_rounds, "parties": case_roles(c["parties"]),
             "data": data[(c["features"], c["parties"])]}
        for i, c in enumerate(cases)
    ]
    plan = {"session": session, "out_dir": str(out_dir.resolve()), "cases": plan_cases}
    plan_path = launch_dir / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    everyone = sorted({tuple(p) for c in plan_cases for p in c["parties"]}, key=_launch_order)
    command = launch_command(plan_path.resolve(), everyone, fate_dir.resolve(), session, LAUNCH_TIMEOUT,
                             module="harness.security.cost_party")
    say(f"cost: {len(cases)} cases x {config.cost_rounds} rounds in one FATE launch of {len(everyone)} "
        f"party processes (log: {launch_dir / 'launch.log'})")
    seen = [0]

    def poll() -> None:
        done = sum(1 for c in plan_cases if _case_done(out_dir, c))
        if done != seen[0]:
            seen[0] = done
            say(f"cost: case {done}/{len(cases)} done")

    try:
        wall = run_launch(command, log_path=launch_dir / "launch.log", timeout=LAUNCH_TIMEOUT, on_poll=poll)
    finally:
        # FATE's LMDB state and the parties' arrays (20 MB at 1,000 features): nothing reads them afterwards.
        shutil.rmtree(fate_dir, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    say(f"cost: launch done in {wall:.0f} s")
    return [summarize(c, read_case(out_dir, c)) for c in plan_cases]


def _launch_order(party: tuple[str, str]) -> tuple[int, int]:
    return ({"guest": 0, "host": 1, "arbiter": 2}[party[0]], int(party[1]))


def _case_done(out_dir: Path, case: Mapping[str, Any]) -> bool:
    return all((out_dir / f"case{case['index']}" / f"{r}_{p}.json").exists() for r, p in case["parties"])


def read_case(out_dir: Path, case: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{r}:{p}": json.loads((out_dir / f"case{case['index']}" / f"{r}_{p}.json").read_text())
        for r, p in case["parties"]
    }


def values_per_round(features: int) -> int:
    """What one data party protects per round: weights, bias, and the loss (as HomoLR aggregates both)."""
    return features + 2


def minimum_bytes(protection: str, key_bits: int | None, features: int) -> int:
    if protection == "paillier":
        assert key_bits is not None
        return values_per_round(features) * 2 * key_bits // 8
    return values_per_round(features) * FLOAT64_BYTES


def round_bytes(summary: Mapping[str, Any]) -> list[int]:
    """A party's bytes per aggregation round (its setup traffic apart)."""
    return [v["bytes"] for k, v in summary["by_round"].items() if k != "setup"]


def summarize(case: Mapping[str, Any], parties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    arbiter = parties[f"arbiter:{ARBITER}"]
    clients = [s for name, s in parties.items() if not name.startswith("arbiter:")]
    per_party = mean(mean(round_bytes(s)) for s in clients)
    # Seconds: each party's median round (the first round of a launch also pays lazy start-up, and the
    # machine is shared), then the mean over parties.
    round_s = mean(median(s["round_s"]) for s in clients)
    encrypt_s = mean(median(s.get("encrypt_s", [0.0])) for s in clients)
    if case["protection"] == "paillier":
        aggregate_s, decrypt_s = median(arbiter["aggregate_s"]), median(arbiter["decrypt_s"])
    else:
        # FATE's aggregator unmasks and averages inside one call: that call's time less its waiting.
        busy = [s - w for s, w in zip(arbiter["server_s"], arbiter.get("wait_s", [0.0] * case["rounds"]), strict=True)]
        aggregate_s, decrypt_s = max(0.0, median(busy)), 0.0
    minimum = minimum_bytes(case["protection"], case["key_bits"], case["features"])
    return {
        "protection": case["protection"],
        "key_bits": case["key_bits"],
        "features": case["features"],
        "parties": len(clients),
        "rounds": case["rounds"],
        "seconds_per_round": round(round_s + mean(median(s["local_s"]) for s in clients), 4),
        "encrypt_s": round(encrypt_s, 4),
        "aggregate_s": round(aggregate_s, 4),
        "decrypt_s": round(decrypt_s, 4),
        "transfer_s": round(max(0.0, round_s - encrypt_s - aggregate_s - decrypt_s), 4),
        "bytes_per_party_per_round": round(per_party, 1),
        "values_per_party_per_round": values_per_round(case["features"]),
        "min_bytes_per_party_per_round": minimum,
        "ratio_to_min": round(per_party / minimum, 3),
        "arbiter_bytes_per_round": round(mean(round_bytes(arbiter)), 1),
        "setup_bytes_per_party": round(mean(s["by_round"].get("setup", {}).get("bytes", 0) for s in clients), 1),
    }


def ciphertext_bytes(key_bits: int, values: int = 64) -> dict[str, Any]:
    """Why a pickled ciphertext is ~4x its minimum: what FATE's CiphertextVector pickles to, measured."""
    import pickle

    import torch
    from fate.arch.protocol.phe import paillier

    sk, pk, coder = paillier.keygen(key_bits)
    enc = pk.encrypt_encoded(coder.encode_f64_vec(torch.zeros(values, dtype=torch.float64)), obfuscate=True)
    state = enc.__reduce_ex__(4)[2]  # the state pickle stores: a list of small ints, one per serialized byte
    serialized = bytes(state) if isinstance(state, list) else b""
    pickled = len(pickle.dumps(enc))
    return {
        "key_bits": key_bits,
        "values": values,
        "minimum_bytes_per_value": 2 * key_bits // 8,
        "serialized_bytes_per_value": round(len(serialized) / values, 1),
        "pickled_bytes_per_value": round(pickled / values, 1),
        "serialized_is_hex_text": bool(serialized) and _mostly_hex(serialized),
    }


def _mostly_hex(raw: bytes) -> bool:
    hexdigits = set(b"0123456789abcdef")
    return sum(b in hexdigits for b in raw) > 0.9 * len(raw)
