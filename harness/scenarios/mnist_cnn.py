"""MNIST digits, three parties, a small CNN on FATE HomoNN vs centralised and local-only training.

Data: an MNIST CSV (:mod:`harness.data.mnist`; the bundled 5,000-digit sample by default, or the
full public set). Test set: a stratified 20 % held out per seed. Partition: ``config.partition`` when
the run sets one (``{kind: dirichlet, alpha: 0.1}`` for label skew, the tabular scenario's
partitioners), else IID: equal thirds, stratified by digit. Model: two conv + max-pool blocks and a
dense head (:func:`harness.model.nn.mnist_cnn_layers`), the same for every arm; ``EPOCHS`` rounds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from harness.data import mnist
from harness.data.partition import Partitioner, SizePartitioner, partitioner_from_config
from harness.model.multiclass import multiclass_metrics
from harness.model.nn import HomoNNSettings, mnist_cnn_layers
from harness.study.arms import Arm
from harness.study.nn_arms import NNSeedData, nn_arms
from harness.study.scenario import Dataset, Scenario, file_sha256, say

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

TEST_SIZE = 0.2
# 10 rounds: the centralised model passes 95 % on the held-out digits by epoch 4-6 (measured).
EPOCHS = 10
BATCH = 32
FEATURES = tuple(f"px{i:03d}" for i in range(mnist.PIXELS))


def study_partition_is_default(config: StudyConfig) -> bool:
    from harness.study.config import StudyConfig

    default = next(f for f in dataclasses.fields(StudyConfig) if f.name == "partition").default_factory()  # type: ignore[misc]
    return dict(config.partition) == default


class MnistCNN(Scenario):
    name = "mnist-cnn"
    summary = "MNIST digits, three parties, CNN on FATE HomoNN vs centralised and local-only PyTorch"
    default_data = Path("data/mnist/mnist_5k.csv.gz")
    model_family = "CNN (FATE HomoNN)"
    label = "digit"
    id_column = "sample_id"

    def load(self, config: StudyConfig) -> Dataset:
        started = time.monotonic()
        say(f"reading digits from {config.data} ...")
        digits = mnist.load_digits(config.data)
        frame = pd.DataFrame(digits.images, columns=list(FEATURES))
        frame.insert(0, self.id_column, np.arange(len(frame), dtype=np.int64))
        frame[self.label] = digits.labels
        counts = np.bincount(digits.labels, minlength=10)
        say(f"{len(frame):,} digits, per class {counts.min()}-{counts.max()}, label column {digits.label_position}")
        card = {
            "input": {"path": str(config.data), "sha256": file_sha256(config.data)},
            "rows_in": len(frame),
            "rows_out": len(frame),
            "label_position": digits.label_position,
            "class_counts": {str(c): int(n) for c, n in enumerate(counts)},
            "features": "784 pixels scaled to [0, 1] (value / 255)",
        }
        return Dataset(frame, FEATURES, card["input"]["sha256"], card, time.monotonic() - started)

    def partitioner(self, config: StudyConfig) -> Partitioner:
        parties = list(config.data_parties())
        if study_partition_is_default(config):
            return SizePartitioner({p: 1 / len(parties) for p in parties}, stratify=self.label)
        spec = dict(config.partition)
        if spec.get("kind") == "dirichlet":
            spec.setdefault("label", self.label)  # label skew over digits unless told otherwise
        return partitioner_from_config(spec, party_ids=parties)

    def seed_data(self, dataset: Dataset, config: StudyConfig) -> NNSeedData:
        frame = dataset.frame
        train, test = train_test_split(
            frame, test_size=TEST_SIZE, stratify=frame[self.label], random_state=config.seed
        )
        parts = self.partitioner(config).partition(train.reset_index(drop=True), config.seed)
        data = NNSeedData(
            train=train.reset_index(drop=True),
            test=test.reset_index(drop=True),
            parts=parts,
            features=dataset.features,
            label=self.label,
            id_column=self.id_column,
            parties=tuple(config.data_parties()),
        )
        say(f"partitions: {', '.join(f'{p}: {len(parts[p]):,}' for p in data.parties)}; test set {len(test):,} digits")
        return data

    def arms(self, config: StudyConfig) -> Sequence[Arm]:
        return nn_arms()

    def model_settings(self, config: StudyConfig) -> HomoNNSettings:
        return HomoNNSettings(mnist_cnn_layers(), epochs=EPOCHS, batch_size=BATCH, learning_rate=1e-3, seed=config.seed)

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
        return multiclass_metrics(y.astype(np.int64), np.rint(scores).astype(np.int64), mnist.CLASSES), {}

    def results_sections(self, config: StudyConfig, data: NNSeedData) -> dict[str, Any]:
        return {
            "parties": {
                p: {
                    "train_rows": len(data.parts[p]),
                    "test_rows": len(data.test),
                    "class_balance": class_counts(data.parts[p][self.label]),
                }
                for p in data.parties
            },
            "partitioner": "IID: equal thirds, stratified by digit" if study_partition_is_default(config)
            else dict(config.partition),
            "test_split": f"stratified {TEST_SIZE:.0%} of the digits, seed {config.seed}",
            "balance": "none (digits are balanced)",
        }


def class_counts(labels: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}


SCENARIO = MnistCNN()
