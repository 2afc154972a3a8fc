"""The aggregation rules as pure functions, on hand-made updates."""

from __future__ import annotations

import numpy as np
import pytest

from harness.security import aggregators as agg

HONEST = np.array([[1.0, 2.0], [1.2, 1.8], [0.8, 2.2]])


def test_fedavg_is_the_row_weighted_mean() -> None:
    np.testing.assert_allclose(agg.fedavg(HONEST, np.array([1, 1, 2])), [0.95, 2.05])


def test_robust_rules_ignore_one_scaled_party_fedavg_does_not() -> None:
    attacked = np.vstack([HONEST[:2], [100.0, -100.0]])
    weights = np.ones(3)
    assert np.abs(agg.fedavg(attacked, weights)).max() > 30
    for rule in (agg.median, agg.trimmed_mean, agg.krum):
        out = rule(attacked, weights)
        assert np.abs(out - HONEST[:2].mean(axis=0)).max() < 0.5, rule.__name__


def test_trimmed_mean_and_krum_on_five_parties() -> None:
    updates = np.array([[0.0], [1.0], [2.0], [3.0], [50.0]])
    assert agg.trimmed_mean(updates, np.ones(5)) == pytest.approx([2.0])
    assert agg.krum(updates, np.ones(5))[0] in (1.0, 2.0)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        agg.fedavg(HONEST, np.ones(2))
    with pytest.raises(ValueError):
        agg.trimmed_mean(HONEST[:2], np.ones(2))
