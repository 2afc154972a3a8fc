"""IMDB reviews, three parties, an LSTM on FATE HomoNN vs centralised, local-only and TF-IDF + LR.

Data: the flat IMDB ``.npz`` (:mod:`harness.data.imdb`, vocabulary ``VOCABULARY``), read without
pickle; every review cut or left-padded to ``LENGTH`` word ids (recorded in the data card). Test set:
the file's own 1,000-review test split, the same for every seed. Model (the study plan's): embedding
128, LSTM 64, batch 32, Adam (:class:`fatelab_nn.text_models.LSTMClassifier`). Early stopping: the
in-process arms and FATE both run ``EPOCHS`` epochs/rounds; the curves show where accuracy peaks (FATE
2.2's DefaultRunner has no early stopping; the report says so instead of comparing unequal budgets).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.data import imdb
from harness.model.nn import HomoNNSettings, text_model
from harness.study.nn_scenario import NNScenario
from harness.study.scenario import Dataset, say

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

VOCABULARY = 500
LENGTH = 120
EPOCHS = 4
FEATURES = tuple(f"t{i:03d}" for i in range(LENGTH))
SPLIT = "split"


def lstm_layers() -> tuple[dict, ...]:
    return (text_model("LSTMClassifier", vocabulary=VOCABULARY, embedding=128, hidden=64, classes=2),)


class ImdbLSTM(NNScenario):
    name = "imdb-lstm"
    summary = "IMDB reviews, three parties, LSTM on FATE HomoNN vs centralised, local-only and TF-IDF + LR"
    default_data = Path("data/imdb/imdb_5k_1k_numwords500.npz")
    model_family = "LSTM (FATE HomoNN)"
    label = "sentiment"
    classes = (0, 1)
    features = FEATURES
    rows_are = "reviews"
    test_note = "the file's own test split (1,000 reviews in the bundled data), the same for every seed"
    text_baseline = True
    # The LSTM costs about 100 s a seed at 4 epochs on a quiet 2-core machine (docs/scenarios.md, "Text
    # scenarios over seeds"): 10 seeds would not fit `make experiment`'s 15 minutes, 6 do and are the
    # fewest with which the signed-rank test can reach p < 0.05.
    launcher_seeds = 6

    def read(self, config: StudyConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
        splits = imdb.load_reviews(config.data, VOCABULARY)
        frames = []
        for split, reviews in splits.items():
            frame = pd.DataFrame(imdb.pad(reviews.sequences, LENGTH).astype(np.float32), columns=list(FEATURES))
            frame[self.label] = reviews.labels
            frame[SPLIT] = split
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        lengths = [len(s) for r in splits.values() for s in r.sequences]
        reviews = {s: len(r.labels) for s, r in splits.items()}
        say(f"{len(frame):,} reviews ({reviews}), cut/padded to {LENGTH} ids")
        return frame, {
            "reviews": reviews,
            "sequence_length": LENGTH, "vocabulary": VOCABULARY,
            "truncated_reviews": int(sum(n > LENGTH for n in lengths)),
            "mean_length": float(np.mean(lengths)),
            "features": f"word ids, the last {LENGTH} of each review, left-padded with 0 (Keras pad_sequences)",
        }

    def split(self, dataset: Dataset, config: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = dataset.frame
        return frame[frame[SPLIT] == "train"], frame[frame[SPLIT] == "test"]

    def default_model_settings(self, config: StudyConfig) -> HomoNNSettings:
        return HomoNNSettings(lstm_layers(), epochs=EPOCHS, batch_size=32, learning_rate=1e-3, classes=2,
                              seed=config.seed)


SCENARIO = ImdbLSTM()
