"""Neural-network model family: the settings every arm shares, and the one model definition.

A model is a list of layer entries in FATE 2.2's loader format (``{"module_name", "item_name",
"kwargs"}``, what ``fate.components.components.nn.torch.base.load_seq`` builds a ``Sequential``
from). The same entries go into FATE's HomoNN runner config (launcher and FATE-Flow alike) and into
the in-process arms (:mod:`harness.model.nn_local` builds them with FATE's own loader), so every arm
trains literally the same architecture.

Initial weights: the model conf builds the layers through :func:`fatelab_nn.torch_init.seeded_seq`,
which seeds torch with ``init_seed`` first, so every party of every engine (launcher, FATE-Flow,
in-process) starts from the same weights whatever its process drew from torch before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError

# torch's seed in a fresh process: the weights the launcher and in-process arms have always started from.
TORCH_DEFAULT_SEED = 67280421310721
AGGREGATORS = ("secure_aggregate", "plaintext")
Layer = Mapping[str, Any]


def layer(item: str, **kwargs: Any) -> dict[str, Any]:
    """One ``torch.nn`` layer as FATE's loader names it."""
    return {"module_name": "torch.nn", "item_name": item, "kwargs": kwargs}


def text_model(item: str, **kwargs: Any) -> dict[str, Any]:
    """One of ``fatelab_nn.text_models``' whole models (LSTM, character CNN) as FATE's loader names it."""
    return {"module_name": "fatelab_nn.text_models", "item_name": item, "kwargs": kwargs}


def mnist_cnn_layers(channels: tuple[int, int] = (8, 16), hidden: int = 64) -> tuple[dict[str, Any], ...]:
    """Two conv + max-pool blocks and a dense head on 784 pixel columns (FATE hands rows over flat)."""
    c1, c2 = channels
    side = ((28 - 2) // 2 - 2) // 2  # two 3x3 valid convolutions, each followed by 2x2 pooling: 5
    return (
        layer("Unflatten", dim=1, unflattened_size=[1, 28, 28]),
        layer("Conv2d", in_channels=1, out_channels=c1, kernel_size=3),
        layer("ReLU"),
        layer("MaxPool2d", kernel_size=2),
        layer("Conv2d", in_channels=c1, out_channels=c2, kernel_size=3),
        layer("ReLU"),
        layer("MaxPool2d", kernel_size=2),
        layer("Flatten"),
        layer("Linear", in_features=c2 * side * side, out_features=hidden),
        layer("ReLU"),
        layer("Linear", in_features=hidden, out_features=10),
    )


@dataclass(frozen=True)
class HomoNNSettings:
    """What FATE HomoNN and the in-process arms both train with.

    One federated round is one local epoch on every party followed by FedAvg (FATE's
    ``aggregate_strategy='epoch'``, ``aggregate_freq=1``), so ``epochs`` is also the number of rounds.
    ``seed`` drives the batch order (HF Trainer's data seed); the in-process arms use it the same way.
    """

    layers: tuple[Layer, ...]
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "Adam"
    loss: str = "CrossEntropyLoss"
    classes: int = 10
    seed: int = 42
    init_seed: int = TORCH_DEFAULT_SEED
    aggregator: str = "secure_aggregate"
    task_type: str = "multi"
    # HF Trainer's default, which FATE's trainer inherits; the in-process arms clip the same way.
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        if not self.layers:
            raise ConfigError("an NN model needs at least one layer")
        for name in ("epochs", "batch_size", "classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"NN setting {name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ConfigError(f"NN learning_rate must be positive, got {self.learning_rate!r}")
        if self.aggregator not in AGGREGATORS:
            raise ConfigError(f"NN aggregator must be one of {', '.join(AGGREGATORS)}, got {self.aggregator!r}")

    def model_conf(self) -> dict[str, Any]:
        """FATE's ``Sequential.to_dict`` layout. load_seq sorts the keys, and FATE-Flow's YAML turns
        digit-only keys into ints (some of them: "008" stays text): zero-padded names sort as text."""
        return {
            "module_name": "fatelab_nn.torch_init",
            "item_name": "seeded_seq",
            "kwargs": {
                "seed": self.init_seed,
                "seq_conf": {f"layer_{i:03d}": dict(entry) for i, entry in enumerate(self.layers)},
            },
        }
