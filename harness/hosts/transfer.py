"""Checksummed, atomic placement of local files on party hosts, over :mod:`harness.hosts.ssh`.

Every host is connected (and so verified) before any byte is copied, so a bad host aborts the run
with nothing placed anywhere. A file is written to a private temporary name next to its
destination, its SHA-256 is computed on the host, and only a matching copy is renamed into place
(``mv`` within one directory is atomic). A destination that already holds the same SHA-256 is left
alone, which makes re-runs cheap.
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import ConfigError, HostError, raise_collected
from harness.hosts.inventory import Cluster
from harness.hosts.remote_paths import check_remote_dir, create_dir_script
from harness.hosts.ssh import (
    CONNECT_TIMEOUT,
    DATA_GROUP_VAR,
    DEFAULT_DATA_GROUP,
    READ_BLOCK,
    TRANSFER_ERRORS,
    RemoteHost,
    SSHTarget,
    cluster_var,
    known_hosts_path,
)


@dataclass(frozen=True)
class Placement:
    """One local file as it now exists on one party's host."""

    party_id: str
    host: str
    address: str
    remote_path: str
    sha256: str
    rows: int
    bytes: int
    transferred: bool  # False when the host already held the same content
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



# ----------------------------------------------------------------------------------- local files
@dataclass(frozen=True)
class LocalFile:
    path: Path
    sha256: str
    rows: int  # data lines after the header
    bytes: int


def describe_local(path: Path) -> LocalFile:
    digest = hashlib.sha256()
    size = lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
            size += len(block)
            lines += block.count(b"\n")
            last = block[-1:]
    if size and last != b"\n":
        lines += 1
    return LocalFile(path=path, sha256=digest.hexdigest(), rows=max(lines - 1, 0), bytes=size)


# ----------------------------------------------------------------------------------- placement
# Every remote command costs a session (and the login shell's start-up), so placement uses two per
# file: one to look (batched per host) and one to verify and rename.
_MISMATCH_EXIT = 17


def remote_digests(
    host: RemoteHost, paths: Sequence[str], *, create_dir: str | None = None, group: str = DEFAULT_DATA_GROUP
) -> list[str | None]:
    """SHA-256 of each remote path (None when absent), optionally creating ``create_dir`` first.

    A data dir the harness creates is mode 0750, group ``group`` when the host has it: only
    FATE-Flow's group can read what is placed there. A directory that already exists keeps its owner,
    group and mode: the harness changes only what it created itself.
    """
    script = []
    if create_dir is not None:
        script.append(create_dir_script(check_remote_dir(create_dir), group))
    # Hashing stdin keeps sha256sum from escaping unusual file names in its output.
    quoted = " ".join(shlex.quote(p) for p in paths)
    script.append(
        f'for f in {quoted}; do if [ -f "$f" ]; then sha256sum < "$f" | cut -d" " -f1; else echo -; fi; done'
    )
    _, out, _ = host.run("\n".join(script))
    found = out.split()
    if len(found) != len(paths):
        raise HostError(f"{host.target.label}: could not read checksums of {list(paths)}: {out!r}")
    return [None if f == "-" else f for f in found]


def place_file(
    host: RemoteHost,
    local: LocalFile | Path,
    remote_dir: str,
    *,
    group: str = DEFAULT_DATA_GROUP,
    on_bytes: Callable[[int], None] | None = None,
    existing_sha256: str | None = None,
    checked: bool = False,
) -> Placement:
    """Copy one file to ``remote_dir`` on ``host``, verified and atomically; skip it if already there.

    ``checked=True`` with ``existing_sha256`` is for a caller that already looked at the destination
    (and created the directory) with :func:`remote_digests`.
    """
    started = time.monotonic()
    remote_dir = check_remote_dir(remote_dir)
    info = local if isinstance(local, LocalFile) else describe_local(local)
    final = str(PurePosixPath(remote_dir) / info.path.name)
    t = host.target

    def placement(transferred: bool) -> Placement:
        return Placement(
            party_id=t.party_id,
            host=t.host,
            address=t.address,
            remote_path=final,
            sha256=info.sha256,
            rows=info.rows,
            bytes=info.bytes,
            transferred=transferred,
            seconds=round(time.monotonic() - started, 3),
        )

    if not checked:
        existing_sha256 = remote_digests(host, [final], create_dir=remote_dir, group=group)[0]
    if existing_sha256 == info.sha256:
        return placement(False)
    tmp = str(PurePosixPath(remote_dir) / f".{info.path.name}.{secrets.token_hex(4)}.part")
    qt, qf, qg = shlex.quote(tmp), shlex.quote(final), shlex.quote(group)
    finish = (
        f's=$(sha256sum < {qt} | cut -d" " -f1); '
        f'if [ "$s" != {info.sha256} ]; then rm -f -- {qt}; echo "$s"; exit {_MISMATCH_EXIT}; fi; '
        f"chmod 0640 -- {qt} && {{ ! getent group {qg} >/dev/null || chgrp {qg} -- {qt}; }} && "
        f"mv -f -- {qt} {qf}"
    )
    try:
        host.upload(info.path, tmp, on_bytes)
        code, out, err = host.run(finish, check=False)
    except BaseException as exc:
        # If the connection is gone, a .part file with a random name is harmless.
        with suppress(HostError):
            host.run(f"rm -f -- {qt}", check=False, timeout=30)
        if isinstance(exc, TRANSFER_ERRORS):
            raise HostError(f"{t.label}: copying {info.path} to {tmp} failed: {exc}") from exc
        raise
    if code == _MISMATCH_EXIT:
        raise HostError(
            f"{t.label}: the copy of {info.path.name} has SHA-256 {out.strip()}, expected {info.sha256}; "
            "the copy was deleted",
            hint="re-run; if it repeats, check the host's disk and memory (dmesg) and the network",
        )
    if code != 0:
        with suppress(HostError):
            host.run(f"rm -f -- {qt}", check=False, timeout=30)
        raise HostError(
            f"{t.label}: could not move {tmp} into place as {final}: {err.strip() or out.strip()}"
        )
    return placement(True)


