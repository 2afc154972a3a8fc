"""Each attack and defence of the security study on the bundled Lending Club sample (CI-sized, no FATE).

The data is the study's own seed data (prepare, split, partition, pooled scaling, SMOTE per party).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from harness.model.logreg import LocalLogisticRegression
from harness.security import adversarial, leakage, poisoning
from harness.security.data import PartyArrays, load_seeds, split_parties, widen
from harness.security.replay import Model, federated_fit
from harness.study.config import STUDY_MODEL

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dataclasses.replace(STUDY_MODEL, epochs=10)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[PartyArrays]:
    return load_seeds(ROOT / "data" / "loan_2011q4_head5k.csv", tmp_path_factory.mktemp("work"), (42, 43, 44))


@pytest.fixture(scope="module")
def trained(seeds: list[PartyArrays]) -> Model:
    return federated_fit(seeds[0].x, seeds[0].y, SETTINGS)


def test_one_party_replay_is_the_local_trainer(seeds: list[PartyArrays]) -> None:
    """The replay's party step is LocalLogisticRegression's (itself checked against FATE's HomoLRClient)."""
    a, p = seeds[0], seeds[0].parties[0]
    replay = federated_fit({p: a.x[p]}, {p: a.y[p]}, SETTINGS)
    local = LocalLogisticRegression(SETTINGS).fit(a.x[p], a.y[p])
    np.testing.assert_allclose(replay.weight, local.coef_, atol=1e-6)
    assert abs(replay.bias - local.intercept_) < 1e-6 and np.abs(local.coef_).max() > 1e-2


def test_single_record_recovered_exactly_and_not_from_the_aggregate(seeds: list[PartyArrays], trained: Model) -> None:
    a = seeds[0]
    p = a.parties[0]
    single = leakage.single_record(trained, a.x[p].astype(float), a.y[p].astype(float), SETTINGS.alpha, 100,
                                   a.features)
    assert single["exact"] / single["records"] >= 0.99 and single["max_rel_error"] < 1e-4
    together = leakage.aggregated(trained, a, SETTINGS.alpha, 100)
    assert together["parties"] == 3 and together["exact"] == 0 and together["min_rel_error"] > 1e-2


def test_batches_blur_the_records_but_give_the_label_share(seeds: list[PartyArrays], trained: Model) -> None:
    a = seeds[0]
    p = a.parties[0]
    rows = leakage.batches(trained, a.x[p].astype(float), a.y[p].astype(float), SETTINGS.alpha, (1, 8, 0), 42)
    by_size = {r["batch_size"]: r for r in rows}
    assert by_size[1]["records_recovered_share"] == 1.0
    assert by_size[8]["rel_error_to_nearest_record"] > 1e-2
    assert all(r["label_share_abs_error"] < 1e-9 for r in rows)


def test_fate22_rmsprop_update_leaks_signs_not_values(seeds: list[PartyArrays]) -> None:
    a = seeds[0]
    p = a.parties[0]
    out = leakage.fate22_rmsprop(a.x[p], a.y[p], SETTINGS, 10)
    assert out["exact"] == 0 and out["sign_agreement"] > 0.95


def test_robust_aggregator_reduces_the_scaling_attack(seeds: list[PartyArrays]) -> None:
    damage = {}
    for aggregator in ("fedavg", "median"):
        honest = [poisoning.one_cell(a, SETTINGS, "scaling", 1.0, aggregator)["auc"] for a in seeds]
        attacked = [poisoning.one_cell(a, SETTINGS, "scaling", 100.0, aggregator)["auc"] for a in seeds]
        damage[aggregator] = float(np.mean(np.array(honest) - np.array(attacked)))
    assert damage["fedavg"] > 0.02, damage
    assert damage["median"] < damage["fedavg"] / 2, damage


def test_label_flip_and_backdoor_are_what_they_say() -> None:
    y = np.array([0.0, 1.0] * 50)
    assert (poisoning.flip_labels(y, 100, 0) == 1 - y).all()
    assert (poisoning.flip_labels(y, 25, 0) != y).sum() == 25
    x = np.zeros((100, 5))
    xs, ys = poisoning.plant_backdoor(x, y, 20, 0)
    stamped = (xs[:, -poisoning.TRIGGER_FEATURES:] == poisoning.TRIGGER_VALUE).all(axis=1)
    assert stamped.sum() == 20 and (ys[stamped] == 1).all()


def test_backdoor_raises_success_under_fedavg(seeds: list[PartyArrays]) -> None:
    clean = [poisoning.one_cell(a, SETTINGS, "backdoor", 0.0, "fedavg")["backdoor_success"] for a in seeds]
    planted = [poisoning.one_cell(a, SETTINGS, "backdoor", 20.0, "fedavg")["backdoor_success"] for a in seeds]
    assert np.mean(planted) > np.mean(clean) + 0.1


def test_adversarial_success_grows_with_epsilon(seeds: list[PartyArrays], trained: Model) -> None:
    a = seeds[0]
    p = a.parties[0]
    own = LocalLogisticRegression(SETTINGS).fit(a.x[p], a.y[p])
    out = adversarial.one_seed({"federated": trained}, Model(own.coef_, own.intercept_), a.x_test, a.y_test,
                               (0.0, 0.1, 0.5), 10, 0.5)
    for attack in ("fgsm", "pgd", "transfer"):
        rates = [out[("federated", attack, eps)] for eps in (0.0, 0.1, 0.5)]
        assert rates[0] == 0.0 and rates[0] < rates[1] < rates[2], (attack, rates)
    # For a linear model FGSM is already the L-infinity worst case: PGD finds the same.
    assert out[("federated", "pgd", 0.5)] == pytest.approx(out[("federated", "fgsm", 0.5)], abs=0.02)
    assert out[("federated", "transfer", 0.5)] > 0.5


def test_cost_grid_data_shapes(seeds: list[PartyArrays]) -> None:
    x, y = seeds[0].pooled()
    wide = widen(x, 200, 42)
    assert wide.shape == (len(x), 200) and np.array_equal(wide[:, :37], x)
    shares = split_parties(wide, y, 10, 42)
    assert len(shares) == 10 and sum(len(s[0]) for s in shares) == len(x)


def test_inverting_gradients_rebuilds_one_mnist_digit(tmp_path: Path) -> None:
    from harness.security.images import run_images

    mnist = ROOT.parent / "shared" / "data" / "mnist" / "mnist_5k.csv.gz"
    if not mnist.exists():
        pytest.skip("no shared/data/mnist beside the checkout")
    [row] = run_images(mnist, (1,), 300, 42, tmp_path)
    # A random image scores about 8-10 dB against a digit; the attack gets well past that.
    assert row["mean_psnr"] > 15, row
    assert (tmp_path / row["grid"]).exists()


def test_cnn_fgsm_and_pgd_stay_in_the_ball_and_raise_the_loss() -> None:
    import torch

    from harness.security.cnn_adversarial import fgsm, pgd
    from harness.security.images import SmallCNN, load_mnist

    mnist = ROOT.parent / "shared" / "data" / "mnist" / "mnist_5k.csv.gz"
    if not mnist.exists():
        pytest.skip("no shared/data/mnist beside the checkout")
    torch.manual_seed(0)
    model = SmallCNN(torch.nn.ReLU).eval()
    x, y = load_mnist(mnist, 16, 0)
    loss = lambda images: float(torch.nn.functional.cross_entropy(model(images), y))  # noqa: E731
    for adv in (fgsm(model, x, y, 0.1), pgd(model, x, y, 0.1, 5)):
        assert float((adv - x).abs().max()) <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        assert loss(adv) > loss(x)
