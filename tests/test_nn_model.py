"""The NN model family: one definition, built by FATE's loader, same start for every arm; settings checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.engines.fate22.homo_nn import runner_conf
from harness.errors import ConfigError
from harness.model.nn import HomoNNSettings, mnist_cnn_layers
from harness.model.nn_local import build_model, predict, train_local


def settings(**kw: object) -> HomoNNSettings:
    return HomoNNSettings(mnist_cnn_layers(), **kw)  # type: ignore[arg-type]


def test_cnn_maps_flat_pixels_to_ten_logits() -> None:
    model = build_model(settings())
    out = model(torch.zeros(5, 784))
    assert out.shape == (5, 10)
    kinds = [type(m).__name__ for m in model]
    assert kinds.count("Conv2d") == 2 and kinds.count("MaxPool2d") == 2 and kinds[-1] == "Linear"


def test_layer_order_survives_more_than_ten_layers() -> None:
    # FATE's load_seq sorts its keys as strings: "10" < "2" would scramble an 11-layer model.
    keys = list(settings().model_conf()["kwargs"]["seq_conf"])
    assert keys == sorted(keys) and len(keys) == 11
    # FATE-Flow's YAML made "000".."007" ints and left "008" text: load_seq then failed comparing them.
    assert not any(k.isdigit() for k in keys)


def test_every_build_starts_from_the_same_weights() -> None:
    torch.rand(3)  # whatever ran before must not matter
    a = build_model(settings()).state_dict()
    b = build_model(settings()).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_fate_default_runner_accepts_the_conf_and_builds_the_same_model() -> None:
    from fate.components.components.nn.nn_runner import loader_load_from_conf
    from fate.components.components.nn.runner.homo_default_runner import DefaultRunner

    conf = runner_conf(settings(epochs=3, batch_size=16))
    runner = DefaultRunner(**conf)
    assert runner.task_type == "multi" and conf["training_args_conf"]["num_train_epochs"] == 3
    fed = {"aggregate_strategy": "epoch", "aggregate_freq": 1, "aggregator": "secure_aggregate"}
    assert conf["fed_args_conf"] == fed
    fate_model = loader_load_from_conf(conf["model_conf"])
    assert [type(m) for m in fate_model] == [type(m) for m in build_model(settings())]


@pytest.mark.parametrize(
    "bad",
    [{"epochs": 0}, {"batch_size": -1}, {"learning_rate": 0.0}, {"aggregator": "fedprox"}, {"classes": 1.5}],
)
def test_bad_settings_are_config_errors(bad: dict) -> None:
    with pytest.raises(ConfigError):
        settings(**bad)
    with pytest.raises(ConfigError, match="at least one layer"):
        HomoNNSettings(())


def test_in_process_training_learns_a_separable_toy_problem() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    x = np.zeros((300, 784), np.float32)
    for i, label in enumerate(y):  # each class lights its own 4x4 block
        row, col = divmod(int(label), 5)
        block = np.zeros((28, 28), np.float32)
        block[4 + row * 10 : 8 + row * 10, 2 + col * 5 : 6 + col * 5] = 1.0
        x[i] = block.ravel() + rng.normal(0, 0.05, 784).astype(np.float32)
    fit = train_local(settings(epochs=4, learning_rate=3e-3), x[:200], y[:200], x[200:], y[200:])
    assert len(fit.test_accuracy) == 4 and len(fit.epoch_seconds) == 4
    assert fit.test_accuracy[-1] > 0.8 and fit.test_accuracy[-1] > fit.test_accuracy[0] - 0.05
    assert np.mean(fit.predictions == y[200:]) == pytest.approx(fit.test_accuracy[-1])
    assert predict(build_model(settings()), x[:0]).shape == (0,)


def test_lstm_model_through_fate_loader_takes_float_ids() -> None:
    from harness.scenarios.imdb_lstm import LENGTH, lstm_layers

    model = build_model(HomoNNSettings(lstm_layers(), classes=2))
    ids = torch.randint(0, 500, (4, LENGTH)).float()  # FATE hands token ids over as floats
    assert model(ids).shape == (4, 2)
    assert sum(p.numel() for p in model.parameters()) == 500 * 128 + 4 * 64 * (128 + 64 + 2) + 64 * 2 + 2
