"""Thin I/O adapters for large CSV inputs and all-or-nothing output writing.

Reading goes through ``pyarrow.csv.open_csv`` with every column typed as a nullable string, so a
column that looks numeric in the first block and textual later (``desc``, ``emp_title``) can never
fail type inference half-way through a 400 MB file. Empty fields become nulls.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from harness.errors import DataError

_SNIFF_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_MIN_BLOCK_BYTES = 1 << 20
_MAX_BLOCK_BYTES = 256 << 20


class HashingReader(io.RawIOBase):
    """A read-only file wrapper that hashes and counts the bytes as the CSV reader consumes them.

    Hashing during the one streaming pass avoids reading a multi-hundred-megabyte input twice.
    """

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._on_bytes = on_bytes
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            view = memoryview(buffer)[:n]
            self.sha256.update(view)
            self.bytes_read += n
            if self._on_bytes is not None:
                self._on_bytes(n)
        return n or 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self.sha256.update(data)
            self.bytes_read += len(data)
            if self._on_bytes is not None:
                self._on_bytes(len(data))
        return data

    def close(self) -> None:
        self._raw.close()
        super().close()


def read_header(path: Path) -> tuple[list[str], float]:
    """Return the CSV's column names and the mean bytes per line of its first megabyte.

    Raises DataError for a missing or empty file, binary data, non-UTF-8 text or an unusable header.
    """
    if not path.is_file():
        raise DataError(f"input file {path} does not exist or is not a file", hint="check the path")
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip(_BOM + b" \t\r\n"):
        raise DataError(f"input file {path} is empty", hint="supply the Lending Club loan.csv")
    if b"\x00" in head:
        raise DataError(
            f"input file {path} is not a CSV file (it contains binary data)",
            hint="supply the uncompressed Lending Club loan.csv",
        )
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the sniff window is not an error.
        if exc.start < len(head) - 3 or len(head) < _SNIFF_BYTES:
            raise DataError(
                f"input file {path} is not UTF-8 text: invalid byte at offset {exc.start}",
                hint="supply the uncompressed Lending Club loan.csv (UTF-8)",
            ) from None
    first_line_end = head.find(b"\n")
    header_bytes = head if first_line_end < 0 else head[:first_line_end]
    header_text = header_bytes.decode("utf-8-sig")
    names = next(csv.reader([header_text.rstrip("\r")]), [])
    names = [n.strip() for n in names]
    if not names or all(not n for n in names):
        raise DataError(
            f"input file {path} has no CSV header line", hint="the first line must name the columns"
        )
    empty = [i for i, n in enumerate(names) if not n]
    if empty:
        raise DataError(
            f"input file {path} has unnamed header columns at positions {empty}",
            hint="the first line must name every column",
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"input file {path} repeats header columns: {', '.join(duplicates)}")
    lines = max(head.count(b"\n"), 1)
    return names, len(head) / lines


def block_size_for(chunk_rows: int, bytes_per_row: float) -> int:
    """Translate a row budget per chunk into the byte block size pyarrow works with."""
    wanted = int(chunk_rows * max(bytes_per_row, 1.0))
    return max(_MIN_BLOCK_BYTES, min(_MAX_BLOCK_BYTES, wanted))


def open_string_csv(source: Path | BinaryIO, columns: list[str], block_size: int) -> pacsv.CSVStreamingReader:
    """Open a streaming CSV reader that yields every column as a nullable string."""
    read_options = pacsv.ReadOptions(block_size=block_size, use_threads=True)
    # Quoted fields in loan.csv (desc) may contain line breaks; without this they would split rows.
    parse_options = pacsv.ParseOptions(newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        return pacsv.open_csv(
            source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _unparseable(source, exc) from None


def iter_batches(reader: pacsv.CSVStreamingReader, source: object) -> Iterator[pa.RecordBatch]:
    """Yield record batches, turning Arrow parse errors into DataError."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise _unparseable(source, exc) from None
        yield batch


def _unparseable(source: object, exc: Exception) -> DataError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    name = getattr(source, "name", source)
    return DataError(
        f"input file {name} cannot be parsed as CSV: {detail}",
        hint="supply the uncompressed, unmodified Lending Club loan.csv",
    )


def write_files_atomically(output_dir: Path, writers: dict[str, Callable[[Path], None]]) -> list[Path]:
    """Write several files into ``output_dir`` so that either all of them appear or none does.

    Each writer fills a temporary path inside ``output_dir`` (same filesystem, so ``os.replace`` is
    atomic); only when every writer succeeded are the temporaries renamed to their final names. On
    failure the temporaries, and ``output_dir`` itself if this call created it, are removed.
    """
    created_dir = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, write in writers.items():
            tmp = output_dir / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
            # os.open with 0o666 honours the umask, unlike mkstemp's private 0o600 files.
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            temps[name] = tmp
            write(temps[name])
        finals = []
        for name, tmp in temps.items():
            final = output_dir / name
            os.replace(tmp, final)
            finals.append(final)
        return finals
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        if created_dir:
            with contextlib.suppress(OSError):  # not empty: someone else wrote there meanwhile
                output_dir.rmdir()
        raise
