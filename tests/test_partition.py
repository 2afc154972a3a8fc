from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.data.partition import (
    ColumnPartitioner,
    DirichletPartitioner,
    SizePartitioner,
    partitioner_from_config,
)
from harness.errors import ConfigError, DataError

RAW = "/work/shared/data/lending_club/loan_2011q4_head5k.csv"
STUDY_RATIOS = {"10000": 0.25, "9999": 0.25, "9998": 0.5}
PARTIES = ["10000", "9999", "9998"]


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    """Finished loans of the real Lending Club sample, labelled 1 = Fully Paid, 0 = Charged Off."""
    raw = pd.read_csv(RAW, usecols=["id", "loan_amnt", "annual_inc", "addr_state", "loan_status"])
    raw = raw[raw["loan_status"].isin(["Fully Paid", "Charged Off"])]
    frame = raw.rename(columns={"id": "sample_id"}).assign(
        loan_status=(raw["loan_status"] == "Fully Paid").astype(int)
    )
    # A non-default, non-monotonic index, so that "original index preserved" is actually tested.
    frame.index = np.random.default_rng(0).permutation(len(frame)) * 7 + 3
    return frame


def check_disjoint_complete(frame: pd.DataFrame, parts: dict[str, pd.DataFrame]) -> None:
    indexes = [p.index for p in parts.values()]
    assert sum(len(i) for i in indexes) == len(frame)
    union = indexes[0].append(indexes[1:])
    assert union.is_unique
    assert set(union) == set(frame.index)
    for part in parts.values():
        pd.testing.assert_frame_equal(part, frame.loc[part.index])


def same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> bool:
    return a.keys() == b.keys() and all(a[k].index.equals(b[k].index) for k in a)


def test_size_partitioner_study_split(loans):
    parts = SizePartitioner(STUDY_RATIOS).partition(loans, seed=7)
    assert list(parts) == PARTIES
    check_disjoint_complete(loans, parts)
    for pid, ratio in STUDY_RATIOS.items():
        assert abs(len(parts[pid]) - ratio * len(loans)) <= 1
    assert same(parts, SizePartitioner(STUDY_RATIOS).partition(loans, seed=7))
    assert not same(parts, SizePartitioner(STUDY_RATIOS).partition(loans, seed=8))


def test_size_partitioner_stratified_keeps_class_mix(loans):
    parts = SizePartitioner(STUDY_RATIOS, stratify="loan_status").partition(loans, seed=3)
    check_disjoint_complete(loans, parts)
    counts = loans["loan_status"].value_counts()
    for pid, ratio in STUDY_RATIOS.items():
        assert abs(len(parts[pid]) - ratio * len(loans)) <= 1
        party_counts = parts[pid]["loan_status"].value_counts()
        for cls, n_cls in counts.items():
            assert abs(party_counts.get(cls, 0) - ratio * n_cls) <= 2


def test_size_partitioner_randomised_invariants():
    rng = np.random.default_rng(12345)
    for trial in range(60):
        k = int(rng.integers(1, 7))
        n = int(rng.integers(k * 3, 400))
        raw = rng.random(k) + 0.05
        ratios = {f"p{i}": float(v) for i, v in enumerate(raw / raw.sum())}
        frame = pd.DataFrame(
            {"y": rng.integers(0, 2, n), "x": rng.normal(size=n)}, index=rng.permutation(n * 3)[:n]
        )
        stratify = "y" if trial % 2 else None
        part = SizePartitioner(ratios, stratify=stratify)
        try:
            parts = part.partition(frame, seed=trial)
        except DataError as exc:
            # Only legitimate when a tiny share rounds down to zero rows.
            assert "would get no rows" in str(exc)
            continue
        check_disjoint_complete(frame, parts)
        for pid, ratio in part.ratios.items():
            assert abs(len(parts[pid]) - ratio * n) <= 1
        assert same(parts, part.partition(frame, seed=trial))
        if k > 1:
            assert not same(parts, part.partition(frame, seed=trial + 1000))


@pytest.mark.parametrize(
    "ratios",
    [
        {"a": 0.5, "b": 0.4},
        {"a": 0.5, "b": 0.6},
        {"a": 1.5, "b": -0.5},
        {"a": 0.5, "": 0.5},
        {"9999": 0.5, 9999: 0.5},
        {"a": "half", "b": 0.5},
        {},
    ],
)
def test_size_partitioner_rejects_bad_ratios(ratios):
    with pytest.raises(ConfigError):
        SizePartitioner(ratios)


def test_ratio_tolerance():
    SizePartitioner({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3 + 5e-7})
    with pytest.raises(ConfigError, match="sum to"):
        SizePartitioner({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3 + 5e-6})


@pytest.mark.parametrize("cls", [DirichletPartitioner, ColumnPartitioner])
def test_duplicate_party_ids_rejected(cls):
    kwargs = {"alpha": 1.0} if cls is DirichletPartitioner else {}
    with pytest.raises(ConfigError, match="duplicate party IDs: 9999"):
        cls(["9999", "9998", "9999"], **kwargs)


def test_dirichlet_invariants(loans):
    part = DirichletPartitioner(PARTIES, alpha=0.5, min_rows=50)
    parts = part.partition(loans, seed=1)
    check_disjoint_complete(loans, parts)
    assert min(len(p) for p in parts.values()) >= 50
    assert same(parts, part.partition(loans, seed=1))
    assert not same(parts, part.partition(loans, seed=2))


