"""A data file and the JSON card that describes it, replaced together in an output directory.

Why not one directory renamed into place: ``--output`` names a directory the user chose, which may
hold other files, and callers read ``<dir>/prepared.csv`` and ``<dir>/data_card.json`` directly;
renaming a directory over a non-empty one is not possible on POSIX. Instead the card is the commit
marker of the pair:

1. both files are written in full to unique temporaries in the directory (same filesystem) and
   synced; the card records the data file's sha256;
2. the old card is removed, then the data file is renamed into place, then the card.

A run that dies at any point leaves either the old pair, the new pair, or a data file without a
card, never a card beside a data file it does not describe. Readers that check for the card (as
``harness.study.pipeline`` does) therefore never take a half-replaced pair; :func:`verified_card`
also checks the recorded digest, for readers racing a writer.

Temporaries are named ``.<name>.<pid>.<random>.tmp``. Writers hold an exclusive ``flock`` on the
directory while their temporaries exist, so any temporary found while holding it belongs to a
killed run and is swept.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FatelabError

_HINT_SPACE = "free some space or pass another --output directory; the previous output was kept"


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def check_output_dir(path: Path) -> None:
    """Fail early (before minutes of work) when ``path`` cannot become a writable directory."""
    if path.exists() and not path.is_dir():
        raise FatelabError(
            f"output path {path} exists and is not a directory",
            hint="pass a directory for --output (it is created when missing)",
        )
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), Path("/"))
    if not existing.is_dir():
        raise FatelabError(
            f"output directory {path} cannot be created: {existing} is a file",
            hint="pass a directory path that is not under a file for --output",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FatelabError(
            f"output directory {path} cannot be written: {existing} is not writable by this user",
            hint="pass a directory you may write to for --output, or fix its permissions",
        )


def write_pair(
    output_dir: Path,
    data_name: str,
    write_data: Callable[[Path], None],
    card_name: str,
    make_card: Callable[[str], dict],
) -> dict:
    """Write ``data_name`` (by ``write_data``) and ``card_name`` (``make_card(data sha256)``) as a pair.

    Returns the card as written. Any OSError (disk full, permissions, a file in the way) becomes a
    FatelabError naming the directory; the previous pair is then left as it was.
    """
    created = False
    try:
        created = _make_dir(output_dir)
        with _locked(output_dir) as dir_fd:
            sweep_stale_temps(output_dir, (data_name, card_name))
            return _write_locked(output_dir, dir_fd, _Pair(data_name, write_data, card_name, make_card))
    except OSError as exc:
        raise _output_error(output_dir, exc) from None
    finally:
        if created:
            with contextlib.suppress(OSError):  # not empty: the pair (or someone else's file) is there
                output_dir.rmdir()


def verified_card(output_dir: Path, data_name: str, card_name: str, digest_key: str) -> dict | None:
    """The card in ``output_dir`` if it exists and ``card["output"][digest_key]`` matches the data file."""
    try:
        card = json.loads((output_dir / card_name).read_text(encoding="utf-8"))
        recorded = card["output"][digest_key]
        return card if recorded == file_sha256(output_dir / data_name) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sweep_stale_temps(output_dir: Path, names: tuple[str, ...]) -> list[Path]:
    """Remove temporaries of ``names`` left by killed runs (call only while holding the lock)."""
    alternatives = "|".join(re.escape(n) for n in names)
    # 16 hex digits: temp_name(); 12: the names earlier versions used (and left behind when killed).
    pattern = re.compile(rf"\.(?:{alternatives})\.\d+\.(?:[0-9a-f]{{16}}|[0-9a-f]{{12}})\.tmp")
    swept = [p for p in output_dir.iterdir() if pattern.fullmatch(p.name) and p.is_file()]
    for path in swept:
        path.unlink(missing_ok=True)
    return swept


def temp_name(name: str) -> str:
    """A temporary name for ``name`` that no other process or call uses (not a fixed ``X.tmp``)."""
    return f".{name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"


def replace_file(path: Path, data: bytes | str, *, mode: int = 0o666) -> None:
    """Replace one file atomically through a unique temporary beside it, created with ``mode``.

    For the single-file writers that used a fixed ``path.with_suffix(".tmp")``: two writers of the
    same file then shared one temporary and could rename each other's half-written bytes. ``mode``
    (less the umask) applies from creation, so a private file is never readable by others meanwhile.
    """
    tmp = path.parent / temp_name(path.name)
    try:
        with open(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode), "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Pair:
    """What write_pair writes: the data file by ``write_data``, then the card ``make_card(sha256)``."""

    data_name: str
    write_data: Callable[[Path], None]
    card_name: str
    make_card: Callable[[str], dict]


def _write_locked(output_dir: Path, dir_fd: int, pair: _Pair) -> dict:
    data_name, card_name = pair.data_name, pair.card_name
    data_tmp, card_tmp = _new_temp(output_dir, data_name), _new_temp(output_dir, card_name)
    try:
        pair.write_data(data_tmp)
        _sync(data_tmp)
        card = pair.make_card(file_sha256(data_tmp))
        card_tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        _sync(card_tmp)
        # The order is the whole point: no card while the data file is being replaced.
        (output_dir / card_name).unlink(missing_ok=True)
        os.fsync(dir_fd)
        os.replace(data_tmp, output_dir / data_name)
        os.replace(card_tmp, output_dir / card_name)
        os.fsync(dir_fd)
        return card
    finally:
        data_tmp.unlink(missing_ok=True)
        card_tmp.unlink(missing_ok=True)


def _make_dir(path: Path) -> bool:
    """Create ``path`` (and parents); True when this call created it."""
    if path.is_dir():
        return False
    path.mkdir(parents=True, exist_ok=True)
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _new_temp(directory: Path, name: str) -> Path:
    """An empty new file with a unique temporary name for ``name`` in ``directory``."""
    path = directory / temp_name(name)
    # os.open with 0o666 honours the umask, unlike mkstemp's private 0o600 files.
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return path


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _output_error(output_dir: Path, exc: OSError) -> FatelabError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FatelabError(f"cannot write into output directory {output_dir}: {reason}", hint=_HINT_SPACE)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return FatelabError(
            f"output directory {output_dir} cannot be created: a file is in the way ({reason})",
            hint="pass a directory path that is not a file or under a file for --output",
        )
    return FatelabError(
        f"cannot write into output directory {output_dir}: {reason}",
        hint="check that the directory is writable by this user (permissions, read-only filesystem); "
        "the previous output was kept",
    )
