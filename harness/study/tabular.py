"""Tabular scenarios: binary classification on one prepared table, partitioned by rows, HomoLR.

The model family is FATE 2.2's HomoLR on the federated side and its in-process replica
(:class:`harness.model.logreg.LocalLogisticRegression`) for the centralised and local-only arms, with the
same settings (``config.model``); the metrics are the binary ones of :mod:`harness.model.metrics`. A
subclass supplies the data: ``name``, ``summary``, ``default_data``, ``label``, ``id_column`` and ``load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.data.partition import Partitioner, partitioner_from_config
from harness.model.logreg import HomoLRSettings, LocalLogisticRegression
from harness.model.metrics import binary_metrics, roc_points
from harness.study import tables
from harness.study.arms import Arm, standard_arms
from harness.study.scenario import Dataset, Scenario, say
from harness.study.tables import SeedData

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

SMOTE_NOTE = (
    "SMOTE on training rows only: per party in the federated and local arms (a party sees only its "
    "own rows), once on the pooled rows in the centralised arm; the test set is never balanced"
)


class TabularHomoLR(Scenario):
    model_family = "logistic regression"

    # ------------------------------------------------------------------ data of one seed
    def partitioner(self, config: StudyConfig) -> Partitioner:
        return partitioner_from_config(config.partition, party_ids=list(config.data_parties()))

    def log_columns(self, config: StudyConfig) -> tuple[str, ...]:
        """Columns that get the signed log1p before scaling (money amounts); none by default."""
        return ()

    def seed_data(self, dataset: Dataset, config: StudyConfig) -> SeedData:
        data = tables.seed_data(
            dataset.frame,
            dataset.features,
            config,
            partitioner=self.partitioner(config),
            label=self.label,
            id_column=self.id_column,
            log_columns=self.log_columns(config),
        )
        rows = [
            f"{p}: {len(data.parts[p]):,} rows -> {len(data.federated[p].rows):,} after SMOTE" for p in data.parties
        ]
        say(f"seed {config.seed} partitions: {', '.join(rows)}; test set {len(data.test):,} rows")
        return data

    # ------------------------------------------------------------------ model family, arms, metrics
    def arms(self, config: StudyConfig) -> Sequence[Arm]:
        return standard_arms(config)

    def model_settings(self, config: StudyConfig) -> HomoLRSettings:
        return config.model

    def fit_local(
        self, train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], config: StudyConfig
    ) -> tuple[np.ndarray, int]:
        """The in-process arms: train on ``train``, return test scores and the epochs run."""
        model = LocalLogisticRegression(config.model).fit(train[list(features)], train[self.label])
        return model.predict_proba(test[list(features)]), model.n_iter_

    def metrics(self, y: np.ndarray, scores: np.ndarray, config: StudyConfig) -> tuple[dict, dict]:
        return binary_metrics(y, scores, threshold=config.model.threshold), roc_points(y, scores)

    # ------------------------------------------------------------------ report
    def results_sections(self, config: StudyConfig, data: SeedData) -> dict[str, Any]:
        return {
            "parties": party_info(config, data),
            "partitioner": dict(config.partition),
            "balance": SMOTE_NOTE if config.balance == "smote" else "none",
        }


def party_info(config: StudyConfig, data: SeedData) -> dict[str, Any]:
    """Each party's roles and rows; parties that only aggregate are listed as such."""
    roles_of: dict[str, list[str]] = {p: [] for p in config.roles.all_parties()}
    roles_of[config.roles.guest].append("guest")
    for h in config.roles.hosts:
        roles_of[h].append("host")
    roles_of[config.roles.arbiter].append("arbiter")
    info: dict[str, Any] = {
        p: {
            "roles": roles_of.get(p, []),
            "train_rows": len(data.parts[p]),
            "train_rows_balanced": len(data.federated[p].rows),
            "test_rows": len(data.test),
            "class_balance": {str(k): int(v) for k, v in data.parts[p][data.label].value_counts().sort_index().items()},
            "smote": data.federated[p].smote,
        }
        for p in data.parties
    }
    for p, r in roles_of.items():
        info.setdefault(p, {"roles": r, "train_rows": 0, "note": "holds no data (aggregator only)"})
    return info