def test_dirichlet_alpha_controls_label_skew(loans):
    def spread(alpha: float) -> float:
        rates = []
        for seed in range(8):
            parts = DirichletPartitioner(PARTIES, alpha=alpha, min_rows=20).partition(loans, seed=seed)
            shares = [p["loan_status"].mean() for p in parts.values()]
            rates.append(max(shares) - min(shares))
        return float(np.mean(rates))

    assert spread(0.1) > 0.2 > 0.05 > spread(1000.0)


def test_dirichlet_randomised_invariants():
    rng = np.random.default_rng(99)
    for trial in range(30):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(50, 300))
        frame = pd.DataFrame({"loan_status": rng.integers(0, 3, n)}, index=rng.permutation(n * 2)[:n])
        part = DirichletPartitioner([f"p{i}" for i in range(k)], alpha=float(rng.uniform(0.2, 5)))
        parts = part.partition(frame, seed=trial)
        check_disjoint_complete(frame, parts)
        assert all(len(p) >= 1 for p in parts.values())
        assert same(parts, part.partition(frame, seed=trial))


def test_dirichlet_impossible_min_rows():
    frame = pd.DataFrame({"loan_status": [0, 1] * 5})
    with pytest.raises(DataError, match="min_rows"):
        DirichletPartitioner(["a", "b"], alpha=1.0, min_rows=6).partition(frame, seed=0)
    with pytest.raises(ConfigError):
        DirichletPartitioner(["a", "b"], alpha=0.0)


def test_column_partitioner_keeps_states_whole(loans):
    parts = ColumnPartitioner(PARTIES, column="addr_state").partition(loans, seed=0)
    check_disjoint_complete(loans, parts)
    owners = {state: pid for pid, p in parts.items() for state in p["addr_state"].unique()}
    assert len(owners) == loans["addr_state"].nunique()  # no state appears at two parties
    sizes = [len(p) for p in parts.values()]
    largest_state = loans["addr_state"].value_counts().max()
    assert all(s > 0 for s in sizes)
    assert max(sizes) - min(sizes) <= largest_state
    assert same(parts, ColumnPartitioner(PARTIES).partition(loans, seed=0))


def test_column_partitioner_follows_ratios(loans):
    parts = ColumnPartitioner(PARTIES, ratios=STUDY_RATIOS).partition(loans, seed=0)
    largest_state = loans["addr_state"].value_counts().max()
    for pid, ratio in STUDY_RATIOS.items():
        assert abs(len(parts[pid]) - ratio * len(loans)) <= largest_state


def test_column_partitioner_randomised_invariants():
    rng = np.random.default_rng(7)
    for trial in range(30):
        n_groups = int(rng.integers(3, 30))
        k = int(rng.integers(2, min(n_groups, 6) + 1))
        n = int(rng.integers(n_groups, 500))
        groups = rng.choice([f"g{i}" for i in range(n_groups)], size=n)
        frame = pd.DataFrame({"addr_state": groups, "v": rng.normal(size=n)})
        if frame["addr_state"].nunique() < k:
            continue
        parts = ColumnPartitioner([f"p{i}" for i in range(k)]).partition(frame, seed=trial)
        check_disjoint_complete(frame, parts)
        seen = [set(p["addr_state"]) for p in parts.values()]
        assert sum(len(s) for s in seen) == len(set().union(*seen))
        assert all(len(p) > 0 for p in parts.values())


def test_column_partitioner_errors():
    frame = pd.DataFrame({"addr_state": ["CA", "CA", "NY"], "loan_status": [1, 0, 1]})
    with pytest.raises(DataError, match="2 distinct values"):
        ColumnPartitioner(["a", "b", "c"]).partition(frame, seed=0)
    with pytest.raises(DataError, match="no value"):
        ColumnPartitioner(["a", "b"]).partition(frame.assign(addr_state=["CA", None, "NY"]), seed=0)
    with pytest.raises(DataError, match="not in the data"):
        ColumnPartitioner(["a", "b"], column="zip_code").partition(frame, seed=0)


def test_duplicate_index_rejected():
    frame = pd.DataFrame({"loan_status": [0, 1, 0, 1]}, index=[0, 0, 1, 2])
    with pytest.raises(DataError, match="duplicate"):
        SizePartitioner({"a": 0.5, "b": 0.5}).partition(frame, seed=0)


def test_from_config(loans):
    size = partitioner_from_config({"kind": "size", "ratios": STUDY_RATIOS, "stratify": "loan_status"})
    assert isinstance(size, SizePartitioner) and size.party_ids == tuple(PARTIES)
    diri = partitioner_from_config({"kind": "dirichlet", "alpha": 0.5}, party_ids=[10000, 9999, 9998])
    assert isinstance(diri, DirichletPartitioner) and diri.party_ids == tuple(PARTIES)
    col = partitioner_from_config({"kind": "column", "column": "addr_state", "party_ids": PARTIES})
    assert isinstance(col, ColumnPartitioner)
    col_ratio = partitioner_from_config({"kind": "column", "ratios": STUDY_RATIOS})
    assert col_ratio.party_ids == tuple(PARTIES)
    for p in (size, diri, col):
        check_disjoint_complete(loans, p.partition(loans, seed=0))


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"kind": "random"}, "unknown partition kind"),
        ({"kind": "size"}, "needs ratios"),
        ({"kind": "size", "ratios": STUDY_RATIOS, "alpha": 1}, "does not take alpha"),
        ({"kind": "dirichlet", "alpha": 0.5}, "needs party IDs"),
        ({"kind": "dirichlet", "party_ids": PARTIES}, "needs alpha"),
        ({"kind": "column", "party_ids": ["a", "a"]}, "duplicate"),
    ],
)
def test_from_config_errors(spec, needle):
    with pytest.raises(ConfigError, match=needle):
        partitioner_from_config(spec)
