"""The cost study: its grid and minimum, FATE's ciphertext size, and (marker ``fate``) one real launch.

The real launch runs the CI grid (plaintext, secure aggregation, Paillier-1024 at 37 features, 3 parties,
2 rounds) in FATE's launcher, then FATE's own HomoLR for 2 epochs on the same seed data through the launcher
engine: the secure-aggregation case must send exactly what FATE's HomoLR sends per round.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.security import cost
from harness.security.config import security_config
from harness.security.data import load_seeds

ROOT = Path(__file__).resolve().parents[1]


def test_grid_varies_one_factor_at_a_time() -> None:
    cases = cost.grid(security_config())
    assert cases[0] == {"protection": "plaintext", "key_bits": None, "features": 37, "parties": 3}
    assert len(cases) == 5 + 6 + 6
    assert {c["key_bits"] for c in cases if c["protection"] == "paillier"} == {1024, 2048, 3072}
    assert all(c["key_bits"] == 1024 for c in cases if c["protection"] == "paillier" and c["features"] != 37)
    assert cost.case_roles(10)[-1] == ["arbiter", "10000"] and len(cost.case_roles(10)) == 11


def test_minimum_is_two_key_lengths_per_value() -> None:
    assert cost.minimum_bytes("paillier", 1024, 37) == 39 * 256
    assert cost.minimum_bytes("secure_aggregation", None, 37) == 39 * 8


def test_fate_ciphertext_pickles_to_about_four_times_the_minimum() -> None:
    """FATE's CiphertextVector serializes each value as hex text, then pickle stores one small int per byte."""
    c = cost.ciphertext_bytes(1024, values=16)
    assert c["serialized_is_hex_text"]
    assert 2.0 <= c["serialized_bytes_per_value"] / c["minimum_bytes_per_value"] < 2.2
    assert 4.0 <= c["pickled_bytes_per_value"] / c["minimum_bytes_per_value"] < 4.3


@pytest.mark.fate
def test_one_launch_counts_every_protection_and_matches_fate_homolr(tmp_path: Path) -> None:
    from harness.security.homolr_check import run_homolr
    from harness.study.config import STUDY_MODEL, load_config

    config = security_config("ci")
    arrays = load_seeds(ROOT / "data" / "loan_2011q4_head5k.csv", tmp_path / "work", (42,))[0]
    rows = {r["protection"]: r for r in cost.run_cost(config, arrays, tmp_path / "cost")}
    plain, masked, paillier = rows["plaintext"], rows["secure_aggregation"], rows["paillier"]
    for row in rows.values():  # the acceptance keys of security.json's ``cost``
        assert set(row) >= {"protection", "key_bits", "features", "parties", "seconds_per_round", "encrypt_s",
                            "aggregate_s", "decrypt_s", "bytes_per_party_per_round"}, row
    assert paillier["bytes_per_party_per_round"] >= paillier["min_bytes_per_party_per_round"]
    assert 3.5 < paillier["ratio_to_min"] < 4.5
    sent = [r["bytes_per_party_per_round"] for r in (plain, masked, paillier)]
    assert sent == sorted(sent) and len(set(sent)) == 3
    assert paillier["encrypt_s"] > 0 and paillier["decrypt_s"] > 0
    fate = run_homolr(arrays, STUDY_MODEL, load_config().roles, config.cost_rounds, tmp_path / "homolr")
    assert fate["bytes_per_party_per_round"] == masked["bytes_per_party_per_round"], fate["traffic"]
    # Not 1e-6: on SMOTE-balanced labels the first bias gradient is rounding noise (harness/security/homolr_check.py).
    assert fate["replay_max_abs_coef_diff"] < 1e-2
    assert abs(fate["auc_fate"] - fate["auc_replay"]) < 2e-3
