"""The in-process NN arms (centralised, local-only): the HomoNN settings trained with plain PyTorch.

The model comes from FATE's own loader on :meth:`HomoNNSettings.model_conf`, which seeds torch
itself (:mod:`fatelab_nn.torch_init`), so its initial weights are those the federated parties
start from. One epoch here is one round there: the same optimizer, learning rate,
batch size, loss and gradient clipping (HF Trainer's ``max_grad_norm``, which FATE's trainer keeps).
After every epoch the model is scored on the test set: the centralised curve of the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.model.nn import HomoNNSettings

EVAL_BATCH = 512


def build_model(settings: HomoNNSettings) -> torch.nn.Module:
    """The settings' model with the weights every FATE party process starts from."""
    from fate.components.components.nn.nn_runner import loader_load_from_conf

    return loader_load_from_conf(settings.model_conf())


def predict(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Class predictions (argmax of the logits), batch by batch, in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            out.append(model(torch.as_tensor(x[start : start + EVAL_BATCH])).argmax(dim=1).numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class LocalFit:
    predictions: np.ndarray  # on the test rows, after the last epoch
    test_accuracy: tuple[float, ...]  # after every epoch
    epoch_seconds: tuple[float, ...]  # training time of every epoch (scoring excluded)
    # The trained model (the security study attacks it); not part of a fit's identity.
    model: torch.nn.Module | None = field(default=None, compare=False, repr=False)


def train_local(
    settings: HomoNNSettings,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    on_epoch: Callable[[int, float], None] = lambda epoch, accuracy: None,
) -> LocalFit:
    """``settings.epochs`` epochs of minibatch training; test accuracy after each."""
    model = build_model(settings)
    optimizer = getattr(torch.optim, settings.optimizer)(model.parameters(), lr=settings.learning_rate)
    loss_fn = getattr(torch.nn, settings.loss)()
    features = torch.as_tensor(x_train)
    labels = torch.as_tensor(y_train, dtype=torch.long)
    generator = torch.Generator().manual_seed(settings.seed)
    accuracy, seconds = [], []
    predictions = np.empty(0, dtype=np.int64)
    model.train()
    for epoch in range(settings.epochs):
        started = time.monotonic()
        order = torch.randperm(len(features), generator=generator)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(features[batch]), labels[batch])
            loss.backward()
            if settings.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            optimizer.step()
        seconds.append(time.monotonic() - started)
        predictions = predict(model, x_test)
        accuracy.append(float(np.mean(predictions == y_test)))
        on_epoch(epoch + 1, accuracy[-1])
    return LocalFit(predictions, tuple(accuracy), tuple(seconds), model)
