"""Gradient-boosted trees: SecureBoost's settings, and the same trees trained centralised with XGBoost.

FATE 2.2's ``HeteroSecureBoostGuest`` (``fate/ml/ensemble/algo/secureboost/hetero/guest.py``) grows
depth-limited trees on second-order gradients of the binary cross-entropy, with L1/L2 on the leaf
weights, a minimum hessian per child, a minimum gain to split, histogram bins per feature, and starts
from a raw score of 0 (``BCELoss.initialize`` -> probability 0.5). XGBoost's ``hist`` trees are the same
algorithm with the same knobs (``reg_lambda``, ``reg_alpha``, ``min_child_weight``, ``gamma``,
``max_bin``, ``base_score=0.5``, ``grow_policy="depthwise"``), which is why it is the centralised
baseline: scikit-learn's HistGradientBoosting has no minimum child hessian, no gain threshold and
always starts from the class prior, so its trees would differ by construction, not by federation.

What still differs (the report's model section lists it): the bin edges (FATE's quantile binning vs
XGBoost's quantile sketch), and FATE's ``min_sample_split`` / ``min_leaf_node`` (row counts) have no
XGBoost twin; at their defaults (2 and 1) neither binds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import ConfigError

OBJECTIVE = "binary:bce"
HE_KINDS = ("paillier", "ou")  # what FATE 2.2's default safety config (fate.arch.config) allows


@dataclass(frozen=True)
class SecureBoostSettings:
    """Every parameter of FATE 2.2's hetero_secureboost train, set explicitly (component defaults differ
    from the class defaults: 3 trees vs the pipeline class's 20)."""

    num_trees: int = 10
    max_depth: int = 3
    learning_rate: float = 0.3
    max_bin: int = 32
    l1: float = 0.0
    l2: float = 0.1
    min_impurity_split: float = 1e-2
    min_sample_split: int = 2
    min_leaf_node: int = 1
    min_child_weight: float = 1.0
    gh_pack: bool = True
    split_info_pack: bool = True
    hist_sub: bool = True
    complete_secure: int = 0
    he_kind: str = "paillier"
    key_length: int = 1024
    threshold: float = 0.5

    def __post_init__(self) -> None:
        counts = ("num_trees", "max_depth", "max_bin", "min_sample_split", "min_leaf_node", "key_length")
        for name in counts:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"secureboost.{name} must be a positive integer, got {value!r}")
        if self.max_bin > 255:
            raise ConfigError(f"secureboost.max_bin {self.max_bin} is above 255", hint="XGBoost's baseline caps bins")
        for name in ("learning_rate", "l1", "l2", "min_impurity_split", "min_child_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"secureboost.{name} must be a finite number >= 0, got {value!r}")
        if self.learning_rate == 0:
            raise ConfigError("secureboost.learning_rate must be above 0")
        if self.he_kind not in HE_KINDS:
            raise ConfigError(
                f"secureboost.he_kind must be paillier or ou, got {self.he_kind!r}",
                hint="FATE 2.2's default safety config refuses 'mock' (ValueError: mock is not allowed in config)",
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def xgboost_params(s: SecureBoostSettings, seed: int) -> dict[str, Any]:
    """The XGBoost parameters that grow SecureBoost's trees centralised."""
    return {
        "n_estimators": s.num_trees,
        "max_depth": s.max_depth,
        "learning_rate": s.learning_rate,
        "max_bin": s.max_bin,
        "reg_alpha": s.l1,
        "reg_lambda": s.l2,
        "gamma": s.min_impurity_split,
        "min_child_weight": s.min_child_weight,
        "objective": "binary:logistic",
        "base_score": 0.5,
        "tree_method": "hist",
        "grow_policy": "depthwise",
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "n_jobs": 1,
        "random_state": seed,
    }


def fit_gbdt(
    train: pd.DataFrame, test: pd.DataFrame, features: tuple[str, ...], label: str, s: SecureBoostSettings, seed: int
) -> np.ndarray:
    """Train the centralised trees on ``train``; the probability of class 1 for every row of ``test``."""
    from xgboost import XGBClassifier

    model = XGBClassifier(**xgboost_params(s, seed))
    model.fit(train[list(features)].to_numpy(float), train[label].to_numpy(int))
    return model.predict_proba(test[list(features)].to_numpy(float))[:, 1]
