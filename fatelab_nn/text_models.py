"""Text models FATE's loader builds by module path (``fatelab_nn.text_models``), for HomoNN and in-process.

FATE hands a party's rows to the model as one float tensor (token ids as float columns), and
``torch.nn.LSTM`` returns a tuple, so neither fits a plain ``Sequential`` of ``torch.nn`` layers: each
model here casts the ids back to ``long`` itself and returns the class logits.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMClassifier(nn.Module):
    """Embedding -> one-layer LSTM -> the last step's hidden state -> dense logits."""

    def __init__(self, vocabulary: int, embedding: int = 128, hidden: int = 64, classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding, padding_idx=0)
        self.lstm = nn.LSTM(embedding, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, (last, _) = self.lstm(self.embedding(ids.long()))
        return self.head(last[-1])


class CharCNN(nn.Module):
    """Character embedding -> 1-D convolution -> max over time -> dense logits (Kim-style text CNN)."""

    def __init__(self, vocabulary: int, embedding: int = 64, filters: int = 128, width: int = 5,
                 classes: int = 10) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding, padding_idx=0)
        self.conv = nn.Conv1d(embedding, filters, width)
        self.head = nn.Linear(filters, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids.long()).transpose(1, 2)  # (batch, embedding, time) for Conv1d
        return self.head(torch.relu(self.conv(x)).amax(dim=2))