class RemoteCluster:
    """Verified connections to every party host; parallel, checksummed placement of files."""

    def __init__(
        self,
        targets: Sequence[SSHTarget],
        known_hosts: Path,
        *,
        group: str = DEFAULT_DATA_GROUP,
        timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.targets = {t.party_id: t for t in targets}
        self.known_hosts = known_hosts
        self.group = group
        self.timeout = timeout
        self._hosts: dict[str, RemoteHost] = {}

    @classmethod
    def from_inventory(
        cls, cluster: Cluster, inventory_path: Path, *, default_group: str = DEFAULT_DATA_GROUP, **kwargs: Any
    ) -> RemoteCluster:
        base = inventory_path.resolve().parent
        targets = [SSHTarget.from_party(p, base_dir=base) for p in cluster.parties]
        group = cluster_var(cluster, DATA_GROUP_VAR) or default_group
        return cls(targets, known_hosts_path(cluster, inventory_path), group=str(group), **kwargs)

    def preflight(self) -> None:
        """Connect to every host in parallel; raise one HostError naming every host that failed."""
        pending = [t for pid, t in self.targets.items() if pid not in self._hosts]
        if not pending:
            return

        def attempt(target: SSHTarget) -> RemoteHost | HostError:
            host = RemoteHost(target, self.known_hosts, timeout=self.timeout)
            try:
                host.connect()
                # sha256sum is what placement trusts; check it now rather than after a transfer.
                host.run("command -v sha256sum >/dev/null", timeout=30)
                return host
            except HostError as exc:
                host.close()
                return exc

        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            outcomes = list(pool.map(attempt, pending))
        errors = [o for o in outcomes if isinstance(o, HostError)]
        for target, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, RemoteHost):
                self._hosts[target.party_id] = outcome
        if errors:
            self.close()
            summary = f"{len(errors)} of {len(self.targets)} hosts failed the SSH check; nothing was copied"
            raise_collected(errors, summary=summary, kind=HostError)

    def host(self, party_id: str) -> RemoteHost:
        if party_id not in self.targets:
            raise ConfigError(
                f"party {party_id} has no host in the inventory (parties: {sorted(self.targets, key=int)})"
            )
        self.preflight()
        return self._hosts[party_id]

    def place_file(self, party_id: str, local_path: Path, remote_dir: str) -> Placement:
        return place_file(self.host(party_id), local_path, remote_dir, group=self.group)

    def place_many(
        self,
        items: Sequence[tuple[str, Path]],
        remote_dir: str | Mapping[str, str],
        *,
        progress: bool = False,
    ) -> list[Placement]:
        """Place each (party, file) on that party's host only; hosts in parallel, results in input order.

        Every host is verified first. Then each host's destinations are checked, so the progress bar
        counts only the bytes that really move, and then the missing files are copied.
        """
        from tqdm import tqdm

        # Checked before any host is contacted: a bad directory is a config error, nothing is placed.
        dirs = {
            pid: check_remote_dir(remote_dir if isinstance(remote_dir, str) else remote_dir[pid])
            for pid, _ in items
        }
        self.preflight()
        described: dict[Path, LocalFile] = {}
        for _, path in items:
            if path not in described:
                described[path] = describe_local(path)
        by_party: dict[str, list[int]] = {}
        for index, (pid, _) in enumerate(items):
            self.host(pid)
            by_party.setdefault(pid, []).append(index)

        def check(pid: str) -> dict[int, str | None]:
            paths = [str(PurePosixPath(dirs[pid]) / items[i][1].name) for i in by_party[pid]]
            digests = remote_digests(self._hosts[pid], paths, create_dir=dirs[pid], group=self.group)
            return dict(zip(by_party[pid], digests, strict=True))

        with ThreadPoolExecutor(max_workers=len(by_party)) as pool:
            existing: dict[int, str | None] = {}
            for found in pool.map(check, by_party):
                existing.update(found)
        to_move = sum(
            described[items[i][1]].bytes for i in existing if existing[i] != described[items[i][1]].sha256
        )
        results: dict[int, Placement] = {}
        lock = threading.Lock()
        bar = tqdm(
            total=to_move,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="placing data on party hosts",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )

        def advance(n: int) -> None:
            with lock:
                bar.update(n)

        def copy(pid: str) -> None:
            for i in by_party[pid]:
                results[i] = place_file(
                    self._hosts[pid],
                    described[items[i][1]],
                    dirs[pid],
                    group=self.group,
                    on_bytes=advance,
                    existing_sha256=existing[i],
                    checked=True,
                )

        try:
            with ThreadPoolExecutor(max_workers=len(by_party)) as pool:
                for future in [pool.submit(copy, pid) for pid in by_party]:
                    future.result()
        finally:
            bar.close()
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()

    def __enter__(self) -> RemoteCluster:
        self.preflight()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
