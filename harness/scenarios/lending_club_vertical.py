"""Lending Club, vertical: a lender (guest, label + loan terms and credit history) and a partner (host,
income, employment, home, verification, purpose) hold partly the same customers.

Federated arms on FATE 2.2: PSI -> HeteroSecureBoost and PSI -> HeteroLR (coordinated LR). Baselines:
the same trees (XGBoost) and the same LR update rule trained centralised on the joined customers, and
guest-only on every customer the lender holds. Data: the prepared Lending Club table (the bundled sample
by default), split by owner and by customer as ``config.vertical`` says (:mod:`harness.study.vertical`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.model.metrics import binary_metrics, roc_points
from harness.scenarios.lending_club_homolr import LendingClubHomoLR
from harness.stats.plan import StatsPlan
from harness.study.scenario import CENTRALIZED, FEDERATED, Dataset, say
from harness.study.vertical import VerticalConfig, VerticalSeedData, psi_section, seed_data, vertical_config
from harness.study.vertical_arms import (
    CENTRALIZED_GBDT,
    CENTRALIZED_LR,
    FEDERATED_HETEROLR,
    FEDERATED_SECUREBOOST,
    vertical_arms,
    vertical_stats_plan,
)

if TYPE_CHECKING:
    from harness.study.arms import Arm
    from harness.study.config import StudyConfig


SEEDS = 6  # the fewest with which a signed-rank test can reach p < 0.05 (2 / 2**6): fewer can decide no claim


class LendingClubVertical(LendingClubHomoLR):
    name = "lending-club-vertical"
    summary = "Lending Club split by owner (lender + partner): FATE PSI + HeteroSecureBoost / HeteroLR vs centralised"
    model_family = "gradient-boosted trees (SecureBoost) and logistic regression (coordinated LR)"
    # Every seed's fits in one launch of FATE's launcher; SEEDS keeps the default run under 15 min on 2 cores
    # (measured in docs/vertical.md). Checking a fit against FATE-Flow is opt-in (--validate): a FATE-Flow
    # SecureBoost job alone takes minutes; tests/test_vertical_flow.py compares the two engines in CI.
    launcher_seeds = SEEDS
    validate_by_default = False

    def vertical(self, config: StudyConfig) -> VerticalConfig:
        return vertical_config(config.vertical)

    def seed_data(self, dataset: Dataset, config: StudyConfig) -> VerticalSeedData:
        v = self.vertical(config)
        data = seed_data(
            dataset.frame,
            dataset.features,
            config,
            v,
            label=self.label,
            id_column=self.id_column,
            log_columns=self.log_columns(config),
        )
        h = data.holdings
        say(
            f"vertical split: guest {v.guest} holds {len(h.guest):,} customers x {len(data.split.guest)} columns "
            "+ label, "
            f"host {v.host} {len(h.host):,} x {len(data.split.host)}; both hold {len(h.overlap()):,}; "
            f"scored on {len(data.test):,} held-out customers both hold"
        )
        return data

    def arms(self, config: StudyConfig) -> Sequence[Arm]:
        return vertical_arms(self.vertical(config))

    def stats_plan(self, config: StudyConfig) -> StatsPlan:
        return vertical_stats_plan(self.vertical(config))

    def model_settings(self, config: StudyConfig) -> Any:
        return self.vertical(config).secureboost

    def fit_local(
        self, train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], config: StudyConfig
    ) -> tuple[np.ndarray, int]:
        raise NotImplementedError("the vertical arms train their own baselines (harness/study/vertical_arms.py)")

    def metrics(self, y: np.ndarray, scores: np.ndarray, config: StudyConfig) -> tuple[dict, dict]:
        threshold = self.vertical(config).secureboost.threshold
        return binary_metrics(y, scores, threshold=threshold), roc_points(y, scores)

    def results_sections(self, config: StudyConfig, data: VerticalSeedData) -> dict[str, Any]:
        # The report's own sections (harness/report/vertical.py) are drawn from these blocks at render time.
        return self.sections(config, data, self.vertical(config))

    def sections(self, config: StudyConfig, data: VerticalSeedData, v: VerticalConfig) -> dict[str, Any]:
        main = (
            (FEDERATED_SECUREBOOST, CENTRALIZED_GBDT)
            if "secureboost" in v.federated
            else (FEDERATED_HETEROLR, CENTRALIZED_LR)
        )
        return {
            "parties": {
                v.guest: {"roles": ["guest"], "train_rows": len(data.guest_train), "test_rows": len(data.guest_test),
                          "columns": list(data.split.guest), "label": True},
                v.host: {"roles": ["host"], "train_rows": len(data.host_train), "test_rows": len(data.host_test),
                         "columns": list(data.split.host), "label": False},
                v.arbiter: {"roles": ["arbiter (HeteroLR only)"], "train_rows": 0, "note": "holds the HeteroLR key"},
            },
            "vertical": v.as_dict() | {"feature_split": data.split.as_dict(), "scored_rows": len(data.test),
                                       "joined_train_rows": len(data.joined_train)},
            "balance": "none: trees and LR train on the real class mix (no SMOTE in the vertical study)",
            "psi": psi_section(data, v.guest),
            "gaps": data.observed.get("gaps", {}),
            # For the report's headline and its missing-arm check (harness/report/results.py).
            "main_arms": {FEDERATED: main[0], CENTRALIZED: main[1]},
            "expected_arms": [arm.arm for arm in vertical_arms(v) if hasattr(arm, "arm")],
        }  # fmt: skip


SCENARIO = LendingClubVertical()
