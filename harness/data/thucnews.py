"""THUCNews articles (``label<TAB>text`` per line, UTF-8) as character-id sequences.

Characters, not words: no segmenter, so nothing to pin. The vocabulary is the ``size - 2`` most
frequent characters of the whole file (ties by first appearance), id 0 = padding, 1 = any other
character; it uses no labels. Each article is cut to its first ``length`` characters and padded at
the end (a news article's lead says what it is about). A line without a tab, an empty text, an
unknown class or undecodable bytes is one :class:`DataError` naming the file and line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import DataError

CLASSES = ("体育", "财经", "房产", "游戏", "教育", "时政", "科技", "时尚", "娱乐", "家居")
PAD, OTHER = 0, 1
HINT = "one article per line: a THUCNews class name, a tab, the text (UTF-8)"


@dataclass(frozen=True)
class Articles:
    texts: tuple[str, ...]
    labels: np.ndarray  # index into CLASSES


def load_articles(path: Path) -> Articles:
    if not path.is_file():
        raise DataError(f"input file {path} does not exist", hint="pass --data PATH/TO/cnews.txt")
    texts, labels = [], []
    with path.open("rb") as handle:  # bytes, decoded line by line: a bad byte is named by its line
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {number}: not UTF-8: {exc}", hint=HINT) from exc
            label, tab, text = line.rstrip("\r\n").partition("\t")
            if not tab:
                raise DataError(f"{path}, line {number}: no tab between class and text", hint=HINT)
            if label not in CLASSES:
                raise DataError(f"{path}, line {number}: unknown class {label[:20]!r}", hint=HINT)
            if not text.strip():
                raise DataError(f"{path}, line {number}: empty text", hint=HINT)
            texts.append(text)
            labels.append(CLASSES.index(label))
    if not texts:
        raise DataError(f"{path}: no articles", hint=HINT)
    return Articles(tuple(texts), np.asarray(labels, dtype=np.int64))


def vocabulary(texts: tuple[str, ...], size: int) -> dict[str, int]:
    counts = Counter(ch for text in texts for ch in text)
    ranked = sorted(counts, key=lambda ch: -counts[ch])[: size - 2]  # stable: ties keep first appearance
    return {ch: index for index, ch in enumerate(ranked, start=2)}


def encode(texts: tuple[str, ...], vocab: dict[str, int], length: int) -> np.ndarray:
    out = np.full((len(texts), length), PAD, dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [vocab.get(ch, OTHER) for ch in text[:length]]
        out[row, : len(ids)] = ids
    return out
