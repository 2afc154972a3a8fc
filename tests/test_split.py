from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from harness.data.balance import smote_balance
from harness.data.scaling import Scaler, fit_scaler
from harness.data.split import stratified_split, synthetic_id_offsets
from harness.errors import ConfigError, DataError

RAW = "/work/shared/data/lending_club/loan_2011q4_head5k.csv"
NUMERIC = ["loan_amnt", "int_rate", "annual_inc", "dti", "revol_bal", "delinq_2yrs", "open_acc"]
CATEGORICAL = ["home_ownership", "verification_status"]
MONEY = ["loan_amnt", "annual_inc", "revol_bal"]


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    """A small prepared-like frame from the real Lending Club sample: numeric + one-hot features."""
    raw = pd.read_csv(RAW, usecols=["id", *NUMERIC, *CATEGORICAL, "addr_state", "loan_status"])
    raw = raw[raw["loan_status"].isin(["Fully Paid", "Charged Off"])].dropna()
    onehot = pd.get_dummies(raw[CATEGORICAL], dtype="int8")
    frame = pd.concat(
        [raw[["id", *NUMERIC]].rename(columns={"id": "sample_id"}), onehot, raw[["addr_state"]]], axis=1
    )
    frame["loan_status"] = (raw["loan_status"] == "Fully Paid").astype(int)
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def features(loans) -> list[str]:
    return [c for c in loans.columns if c not in ("sample_id", "addr_state", "loan_status")]


@pytest.fixture(scope="module")
def onehot_groups(features) -> list[list[str]]:
    return [[f for f in features if f.startswith(c + "_")] for c in CATEGORICAL]


def test_stratified_split(loans):
    train, test = stratified_split(loans, test_size=0.3, seed=5)
    assert len(test) == pytest.approx(0.3 * len(loans), abs=1)
    assert set(train.index).isdisjoint(test.index) and len(train) + len(test) == len(loans)
    assert test["loan_status"].mean() == pytest.approx(loans["loan_status"].mean(), abs=0.005)
    again_train, _ = stratified_split(loans, test_size=0.3, seed=5)
    assert train.index.equals(again_train.index)
    other_train, _ = stratified_split(loans, test_size=0.3, seed=6)
    assert not train.index.equals(other_train.index)


def test_stratified_split_errors(loans):
    with pytest.raises(DataError, match="single class"):
        stratified_split(loans[loans["loan_status"] == 1], seed=0)
    with pytest.raises(ConfigError, match="test_size"):
        stratified_split(loans, test_size=1.2, seed=0)
    with pytest.raises(DataError, match="not in the data"):
        stratified_split(loans, label="y", seed=0)


def test_smote_balances_one_party(loans, features, onehot_groups):
    party = loans.sample(900, random_state=1)
    offset = synthetic_id_offsets(loans["sample_id"], ["9999"])["9999"]
    out, info = smote_balance(party, features=features, seed=3, id_offset=offset)
    counts = party["loan_status"].value_counts()
    assert list(out.columns) == list(party.columns)
    assert info["rows_before"] == len(party) and info["rows_after"] == len(out) == 2 * counts.max()
    assert info["class_counts_after"] == {"0": int(counts.max()), "1": int(counts.max())}
    assert info["class_counts_before"] == {str(k): int(v) for k, v in counts.sort_index().items()}
    assert info["k_neighbors"] == 5 and info["skipped"] is None
    assert info["n_synthetic"] == counts.max() - counts.min()
    # Real rows come first, untouched, with their index.
    pd.testing.assert_frame_equal(out.iloc[: len(party)], party)
    synth = out.iloc[len(party) :]
    assert out.index.is_unique
    assert (synth["loan_status"] == counts.idxmin()).all()
    assert (synth["addr_state"] == "SYNTH").all()
    assert synth["sample_id"].is_unique and synth["sample_id"].min() >= offset
    assert not set(synth["sample_id"]) & set(loans["sample_id"])
    for group in onehot_groups:
        values = synth[group].to_numpy()
        assert np.isin(values, (0, 1)).all()
        assert set(values.sum(axis=1)) <= {0, 1}
        assert all(out[c].dtype == party[c].dtype for c in group)
    # Synthetic numeric rows lie inside the minority class's range (interpolation, not noise).
    minority = party[party["loan_status"] == counts.idxmin()]
    for col in ["annual_inc", "int_rate"]:
        assert synth[col].between(minority[col].min(), minority[col].max()).all()


