"""Arm lists built from tables: the vertical families (study/vertical_arms.py) and the NN union rows."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.study.nn_arms import NNSeedData
from harness.study.vertical import VerticalConfig
from harness.study.vertical_arms import GAPS, FederatedVerticalArm, GapsArm, InProcessVerticalArm, vertical_arms


def _names(arms: list) -> list[tuple[str, str | None]]:
    return [(type(a).__name__, getattr(a, "arm", None)) for a in arms]


@pytest.mark.parametrize(
    ("families", "expected"),
    [
        (("heterolr", "secureboost"), ["federated_secureboost", "centralized_gbdt", "guest_only_gbdt",
                                       "federated_heterolr", "centralized_lr", "guest_only_lr"]),
        (("heterolr",), ["federated_heterolr", "centralized_lr", "guest_only_lr"]),
        (("secureboost",), ["federated_secureboost", "centralized_gbdt", "guest_only_gbdt"]),
    ],
)
def test_each_enabled_family_gives_its_three_arms_secureboost_first_then_the_gaps(
    families: tuple[str, ...], expected: list[str]
) -> None:
    arms = vertical_arms(VerticalConfig(federated=families))
    assert [name for _, name in _names(arms)[:-1]] == expected
    assert isinstance(arms[-1], GapsArm)
    kinds = [type(a) for a in arms[:-1]]
    assert kinds == [FederatedVerticalArm, InProcessVerticalArm, InProcessVerticalArm] * (len(expected) // 3)


def test_gaps_compare_each_federated_arm_with_its_centralised_and_guest_only_arm() -> None:
    assert GAPS == (
        ("federated_secureboost", "centralized_gbdt"),
        ("federated_secureboost", "guest_only_gbdt"),
        ("federated_heterolr", "centralized_lr"),
        ("federated_heterolr", "guest_only_lr"),
    )


def test_nn_union_is_every_partition_party_after_party() -> None:
    parts = {"b": pd.DataFrame({"x": [3, 4]}, index=[7, 8]), "a": pd.DataFrame({"x": [1]}, index=[2])}
    data = NNSeedData(pd.DataFrame(), pd.DataFrame(), parts, ("x",), "y", "id", ("a", "b"))
    assert data.union["x"].tolist() == [1, 3, 4]
    assert data.union.index.tolist() == [2, 7, 8]
