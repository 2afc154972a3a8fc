"""Inverting Gradients on MNIST: training images rebuilt from one plaintext update of a small CNN.

Geiping et al. (NeurIPS 2020): the attacker knows the model and the labels (for one image the label is the
only negative entry of the last layer's bias gradient; for a batch it is assumed, as in the paper), and
optimises dummy images so that their gradient has the highest cosine similarity with the shared one, plus a
total-variation prior, with Adam on the input. Reported: PSNR of every reconstruction against its original
(pixels in [0, 1]; reconstructions matched to originals by best PSNR) and an image grid.

The CNN (:class:`SmallCNN`) is this package's own, untrained (the attack is easiest, and most realistic for
the first round, at initialisation). Real MNIST digits: the bundled 5k sample (data/mnist).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from harness.errors import DataError


class SmallCNN(torch.nn.Module):
    """Two conv layers and a linear head. Sigmoid activations for the reconstruction (smooth gradients, as in
    the gradient-inversion literature); ReLU for the classifier the adversarial study trains."""

    def __init__(self, activation: type[torch.nn.Module] = torch.nn.Sigmoid) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 5, padding=2), activation(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 5, padding=2), activation(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def load_mnist(path: Path, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random digits as (n, 1, 28, 28) floats in [0, 1] and their labels."""
    if not path.exists():
        raise DataError(f"MNIST sample {path} does not exist", hint="point --mnist at mnist_5k.csv.gz")
    raw = pd.read_csv(path, header=None, dtype=np.float32).to_numpy()
    chosen = np.random.default_rng(seed).permutation(len(raw))[:count]
    images = torch.from_numpy(raw[chosen, :784] / 255.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(raw[chosen, 784].astype(np.int64))


def gradient(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, create_graph: bool = False) -> list:
    loss = torch.nn.functional.cross_entropy(model(x), y)
    return list(torch.autograd.grad(loss, list(model.parameters()), create_graph=create_graph))


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def reconstruct(model: torch.nn.Module, target: Sequence[torch.Tensor], labels: torch.Tensor, steps: int,
                seed: int, tv: float = 1e-4, lr: float = 0.1) -> torch.Tensor:
    dummy = torch.rand((len(labels), 1, 28, 28), generator=torch.Generator().manual_seed(seed)).requires_grad_(True)
    optimizer = torch.optim.Adam([dummy], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        grads = gradient(model, dummy, labels, create_graph=True)
        dot = sum((g * t).sum() for g, t in zip(grads, target, strict=True))
        norm = torch.sqrt(sum((g * g).sum() for g in grads)) * torch.sqrt(sum((t * t).sum() for t in target))
        loss = 1 - dot / norm + tv * total_variation(dummy)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            dummy.clamp_(0, 1)
    return dummy.detach()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def match(originals: torch.Tensor, rebuilt: torch.Tensor) -> list[tuple[int, float]]:
    """Each original's best reconstruction (greedy by PSNR; a batch's order is not recoverable)."""
    free = set(range(len(rebuilt)))
    out = []
    for i in range(len(originals)):
        j = max(free, key=lambda k: psnr(originals[i], rebuilt[k]))
        free.discard(j)
        out.append((j, psnr(originals[i], rebuilt[j])))
    return out


def run_images(path: Path, batch_sizes: Sequence[int], steps: int, seed: int, out_dir: Path | None = None,
               threads: int = 1) -> list[dict[str, Any]]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        model = SmallCNN()
        images, labels = load_mnist(path, max(batch_sizes), seed)
        rows = []
        for b in batch_sizes:
            x, y = images[:b], labels[:b]
            rebuilt = reconstruct(model, [g.detach() for g in gradient(model, x, y)], y, steps, seed)
            pairs = match(x, rebuilt)
            rows.append({"batch_size": b, "steps": steps, "psnr": [p for _, p in pairs],
                         "mean_psnr": float(np.mean([p for _, p in pairs]))})
            if out_dir is not None:
                rows[-1]["grid"] = grid_png(x, rebuilt[[j for j, _ in pairs]], out_dir / f"leakage_images_b{b}.png")
        return rows
    finally:
        torch.set_num_threads(previous)


def grid_png(originals: torch.Tensor, rebuilt: torch.Tensor, path: Path) -> str:
    n = len(originals)
    fig = Figure(figsize=(1.3 * n, 2.8))
    axes = np.atleast_2d(fig.subplots(2, n, squeeze=False))
    for i in range(n):
        for row, images in enumerate((originals, rebuilt)):
            ax = axes[row][i]
            ax.imshow(images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[1][i].set_xlabel(f"{psnr(originals[i], rebuilt[i]):.1f} dB", fontsize=8)
    axes[0][0].set_ylabel("original", fontsize=8)
    axes[1][0].set_ylabel("rebuilt", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name
