"""The vertical split: owners of columns, holdings of customers, and every bad input refused before a job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.data.vertical_split import (
    FeatureSplit,
    check_party_tables,
    draw_holdings,
    party_tables,
    split_features,
)
from harness.errors import ConfigError, DataError
from harness.study.config import load_config
from harness.study.vertical import GUEST_FEATURES, HOST_FEATURES, seed_data, vertical_config

ID, LABEL = "sample_id", "loan_status"


def frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            ID: np.arange(1000, 1000 + rows),
            "int_rate": rng.normal(12, 3, rows),
            "dti": rng.normal(15, 5, rows),
            "annual_inc": rng.lognormal(11, 0.5, rows),
            "purpose_car": rng.integers(0, 2, rows),
            LABEL: rng.integers(0, 2, rows),
        }
    )


def test_features_go_to_the_side_whose_patterns_match_in_table_order() -> None:
    features = ["int_rate", "annual_inc", "dti", "purpose_car"]
    split = split_features(features, ["int_rate", "dti"], ["annual_inc", "purpose_*"])
    assert split == FeatureSplit(guest=("int_rate", "dti"), host=("annual_inc", "purpose_car"))


@pytest.mark.parametrize(
    ("guest", "host", "message"),
    [
        (["int_rate", "purpose_*"], ["purpose_car", "annual_inc", "dti"], "on both sides.*purpose_car"),
        (["int_rate"], ["annual_inc", "purpose_*"], "owned by neither party: dti"),
        (["int_rate", "dti", "emp_lenght"], ["annual_inc", "purpose_*"], "'emp_lenght' matches no feature"),
    ],
)
def test_a_bad_feature_split_is_one_config_error(guest: list[str], host: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        split_features(["int_rate", "annual_inc", "dti", "purpose_car"], guest, host)


def test_holdings_are_the_configured_shares_drawn_by_seed_and_overlap_partly() -> None:
    ids = np.arange(10_000)
    a, b = draw_holdings(ids, 0.9, 0.8, seed=1), draw_holdings(ids, 0.9, 0.8, seed=1)
    assert (len(a.guest), len(a.host)) == (9000, 8000)
    assert np.array_equal(a.guest, b.guest) and np.array_equal(a.host, b.host)
    assert not np.array_equal(a.guest, draw_holdings(ids, 0.9, 0.8, seed=2).guest)
    # Independent draws: the overlap is about 0.9 * 0.8 of the customers.
    assert 7000 < len(a.overlap()) < 7400


@pytest.mark.parametrize("share", [0.0, 1.5, -0.1])
def test_a_share_outside_0_1_is_refused(share: float) -> None:
    with pytest.raises(ConfigError, match="guest_share"):
        draw_holdings(np.arange(10), share, 0.8, seed=0)


def test_party_tables_hold_own_columns_and_only_the_guest_has_the_label() -> None:
    f = frame()
    holdings = draw_holdings(f[ID].to_numpy(), 0.9, 0.8, seed=3)
    split = FeatureSplit(guest=("int_rate", "dti"), host=("annual_inc", "purpose_car"))
    guest, host = party_tables(f, holdings, split, id_column=ID, label=LABEL)
    assert list(guest.columns) == [ID, "int_rate", "dti", LABEL]
    assert list(host.columns) == [ID, "annual_inc", "purpose_car"]
    assert set(guest[ID]) == set(holdings.guest) and set(host[ID]) == set(holdings.host)
    assert check_party_tables(guest, host, id_column=ID, label=LABEL) == len(holdings.overlap())


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    guest = pd.DataFrame({ID: [1, 2, 3], "int_rate": [1.0, 2.0, 3.0], LABEL: [0, 1, 0]})
    host = pd.DataFrame({ID: [2, 3, 4], "annual_inc": [5.0, 6.0, 7.0]})
    return guest, host


def test_no_shared_id_is_refused() -> None:
    guest, host = tables()
    with pytest.raises(DataError, match="share no id"):
        check_party_tables(guest, host.assign(**{ID: [7, 8, 9]}), id_column=ID, label=LABEL)


def test_a_duplicate_id_on_one_side_is_refused_naming_the_side_and_id() -> None:
    guest, host = tables()
    with pytest.raises(DataError, match=r"host's table repeats 1 id\(s\), e.g. 3"):
        check_party_tables(guest, host.assign(**{ID: [2, 3, 3]}), id_column=ID, label=LABEL)


def test_a_missing_id_column_is_refused() -> None:
    guest, host = tables()
    with pytest.raises(DataError, match="guest's table has no id column 'sample_id'"):
        check_party_tables(guest.drop(columns=[ID]), host, id_column=ID, label=LABEL)


def test_an_id_column_of_another_type_is_refused() -> None:
    guest, host = tables()
    with pytest.raises(DataError, match="integer on the guest but text on the host"):
        check_party_tables(guest, host.assign(**{ID: ["2", "3", "4"]}), id_column=ID, label=LABEL)


def test_a_feature_on_both_sides_or_the_label_on_the_host_is_refused() -> None:
    guest, host = tables()
    with pytest.raises(DataError, match="column\\(s\\) on both sides: int_rate"):
        check_party_tables(guest, host.assign(int_rate=1.0), id_column=ID, label=LABEL)
    with pytest.raises(DataError, match="host's table has the label"):
        check_party_tables(guest, host.assign(**{LABEL: 1}), id_column=ID, label=LABEL)


def test_the_vertical_config_is_validated_and_records_the_split() -> None:
    v = vertical_config({"secureboost": {"num_trees": 4}, "guest": 9999, "federated": ["secureboost"]})
    assert v.secureboost.num_trees == 4 and v.guest == "9999" and v.federated == ("secureboost",)
    assert v.as_dict()["guest_features"] == list(GUEST_FEATURES)
    assert v.as_dict()["host_features"] == list(HOST_FEATURES)
    with pytest.raises(ConfigError, match="unknown vertical setting"):
        vertical_config({"trees": 3})
    with pytest.raises(ConfigError, match="num_trees must be a positive integer"):
        vertical_config({"secureboost": {"num_trees": 0}})
    with pytest.raises(ConfigError, match="both 9999"):
        vertical_config({"host": "9999"})
    with pytest.raises(ConfigError, match="unknown nn"):
        vertical_config({"federated": ["nn"]})


def test_seed_data_scores_every_arm_on_held_out_customers_both_hold() -> None:
    f = frame(400)
    config = load_config(scenario="lending-club-vertical", seed=5)
    v = vertical_config({"guest_features": ["int_rate", "dti"], "host_features": ["annual_inc", "purpose_*"]})
    d = seed_data(f, ["int_rate", "dti", "annual_inc", "purpose_car"], config, v, label=LABEL, id_column=ID,
                  log_columns=["annual_inc"])
    both = set(d.holdings.overlap())
    assert set(d.test[ID]) <= both and set(d.joined_train[ID]) <= both
    assert not set(d.test[ID]) & set(d.joined_train[ID])
    assert d.true_overlap == {"train": len(d.joined_train), "test": len(d.test)}
    assert len(d.guest_train) + len(d.guest_test) == len(d.holdings.guest)
    # LR inputs: each party's columns standardised with its own training rows.
    scaled = d.scaled(d.guest_train)
    assert abs(scaled["int_rate"].mean()) < 1e-9 and abs(scaled["int_rate"].std(ddof=0) - 1) < 1e-9
    assert abs(d.scaled(d.host_train)["annual_inc"].mean()) < 1e-9
