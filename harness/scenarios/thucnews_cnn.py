"""THUCNews articles, three parties, a character-level CNN on FATE HomoNN vs centralised, local-only and TF-IDF + LR.

Data: ``label<TAB>text`` lines (:mod:`harness.data.thucnews`), 10 classes; each article becomes its
first ``LENGTH`` characters as ids over the ``VOCABULARY`` most frequent characters (no segmenter).
Test set: a stratified 30 % per seed. Model: :class:`fatelab_nn.text_models.CharCNN` (embedding 64,
128 filters of width 5, max over time). Baseline: TF-IDF over the same character ids + logistic regression.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.data import thucnews
from harness.model.nn import HomoNNSettings, text_model
from harness.study.nn_scenario import NNScenario
from harness.study.scenario import say

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

VOCABULARY = 3000
LENGTH = 300
TEST_SIZE = 0.3
EPOCHS = 8
FEATURES = tuple(f"c{i:03d}" for i in range(LENGTH))


def char_cnn_layers() -> tuple[dict, ...]:
    return (text_model("CharCNN", vocabulary=VOCABULARY, embedding=64, filters=128, width=5,
                       classes=len(thucnews.CLASSES)),)


class ThucnewsCNN(NNScenario):
    name = "thucnews-cnn"
    summary = "THUCNews articles, three parties, char-level CNN on FATE HomoNN vs centralised, local and TF-IDF + LR"
    default_data = Path("data/thucnews/cnews_sample_1000.txt")
    model_family = "character CNN (FATE HomoNN)"
    label = "topic"
    classes = tuple(range(len(thucnews.CLASSES)))
    features = FEATURES
    rows_are = "articles"
    test_size = TEST_SIZE
    test_note = f"stratified {TEST_SIZE:.0%} of the articles, drawn per seed"
    text_baseline = True

    def read(self, config: StudyConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
        articles = thucnews.load_articles(config.data)
        vocab = thucnews.vocabulary(articles.texts, VOCABULARY)
        frame = pd.DataFrame(thucnews.encode(articles.texts, vocab, LENGTH).astype(np.float32), columns=list(FEATURES))
        frame[self.label] = articles.labels
        say(f"{len(frame):,} articles, {len(thucnews.CLASSES)} classes, cut/padded to {LENGTH} characters")
        return frame, {
            "classes": {name: int((articles.labels == i).sum()) for i, name in enumerate(thucnews.CLASSES)},
            "sequence_length": LENGTH, "vocabulary": len(vocab) + 2,
            "features": f"the first {LENGTH} characters as ids of the {VOCABULARY - 2} most frequent characters "
            "of the file (0 pad, 1 other); no labels used",
        }

    def default_model_settings(self, config: StudyConfig) -> HomoNNSettings:
        return HomoNNSettings(char_cnn_layers(), epochs=EPOCHS, batch_size=32, learning_rate=1e-3,
                              classes=len(thucnews.CLASSES), seed=config.seed)


SCENARIO = ThucnewsCNN()
