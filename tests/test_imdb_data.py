"""harness.data.imdb: the bundled reviews load without pickle; bad files are one DataError naming split and review."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data.imdb import load_reviews, pad
from harness.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "imdb" / "imdb_5k_1k_numwords500.npz"


def write(path: Path, **override: np.ndarray) -> Path:
    arrays = {}
    for split in ("train", "test"):
        arrays[f"{split}_ids"] = np.array([1, 14, 22, 1, 7, 1, 9, 9], dtype=np.int16)
        arrays[f"{split}_offsets"] = np.array([0, 3, 5, 8], dtype=np.int64)
        arrays[f"{split}_labels"] = np.array([1, 0, 1], dtype=np.int8)
    arrays.update(override)
    np.savez(path, **arrays)
    return path


def test_bundled_reviews() -> None:
    splits = load_reviews(BUNDLED, 500)
    assert len(splits["train"].labels) == 5000 and len(splits["test"].labels) == 1000
    assert int(splits["train"].labels.sum()) == 2546 and int(splits["test"].labels.sum()) == 474
    assert all(s[0] == 1 for s in splits["test"].sequences[:20])  # Keras: every review starts with 1


def test_pad_keeps_the_last_ids_left_padded() -> None:
    out = pad((np.array([1, 2, 3, 4, 5]), np.array([7, 8])), 3)
    assert out.tolist() == [[3, 4, 5], [0, 7, 8]]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"test_ids": np.array([1, 14, 600, 1, 7, 1, 9, 9], dtype=np.int16)}, "test review 0: word id 600 outside"),
        ({"train_ids": np.array([1, 14, 22, 1, 7, 1, 9, -3], dtype=np.int16)}, "train review 2: word id -3"),
        ({"train_labels": np.array([1, 2, 1], dtype=np.int8)}, "train review 1: label 2 is not 0 or 1"),
        ({"test_offsets": np.array([0, 3, 3, 8])}, "test review 1: review is empty"),
        ({"train_offsets": np.array([0, 3, 8])}, "train has 3 labels, 3 offsets"),
        ({"test_labels": np.array(["a", None, 1], dtype=object)}, "needs pickle"),
    ],
)
def test_bad_arrays(tmp_path: Path, override: dict, message: str) -> None:
    path = write(tmp_path / "bad.npz", **override)
    with pytest.raises(DataError, match=message) as caught:
        load_reviews(path, 500)
    assert str(path) in str(caught.value)


def test_truncated_and_missing(tmp_path: Path) -> None:
    good = write(tmp_path / "good.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_reviews(cut, 500)
    with pytest.raises(DataError, match="does not exist"):
        load_reviews(tmp_path / "none.npz", 500)
    arrays = dict(np.load(write(tmp_path / "x.npz")))
    del arrays["test_labels"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(DataError, match="no array 'test_labels'"):
        load_reviews(tmp_path / "missing.npz", 500)
