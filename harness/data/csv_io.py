"""Thin I/O adapters for large CSV inputs: checks of the first megabyte, a streaming reader, and a
diagnosis that turns a parse error into the file's name and a line number.

Reading goes through ``pyarrow.csv.open_csv`` with every column typed as a nullable string, so a
column that looks numeric in the first block and textual later (``desc``, ``emp_title``) can never
fail type inference half-way through a 400 MB file. Empty fields become nulls.

pyarrow is given the file's *path* and reads it with its own native file: it used to be handed a
Python file object (which hashed the bytes as they went by), and its read-ahead threads then called
back into Python. When a parse error ended the process while such a thread was blocked waiting for
the GIL, interpreter shutdown ended that thread with ``pthread_exit`` inside C++ code and the process
aborted ("terminate called without an active exception", exit 134, about one run in 5-30). The
input's sha256 is therefore computed in a separate pass (:func:`file_sha256`), which also costs a
second read of a file that is by then in the page cache.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import shlex
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from harness.data.checks import refuse_repeats
from harness.errors import DataError

_SNIFF_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_MIN_BLOCK_BYTES = 1 << 20
# pyarrow parses the blocks of a streaming reader on its thread pool; one huge block is parsed by one
# thread (a 120 MB block took 8 s where 4 MB blocks took 2.5 s), so blocks stay small and callers
# gather them into larger tables (:func:`iter_tables`) to keep their per-chunk Python work rare.
_MAX_BLOCK_BYTES = 4 << 20
_HINT_FILE = "supply the uncompressed Lending Club loan.csv (UTF-8)"
_OTHER_SEPARATORS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
# Byte-order marks of the encodings a spreadsheet "Unicode text" export produces, longest first.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# What pyarrow raises while reading: a CSV it cannot parse, or a file it cannot read.
_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OSError)


@contextlib.contextmanager
def open_input(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for reading; any OSError (permissions, I/O error) becomes one DataError."""
    try:
        with path.open("rb") as fh:
            yield fh
    except OSError as exc:
        raise _unreadable(path, exc) from None


