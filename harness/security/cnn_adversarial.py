"""White-box FGSM and PGD against a small MNIST CNN (the package's own :class:`SmallCNN`), trained here.

Centralised training only (the HomoNN scenario is another branch's): Adam, a few epochs over most of the
bundled 5k digits, the rest held out. Pixels are in [0, 1]; epsilon is L-infinity in pixel units and
adversarial images are clipped to [0, 1]. Success rate = share of correctly classified held-out digits
whose prediction the perturbation changes. Rows join ``adversarial`` with ``model = "mnist_cnn"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from harness.security.images import SmallCNN, load_mnist

HELD_OUT = 500


def train(x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> SmallCNN:
    torch.manual_seed(seed)
    model = SmallCNN(torch.nn.ReLU)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
    return model.eval()


def _signed_gradient(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    assert x.grad is not None
    return x.grad.sign()


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    return (x + epsilon * _signed_gradient(model, x, y)).clamp(0, 1)


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, steps: int) -> torch.Tensor:
    adv = x.clone()
    for _ in range(steps):
        adv = adv + 2.5 * epsilon / steps * _signed_gradient(model, adv, y)
        adv = torch.min(torch.max(adv, x - epsilon), x + epsilon).clamp(0, 1)
    return adv


def run_cnn_adversarial(path: Path, epsilons: Sequence[float], steps: int, seed: int,
                        epochs: int = 2, threads: int = 1) -> dict[str, Any]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        images, labels = load_mnist(path, 5000, seed)
        x, y = images[HELD_OUT:], labels[HELD_OUT:]
        x_test, y_test = images[:HELD_OUT], labels[:HELD_OUT]
        model = train(x, y, epochs, seed)
        with torch.no_grad():
            correct = model(x_test).argmax(1) == y_test
        xc, yc = x_test[correct], y_test[correct]
        rows = []
        for eps in epsilons:
            for attack, adv in (("fgsm", fgsm(model, xc, yc, eps)), ("pgd", pgd(model, xc, yc, eps, steps))):
                with torch.no_grad():
                    flipped = float((model(adv).argmax(1) != yc).float().mean())
                rows.append({"model": "mnist_cnn", "attack": attack, "epsilon": eps, "success_rate": flipped,
                             "seeds": 1})
        return {"accuracy": float(correct.float().mean()), "rows": rows}
    finally:
        torch.set_num_threads(previous)
