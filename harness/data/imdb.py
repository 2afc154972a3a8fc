"""IMDB reviews as word-id sequences (Keras ``imdb.load_data`` encoding), read without pickle.

The file is the flat ``.npz`` layout of the project's data (``data/README.md``): for each of ``train``
and ``test``, ``<split>_ids`` (every sequence concatenated), ``<split>_offsets`` (sequence ``i`` is
``ids[offsets[i]:offsets[i+1]]``) and ``<split>_labels`` (1 = positive). ``numpy.load`` runs with
``allow_pickle=False``: an object array (Keras' own ``imdb.npz``) is refused with a hint to convert it.
Every review is checked; the first bad one (empty, an id outside the vocabulary, a label other than
0/1) is one :class:`DataError` naming the file, the split and the review's index.

Sequences are cut or padded to a fixed, recorded length the Keras way (``pad_sequences`` defaults:
padding and truncation at the start, so the last words are kept and sit next to the LSTM's output).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import DataError

SPLITS = ("train", "test")
PAD = 0
HINT = "the flat IMDB .npz of data/README.md: {train,test}_{ids,offsets,labels}"


@dataclass(frozen=True)
class Reviews:
    sequences: tuple[np.ndarray, ...]
    labels: np.ndarray


def _array(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    if key not in archive.files:
        raise DataError(f"{path}: no array {key!r} (has {sorted(archive.files)})", hint=HINT)
    try:
        return archive[key]
    except ValueError as exc:  # object arrays need pickle, which stays off
        raise DataError(f"{path}: array {key!r} needs pickle to load ({exc})", hint="convert it: " + HINT) from exc


def _split(path: Path, archive: np.lib.npyio.NpzFile, split: str, vocabulary: int) -> Reviews:
    ids = _array(path, archive, f"{split}_ids")
    offsets = _array(path, archive, f"{split}_offsets").astype(np.int64)
    labels = _array(path, archive, f"{split}_labels").astype(np.int64)
    if len(offsets) != len(labels) + 1 or offsets[0] != 0 or offsets[-1] != len(ids):
        raise DataError(
            f"{path}: {split} has {len(labels)} labels, {len(offsets)} offsets and {len(ids)} ids; "
            "expected one offset per review plus one, from 0 to the number of ids",
            hint=HINT,
        )
    lengths = np.diff(offsets)
    checks = (
        (lengths <= 0, lambda i: f"review is empty (offsets {offsets[i]}..{offsets[i + 1]})"),
        (~np.isin(labels, (0, 1)), lambda i: f"label {labels[i]} is not 0 or 1"),
    )
    for bad, says in checks:
        if bad.any():
            first = int(np.argmax(bad))
            raise DataError(f"{path}: {split} review {first}: {says(first)}", hint=HINT)
    outside = (ids < 0) | (ids >= vocabulary)
    if outside.any():
        position = int(np.argmax(outside))
        review = int(np.searchsorted(offsets, position, side="right") - 1)
        raise DataError(
            f"{path}: {split} review {review}: word id {int(ids[position])} outside the vocabulary 0..{vocabulary - 1}",
            hint=HINT,
        )
    sequences = tuple(ids[offsets[i] : offsets[i + 1]].astype(np.int64) for i in range(len(labels)))
    return Reviews(sequences, labels)


def load_reviews(path: Path, vocabulary: int) -> dict[str, Reviews]:
    """Both splits, checked; ``vocabulary`` is the ``num_words`` the ids were encoded with."""
    if not path.is_file():
        raise DataError(f"input file {path} does not exist", hint="pass --data PATH/TO/imdb.npz")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {split: _split(path, archive, split, vocabulary) for split in SPLITS}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: corrupt or truncated .npz: {exc}", hint="download the file again; " + HINT) from exc


def pad(sequences: tuple[np.ndarray, ...], length: int) -> np.ndarray:
    """(n, length) int64: the last ``length`` ids of each review, left-padded with 0 (Keras defaults)."""
    out = np.full((len(sequences), length), PAD, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        kept = sequence[-length:]
        out[row, length - len(kept) :] = kept
    return out