def file_sha256(path: Path) -> str:
    with open_input(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_header(path: Path) -> tuple[list[str], float]:
    """Return the CSV's column names and the mean bytes per line of its first megabyte.

    Raises DataError for a missing, unreadable or empty file, binary data, UTF-16/32 or other
    non-UTF-8 text, CR-only line endings or an unusable header.
    """
    if not path.is_file():
        raise DataError(f"input file {path} does not exist or is not a file", hint="check the path")
    with open_input(path) as fh:
        head = fh.read(_SNIFF_BYTES)
    check_text(path, head)
    first_line_end = head.find(b"\n")
    header_bytes = head if first_line_end < 0 else head[:first_line_end]
    if b"\r" in header_bytes.rstrip(b"\r"):
        raise DataError(
            f"input file {path} uses CR-only (old Mac) line endings",
            hint=f"convert them to LF: tr '\\r' '\\n' < {shlex.quote(str(path))} > loan-lf.csv",
        )
    names = [n.strip() for n in next(csv.reader([header_bytes.decode("utf-8-sig").rstrip("\r")]), [])]
    check_header(path, names)
    lines = max(head.count(b"\n"), 1)
    return names, len(head) / lines


def check_text(path: Path, head: bytes) -> None:
    """The first megabyte must be non-empty UTF-8 text (a BOM is fine)."""
    if not head.strip(_BOM + b" \t\r\n"):
        raise DataError(f"input file {path} is empty", hint="supply the Lending Club loan.csv")
    wide = _wide_encoding(head)
    if wide:
        raise DataError(
            f"input file {path} is {wide} text, not UTF-8",
            hint=f"convert it: iconv -f {wide} -t UTF-8 {shlex.quote(str(path))} > loan-utf8.csv",
        )
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
            line = head.count(b"\n", 0, exc.start) + 1
            raise DataError(
                f"input file {path} is not UTF-8 text: invalid byte on line {line} (offset {exc.start})",
                hint=f"{_HINT_FILE}; a Latin-1 export converts with: iconv -f LATIN1 -t UTF-8",
            ) from None


def _wide_encoding(head: bytes) -> str | None:
    """'UTF-16LE' etc. when ``head`` looks like UTF-16/32 text, with or without a byte-order mark."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    # Without a BOM: ASCII text in UTF-16 has a NUL in every other byte.
    sample = head[:4096]
    half = max(len(sample) // 2, 1)
    for zeros, other, name in ((sample[1::2], sample[0::2], "UTF-16LE"), (sample[0::2], sample[1::2], "UTF-16BE")):
        if zeros.count(0) > 0.9 * half and other.count(0) < 0.1 * half:
            return name
    return None


def check_header(path: Path, names: list[str]) -> None:
    if not names or all(not n for n in names):
        raise DataError(
            f"input file {path} has no CSV header line", hint="the first line must name the columns"
        )
    separator = next((name for sep, name in _OTHER_SEPARATORS if len(names) == 1 and sep in names[0]), None)
    if separator:
        raise DataError(
            f"input file {path} is not comma-separated: its header is one column holding {separator}s",
            hint="export the file as CSV with ',' between fields (the Kaggle loan.csv layout)",
        )
    empty = [i for i, n in enumerate(names) if not n]
    if empty:
        raise DataError(
            f"input file {path} has unnamed header columns at positions {empty}",
            hint="the first line must name every column",
        )
    refuse_repeats(
        names,
        f"input file {path} repeats header columns",
        hint="every column name must appear once (the Kaggle loan.csv has no repeats); rename or "
        "remove the extra columns, e.g. a second copy pasted in by a spreadsheet",
    )


def block_size_for(chunk_rows: int, bytes_per_row: float) -> int:
    """The byte block size pyarrow reads: about ``chunk_rows`` rows, at most 4 MiB (see above)."""
    wanted = int(chunk_rows * max(bytes_per_row, 1.0))
    return max(_MIN_BLOCK_BYTES, min(_MAX_BLOCK_BYTES, wanted))


def open_string_csv(path: Path, columns: list[str], block_size: int) -> pacsv.CSVStreamingReader:
    """Open a streaming CSV reader over ``path`` that yields every column as a nullable string."""
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
            str(path), read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None


def iter_batches(reader: pacsv.CSVStreamingReader, path: Path) -> Iterator[pa.RecordBatch]:
    """Yield record batches, turning Arrow errors into one DataError naming the file and line."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            raise _read_error(path, exc) from None
        yield batch


def _read_error(path: Path, exc: Exception) -> DataError:
    """One of _READ_ERRORS as the DataError that says where (and, for a parse error, on which line)."""
    if isinstance(exc, pa.ArrowInvalid | pa.ArrowTypeError) or not isinstance(exc, OSError):
        return unparseable(path, exc)
    return _unreadable(path, exc)


def iter_tables(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Group consecutive batches into tables of at least ``rows`` rows (the last may be smaller)."""
    group: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        group.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(group)
            group, count = [], 0
    if group:
        yield pa.Table.from_batches(group)


def unparseable(path: Path, exc: Exception) -> DataError:
    """The error for a CSV pyarrow cannot parse: where, and what, but never the row's content."""
    found = locate_csv_problem(path)
    if found is None:
        return DataError(
            f"input file {path} cannot be parsed as CSV: {_arrow_summary(exc)}",
            hint="supply the uncompressed, unmodified Lending Club loan.csv",
        )
    line, problem = found
    return DataError(
        f"input file {path} cannot be parsed as CSV: line {line}: {problem}",
        hint=f"inspect that line (sed -n '{line}p' {shlex.quote(str(path))}) and fix or remove it; "
        "its content is not shown here because it may hold a borrower's data",
    )


class _Located(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _text_lines(fh: BinaryIO) -> Iterator[str]:
    for number, raw in enumerate(fh, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _Located(number, f"invalid UTF-8 at byte {exc.start + 1} of the line") from None


def locate_csv_problem(path: Path) -> tuple[int, str] | None:
    """The first line (1-based, the header is line 1) that breaks the CSV, and what is wrong with it.

    A slow pure-Python pass, run only after pyarrow has failed, because pyarrow's errors carry no
    line number (with newlines in quoted values it cannot count lines) and quote the row's content.
    """
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # an unterminated quote makes one field of the rest of the file
    start = 1
    try:
        with open_input(path) as fh:
            reader = csv.reader(_text_lines(fh))
            width = len(next(reader, []))
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != width:
                    return start, _width_problem(reader, start, len(row), width)
                start = reader.line_num + 1
    except _Located as exc:
        return exc.line, exc.problem
    except csv.Error as exc:
        return start, str(exc)
    finally:
        csv.field_size_limit(limit)
    return None


def _width_problem(reader: Iterator[list[str]], start: int, got: int, width: int) -> str:
    end = reader.line_num  # type: ignore[attr-defined]
    if end == start:
        return f"the row has {got} field(s) where the header has {width}"
    # A row of the wrong width spread over several lines: a quote on its first line pairs up with
    # a later one (or with none), so the first line is where the fix belongs.
    if next(reader, None) is None:
        return "a quoted field opened on this line is never closed (the row runs to the end of the file)"
    return (
        f"a quoted field opened on this line seems not to be closed: the row runs to line {end} and "
        f"has {got} field(s) where the header has {width}"
    )


def _arrow_summary(exc: Exception) -> str:
    # Arrow appends the offending row after the second ': ' ("CSV parse error: Expected 74 columns,
    # got 3: <row>"); it is cut so that no borrower data reaches a terminal or a CI log.
    return ": ".join(str(exc).splitlines()[0].split(": ")[:2]) if str(exc) else type(exc).__name__


def _unreadable(path: Path, exc: OSError) -> DataError:
    return DataError(
        f"input file {path} cannot be read: {exc.strerror or exc}",
        hint="check that the file is readable by this user (permissions, a directory or device in its place)",
    )
