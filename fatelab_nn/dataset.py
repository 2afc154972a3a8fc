"""The rows a HomoNN party trains on, in the same order on every engine, importable by FATE's loader.

FATE's default runner feeds ``TableDataset`` the rows in the order the FATE DataFrame holds them,
and that order is the storage's: a FATE-Flow upload spreads rows over partitions by key hash,
while the launcher reads the CSV in file order. HF Trainer's shuffle is a permutation of row
positions, so the same data seed gives different batches on the two engines (measured: parameters
apart by up to 5e-3 after one round of 4 batches). Sorting by the match id puts the rows in one
order whatever the storage, so the batches, and with them the trained weights, are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fate.ml.nn.dataset.table import TableDataset


def id_order(ids: pd.Series) -> np.ndarray:
    """Positions that sort ``ids``: numerically when every id is a number (ids come as text from
    FATE's storage, so "10" must follow "9"), as text otherwise."""
    numeric = pd.to_numeric(ids, errors="coerce")
    key = numeric if not numeric.isna().any() else ids.astype(str)
    return np.argsort(key.to_numpy(), kind="stable")


class IdOrderedTable(TableDataset):
    """FATE's ``TableDataset`` with its rows sorted by match id after loading."""

    def load(self, data_or_path: Any) -> None:
        super().load(data_or_path)
        if self.match_ids is None:  # a CSV path: rows stay in file order
            return
        order = id_order(self.match_ids.iloc[:, 0])
        self.features = self.features[order]
        if self.label is not None:
            self.label = self.label[order]
        self.sample_ids = self.sample_ids.iloc[order].reset_index(drop=True)
        self.match_ids = self.match_ids.iloc[order].reset_index(drop=True)
