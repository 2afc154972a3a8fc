"""harness.data.mnist: both public layouts read alike; every kind of bad file is one DataError naming file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from harness.data.mnist import PIXELS, load_digits
from harness.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "mnist" / "mnist_5k.csv.gz"


def image(label: int, ink: int = 200) -> list[int]:
    """A fake-shaped but valid row: blank corners (as in MNIST), some ink in the middle."""
    pixels = [0] * PIXELS
    pixels[300 + label] = ink
    return pixels


def write(path: Path, rows: list[list[object]], *, header: str | None = None, gz: bool = False) -> Path:
    text = "".join(",".join(map(str, r)) + "\n" for r in rows)
    if header is not None:
        text = header + "\n" + text
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_bundled_sample_is_500_per_digit_label_last() -> None:
    digits = load_digits(BUNDLED)
    assert digits.images.shape == (5000, PIXELS) and digits.images.dtype == np.float32
    assert np.bincount(digits.labels).tolist() == [500] * 10
    assert digits.label_position == "last"
    assert digits.images.min() >= 0.0 and digits.images.max() <= 1.0
    assert digits.lines[0] == 1 and digits.lines[-1] == 5000


def test_label_first_with_header_and_without(tmp_path: Path) -> None:
    rows = [[d, *image(d)] for d in range(10)]
    header = "label," + ",".join(f"{i // 28 + 1}x{i % 28 + 1}" for i in range(PIXELS))
    with_header = load_digits(write(tmp_path / "train.csv", rows, header=header))
    without = load_digits(write(tmp_path / "train_nohdr.csv.gz", rows, gz=True))
    for digits in (with_header, without):
        assert digits.label_position == "first"
        assert digits.labels.tolist() == list(range(10))
        assert digits.images[3, 303] == pytest.approx(200 / 255)
    assert with_header.lines[0] == 2 and without.lines[0] == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([image(1) + [1], image(2) + [12]], "line 2: label 12 is not a digit"),
        ([image(1) + [1], image(2) + [-1]], "line 2: label -1 is not a digit"),
        ([image(1) + [1], image(2)[:-1] + [2]], "line 2: 784 columns, expected 785"),
        ([image(1) + [1], image(2) + [2, 0]], "line 2: 786 columns"),
        ([image(1) + [1], image(2, ink=300) + [2]], "line 2: pixel value 300 outside 0-255"),
        ([image(1) + [1], [*image(2)[:-1], "x", 2]], "line 2: not a number"),
        ([image(1) + [1], image(2) + [2.5]], "line 2: label 2.5 is not a digit"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, rows: list, message: str) -> None:
    path = write(tmp_path / "bad.csv", rows)
    with pytest.raises(DataError, match=message) as caught:
        load_digits(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = gzip.compress(("\n".join(",".join(map(str, image(d % 10) + [d % 10])) for d in range(200)) + "\n").encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut.csv.gz: corrupt or truncated file after line \d+"):
        load_digits(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="noise.csv.gz: corrupt or truncated file"):
        load_digits(path)


def test_missing_empty_and_ambiguous(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_digits(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no images"):
        load_digits(write(tmp_path / "empty.csv", []))
    both = [[5, *image(5)[:-1], 7]]  # first and last columns both non-zero: no way to tell the label
    with pytest.raises(DataError, match="cannot tell the label column"):
        load_digits(write(tmp_path / "both.csv", both))
    with pytest.raises(DataError, match="header without a 'label' column"):
        load_digits(write(tmp_path / "hdr.csv", [image(1) + [1]], header="a," * PIXELS + "b"))
