"""Deep-learning scenarios (HomoNN): what MNIST, IMDB and THUCNews share.

A subclass supplies the data (``read``; ``load`` adds the id column and the data card's input entries),
the held-out test set (``test_size`` for a stratified share per seed, or its own ``split``), the model
(``default_model_settings``; the run's ``nn`` settings go over it) and its ``classes``; this base
deals the training rows to the parties, plans the NN arms (:mod:`harness.study.nn_arms`), trains the
in-process arms and computes the multi-class metrics. Over several seeds the claims are on accuracy with
a 0.02 margin (:data:`harness.stats.plan.MULTICLASS_PLAN`). A text scenario (``text_baseline``) adds the
TF-IDF + logistic regression arm, which every arm is then compared with and federated claims to beat.
Partition: ``config.partition`` when the run sets one (``dirichlet`` skews over this scenario's label
unless told otherwise), else IID: equal shares, stratified by label.
"""

from __future__ import annotations

import dataclasses
import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from harness.data.partition import Partitioner, SizePartitioner, partitioner_from_config
from harness.model.multiclass import multiclass_metrics
from harness.model.nn import HomoNNSettings
from harness.stats.plan import MULTICLASS_PLAN, StatsPlan
from harness.study.arms import Arm
from harness.study.nn_arms import TFIDF, NNSeedData, nn_arms, tfidf_arm
from harness.study.scenario import Dataset, Scenario, file_sha256, say

if TYPE_CHECKING:
    from harness.study.config import StudyConfig


def study_partition_is_default(config: StudyConfig) -> bool:
    from harness.study.config import StudyConfig

    field = next(f for f in dataclasses.fields(StudyConfig) if f.name == "partition")
    return dict(config.partition) == field.default_factory()  # type: ignore[misc]


def class_counts(labels: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}


class NNScenario(Scenario):
    id_column = "sample_id"
    classes: tuple[int, ...]
    features: ClassVar[tuple[str, ...]]
    rows_are: ClassVar[str]  # what a row is, for progress lines: "digits", "reviews", ...
    test_note: str  # for results.json: how the test set is chosen
    # The share of rows held out per seed, stratified by label; None: the scenario's own ``split``.
    test_size: ClassVar[float | None] = None
    # Text scenarios: is the deep model worth it against TF-IDF + LR on the same token ids?
    text_baseline: ClassVar[bool] = False

    @abstractmethod
    def read(self, config: StudyConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
        """``config.data`` as a frame of the features and the label, and the data card's own entries."""

    def load(self, config: StudyConfig) -> Dataset:
        started = time.monotonic()
        say(f"reading {self.rows_are} from {config.data} ...")
        frame, own_card = self.read(config)
        frame.insert(0, self.id_column, np.arange(len(frame), dtype=np.int64))
        sha256 = file_sha256(config.data)
        card = {"input": {"path": str(config.data), "sha256": sha256}, "rows_in": len(frame), "rows_out": len(frame),
                **own_card}
        return Dataset(frame, self.features, sha256, card, time.monotonic() - started)

    def split(self, dataset: Dataset, config: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Training rows and the held-out test rows for ``config.seed``: a stratified ``test_size`` share."""
        frame = dataset.frame
        return train_test_split(frame, test_size=self.test_size, stratify=frame[self.label], random_state=config.seed)

    @abstractmethod
    def default_model_settings(self, config: StudyConfig) -> HomoNNSettings:
        """The scenario's model and training settings for ``config.seed``."""

    def model_settings(self, config: StudyConfig) -> HomoNNSettings:
        """The scenario's settings with the run's ``nn`` settings over them (validated by HomoNNSettings)."""
        return dataclasses.replace(self.default_model_settings(config), **dict(config.nn))

    def partitioner(self, config: StudyConfig) -> Partitioner:
        parties = list(config.data_parties())
        if study_partition_is_default(config):
            return SizePartitioner({p: 1 / len(parties) for p in parties}, stratify=self.label)
        spec = dict(config.partition)
        if spec.get("kind") == "dirichlet":
            spec.setdefault("label", self.label)
        return partitioner_from_config(spec, party_ids=parties)

    def seed_data(self, dataset: Dataset, config: StudyConfig) -> NNSeedData:
        train, test = self.split(dataset, config)
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        parts = self.partitioner(config).partition(train, config.seed)
        data = NNSeedData(train, test, parts, dataset.features, self.label, self.id_column,
                          tuple(config.data_parties()))
        say(f"partitions: {', '.join(f'{p}: {len(parts[p]):,}' for p in data.parties)}; test set {len(test):,} rows")
        return data

    def arms(self, config: StudyConfig) -> Sequence[Arm]:
        return [*nn_arms(), tfidf_arm()] if self.text_baseline else nn_arms()

    def fit_local(
        self, train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], config: StudyConfig
    ) -> tuple[np.ndarray, int]:
        from harness.model.nn_local import train_local  # torch: only when an arm trains

        cols = list(features)
        fit = train_local(
            self.model_settings(config),
            train[cols].to_numpy(np.float32),
            train[self.label].to_numpy(np.int64),
            test[cols].to_numpy(np.float32),
            test[self.label].to_numpy(np.int64),
        )
        return fit.predictions.astype(float), len(fit.test_accuracy)

    def metrics(self, y: np.ndarray, scores: np.ndarray, config: StudyConfig) -> tuple[dict, dict]:
        return multiclass_metrics(y.astype(np.int64), np.rint(scores).astype(np.int64), self.classes), {}

    def stats_plan(self, config: StudyConfig) -> StatsPlan:
        return MULTICLASS_PLAN.with_baselines(TFIDF) if self.text_baseline else MULTICLASS_PLAN

    def results_sections(self, config: StudyConfig, data: NNSeedData) -> dict[str, Any]:
        parties = {
            p: {"train_rows": len(data.parts[p]), "test_rows": len(data.test),
                "class_balance": class_counts(data.parts[p][self.label])}
            for p in data.parties
        }
        share = round(1 / len(data.parties), 6)
        iid = {"kind": "size", "ratios": {p: share for p in data.parties}, "stratify": self.label,
               "note": "IID: equal shares, stratified by label"}
        return {
            "parties": parties,
            "partitioner": iid if study_partition_is_default(config) else dict(config.partition),
            "test_split": self.test_note,
            "balance": "none",
        }
