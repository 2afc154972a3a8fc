"""THUCNews loading and encoding; the text scenarios' TF-IDF baseline documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.thucnews import CLASSES, encode, load_articles, vocabulary
from harness.errors import DataError
from harness.study.nn_arms import token_documents

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_articles() -> None:
    articles = load_articles(ROOT / "data" / "thucnews" / "cnews_sample_1000.txt")
    assert len(articles.texts) == 1000
    assert np.bincount(articles.labels).tolist() == [116, 115, 104, 104, 104, 94, 94, 91, 89, 89]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("体育\t好球\n财经 no tab\n", "line 2: no tab"),
        ("体育\t好球\n天气\t晴\n", "line 2: unknown class '天气'"),
        ("体育\t好球\n财经\t  \n", "line 2: empty text"),
    ],
)
def test_bad_lines(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_articles(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("体育\t好球\n".encode() + "财经\t股市".encode("gbk") + b"\n")
    with pytest.raises(DataError, match="line 2: not UTF-8"):
        load_articles(path)


def test_vocabulary_and_encoding() -> None:
    vocab = vocabulary(("aab", "ac"), size=4)  # room for 2 characters besides pad and other
    assert vocab == {"a": 2, "b": 3}
    assert encode(("abcx", "b"), vocab, 3).tolist() == [[2, 3, 1], [3, 0, 0]]
    assert len(CLASSES) == 10


def test_token_documents_drop_padding() -> None:
    frame = pd.DataFrame({"t0": [0.0, 5.0], "t1": [7.0, 0.0], "t2": [9.0, 6.0]})
    assert token_documents(frame, ["t0", "t1", "t2"]) == ["7 9", "5 6"]
