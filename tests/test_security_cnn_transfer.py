"""Transfer attacks on the MNIST CNN: the attack step on small in-process models, and (marker ``fate``) the
whole study with the federated CNN trained by FATE HomoNN through the launcher, CI-sized (100 digits per class,
three rounds of 9 batches per party, two seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness.security import cnn_transfer

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / "data" / "mnist" / "mnist_5k.csv.gz"


@pytest.fixture(scope="module")
def small() -> dict:
    [data] = cnn_transfer.seed_data(MNIST, (42,), per_class=30)
    settings = cnn_transfer.settings_for(42, epochs=3)
    central, central_acc = cnn_transfer.trained(settings, pd.concat(list(data.parts.values())), data)
    surrogate, surrogate_acc = cnn_transfer.trained(settings, data.parts[data.parties[0]], data)
    x, y = (torch.from_numpy(a) for a in data.arrays(data.test))
    return {"central": central, "surrogate": surrogate, "x": x, "y": y, "acc": (central_acc, surrogate_acc)}


def test_white_box_and_transfer_rows_for_every_target_and_epsilon(small: dict) -> None:
    out = cnn_transfer.one_seed({"mnist_cnn_centralized": small["central"]}, small["surrogate"], small["x"],
                                small["y"], (0.0, 0.3), steps=3)
    assert set(out) == {("mnist_cnn_centralized", a, e) for a in ("fgsm", "pgd") for e in (0.0, 0.3)} | {
        ("mnist_cnn_centralized", "transfer", e, c) for c in ("fgsm", "pgd") for e in (0.0, 0.3)}
    # No perturbation flips nothing; the model's own gradient is at least as strong as a stranger's.
    assert all(v == 0.0 for k, v in out.items() if k[2] == 0.0)
    assert out[("mnist_cnn_centralized", "fgsm", 0.3)] > 0.5
    assert 0 < out[("mnist_cnn_centralized", "transfer", 0.3, "fgsm")] <= out[("mnist_cnn_centralized", "pgd", 0.3)]


def test_flipped_counts_only_correctly_classified_digits(small: dict) -> None:
    model, x, y = small["central"], small["x"], small["y"]
    assert cnn_transfer.flipped(model, x, x, y) == 0.0
    # Swap every digit for a blank image: exactly the correct ones that the blank is not classified as flip.
    predicted = model(x).argmax(1)
    blank_class = int(model(torch.zeros_like(x[:1])).argmax(1))
    correct = predicted == y
    expected = float((y[correct] != blank_class).float().mean())
    assert cnn_transfer.flipped(model, x, torch.zeros_like(x), y) == pytest.approx(expected)


@pytest.mark.fate
def test_transfer_to_the_federated_cnn_that_fate_trains(tmp_path: Path) -> None:
    from harness.engines.fate22.launcher import LauncherEngine

    engine = LauncherEngine(tmp_path / "launcher", progress=False)
    engine.start()
    out = cnn_transfer.run_cnn_transfer(engine, engine.work_dir, MNIST, (42, 43), epochs=3, epsilons=(0.0, 0.3),
                                        steps=3, per_class=100)
    print(json.dumps(out, indent=1))
    assert out["federated_engine"] == "fate-2.2-launcher"
    for seed in out["models"]:
        # The attacked parameters are FATE's: they predict what FATE's guest predicted on every test digit.
        assert seed["same_predictions_as_fate"] == 1.0, seed
        assert seed["federated"] > 0.3
        # The surrogate saw one party's third of the training digits (the test set is a fifth of all).
        assert abs(3 * seed["surrogate_rows"] - 4 * seed["test_rows"]) <= 3, seed
    rows = {(r["model"], r["attack"], r["epsilon"], r.get("crafted")): r for r in out["rows"]}
    for model in cnn_transfer.TARGETS:
        assert rows[(model, "transfer", 0.0, "fgsm")]["success_rate"] == 0.0
        moved = rows[(model, "transfer", 0.3, "pgd")]
        assert moved["seeds"] == 2 and 0 < moved["success_rate"] <= 1
        assert len(moved["success_rate_interval"]) == 2
        assert rows[(model, "fgsm", 0.3, None)]["success_rate"] > 0


def test_report_shows_the_cnn_transfer_rows_engine_and_figure(small: dict, tmp_path: Path) -> None:
    from harness.security.adversarial import summarize
    from harness.security.report import render

    per_seed = [cnn_transfer.one_seed({"mnist_cnn_centralized": small["central"]}, small["surrogate"], small["x"],
                                      small["y"], (0.0, 0.3), steps=2)] * 2
    rows = summarize(per_seed, ("model", "attack", "epsilon", "crafted"))
    models = [{"seed": 42, "federated": 0.5, "centralized": small["acc"][0], "surrogate": small["acc"][1],
               "surrogate_party": "9999", "surrogate_rows": 80, "test_rows": 60, "same_predictions_as_fate": 1.0}]
    results = {"run_id": "t", "data": {"input": "x", "sha256": "0" * 64, "features": 37, "parties": {}, "test_rows": 1},
               "config": {"seeds": [42]}, "timings_s": {}, "adversarial": rows,
               "mnist_cnn_transfer": {"models": models, "federated_engine": "fate-2.2-launcher", "epochs": 3}}
    render(results, tmp_path)
    text = (tmp_path / "security.md").read_text()
    assert "fate-2.2-launcher" in text and "| mnist_cnn_centralized | transfer pgd | 0.3 |" in text
    assert (tmp_path / "adversarial_mnist_cnn.png").stat().st_size > 1000
