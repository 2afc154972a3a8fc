"""The one place a model's initial weights are decided, importable by FATE's loader in any process.

FATE builds the model inside each party's task with ``loader_load_from_conf``; whatever the task
process drew from torch's generator before that point decides the weights. A FATE-Flow task does
not start from a fresh generator (measured: its initial weights differed from a fresh process's by
up to 0.5), so the model conf names :func:`seeded_seq` and the seed travels with the conf: the
launcher, FATE-Flow and the in-process arms all build the same weights.
"""

from __future__ import annotations

from typing import Any

import torch


def seeded_seq(seed: int, seq_conf: dict[str, Any]) -> torch.nn.Sequential:
    """FATE's ``load_seq`` after seeding torch's global generator with ``seed``."""
    from fate.components.components.nn.torch.base import load_seq

    torch.manual_seed(seed)
    return load_seq(seq_conf)