def test_smote_deterministic(loans, features):
    party = loans.sample(400, random_state=2)
    a, _ = smote_balance(party, features=features, seed=1)
    b, _ = smote_balance(party, features=features, seed=1)
    c, _ = smote_balance(party, features=features, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_smote_reduces_k_for_tiny_minority(loans, features):
    party = pd.concat([loans[loans["loan_status"] == 1].head(40), loans[loans["loan_status"] == 0].head(3)])
    out, info = smote_balance(party, features=features, seed=0)
    assert info["k_neighbors"] == 2 and info["skipped"] is None
    assert info["class_counts_after"] == {"0": 40, "1": 40}


def test_smote_skips_single_minority_row_and_single_class(loans, features):
    one = pd.concat([loans[loans["loan_status"] == 1].head(20), loans[loans["loan_status"] == 0].head(1)])
    out, info = smote_balance(one, features=features, seed=0)
    assert "at least 2" in info["skipped"] and info["k_neighbors"] is None
    pd.testing.assert_frame_equal(out, one)
    only = loans[loans["loan_status"] == 1].head(20)
    out, info = smote_balance(only, features=features, seed=0)
    assert "only one class" in info["skipped"] and info["rows_after"] == 20
    pd.testing.assert_frame_equal(out, only)


def test_smote_id_collisions_and_string_ids(loans, features):
    party = loans.sample(300, random_state=4)
    with pytest.raises(DataError, match="collide"):
        smote_balance(party, features=features, seed=0, id_offset=int(party["sample_id"].max()))
    named = party.assign(sample_id="loan-" + party["sample_id"].astype(str))
    out, info = smote_balance(named, features=features, seed=0, id_prefix="synth-9999-")
    synth_ids = out["sample_id"].iloc[len(named) :]
    assert synth_ids.str.startswith("synth-9999-").all() and out["sample_id"].is_unique


def test_smote_rejects_nan(loans, features):
    party = loans.head(100).copy()
    party.loc[party.index[0], "dti"] = np.nan
    with pytest.raises(DataError, match="NaN"):
        smote_balance(party, features=features, seed=0)


def test_synthetic_id_offsets_blocks_are_disjoint(loans):
    offsets = synthetic_id_offsets(loans["sample_id"], ["10000", "9999", "9998"])
    width = offsets["10000"]
    assert width > loans["sample_id"].max() and width > len(loans)
    assert sorted(offsets.values()) == [width, 2 * width, 3 * width]


def test_scaler_standardises_and_passes_binary_through(loans, features):
    scaler = fit_scaler(loans, features, log_columns=MONEY)
    binary = {f for f in features if f.startswith(tuple(CATEGORICAL))}
    assert scaler.passthrough == binary
    out = scaler.transform(loans)
    for col in features:
        if col in binary:
            pd.testing.assert_series_equal(out[col], loans[col])
        else:
            assert out[col].mean() == pytest.approx(0, abs=1e-9)
            assert out[col].std(ddof=0) == pytest.approx(1, abs=1e-9)
    expected = np.log1p(loans["annual_inc"])
    assert out["annual_inc"].corr(expected) == pytest.approx(1.0)
    pd.testing.assert_frame_equal(out.drop(columns=features), loans.drop(columns=features))


def test_merged_party_scalers_equal_pooled_fit(loans, features):
    parts = np.array_split(loans.sample(frac=1, random_state=0), [700, 1500])
    merged = Scaler.merge([fit_scaler(p, features, log_columns=MONEY) for p in parts])
    pooled = fit_scaler(loans, features, log_columns=MONEY)
    assert merged.n == pooled.n and merged.passthrough == pooled.passthrough
    assert merged.mean == pytest.approx(pooled.mean) and merged.std == pytest.approx(pooled.std)
    pd.testing.assert_frame_equal(merged.transform(loans), pooled.transform(loans), atol=1e-9)


def test_scaler_passthrough_only_if_binary_everywhere():
    a = pd.DataFrame({"x": [0.0, 1.0, 1.0], "z": [2.0, 3.0, 4.0]})
    b = pd.DataFrame({"x": [0.0, 2.0, 5.0], "z": [1.0, 1.0, 1.0]})
    merged = Scaler.merge([fit_scaler(a, ["x", "z"]), fit_scaler(b, ["x", "z"])])
    assert "x" not in merged.passthrough
    assert fit_scaler(b, ["z"]).std == (1.0,)  # constant column: no division by zero
    assert np.isfinite(fit_scaler(b, ["z"]).transform(b)["z"]).all()


def test_scaler_round_trips_through_json(loans, features):
    scaler = fit_scaler(loans, features, log_columns=MONEY)
    again = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert again == scaler


def test_scaler_errors(loans, features):
    with pytest.raises(DataError, match="NaN"):
        fit_scaler(loans.assign(dti=np.nan), features)
    with pytest.raises(ConfigError, match="not features"):
        fit_scaler(loans, ["dti"], log_columns=["annual_inc"])
    with pytest.raises(ConfigError, match="different"):
        Scaler.merge(
            [
                fit_scaler(loans, ["dti", "int_rate"]),
                fit_scaler(loans, ["dti", "int_rate"], log_columns=["dti"]),
            ]
        )
    with pytest.raises(DataError, match="not in the data"):
        fit_scaler(loans, features).transform(loans.drop(columns=["dti"]))


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 over the index, column names, dtypes and the exact bytes of every value."""
    digest = hashlib.sha256(repr(frame.index.tolist()).encode())
    for col in frame.columns:
        values = frame[col].to_numpy()
        digest.update(f"{col}:{values.dtype}".encode())
        digest.update(repr(values.tolist()).encode() if values.dtype == object else values.tobytes())
    return digest.hexdigest()


# Computed with smote_balance as it was before it moved to harness/data/balance.py (commit 087ea9b):
# the same seed must keep giving the same synthetic rows, bit for bit.
SMOTE_DIGEST = "18efc8f895c096cf818b07d0a48b592c376d05519f5b67bf1de061d2c31347c9"


def test_smote_output_is_pinned(loans, features):
    party = loans.sample(900, random_state=1)
    offset = synthetic_id_offsets(loans["sample_id"], ["9999"])["9999"]
    out, info = smote_balance(party, features=features, seed=3, id_offset=offset)
    digest = hashlib.sha256(frame_digest(out).encode() + json.dumps(info, sort_keys=True).encode())
    assert digest.hexdigest() == SMOTE_DIGEST
