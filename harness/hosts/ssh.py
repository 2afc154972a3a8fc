"""SSH/SFTP adapter: verified connections to party hosts and checksummed, atomic file placement.

Host keys are checked against one known_hosts file with paramiko's ``RejectPolicy``: a host whose
key is unknown or different is refused, never added. Every host is connected (and so verified)
before any byte is copied, so a bad host aborts the run with nothing placed anywhere.

A file is written to a private temporary name next to its destination, its SHA-256 is computed on
the host, and only a matching copy is renamed into place (``mv`` within one directory is atomic).
A destination that already holds the same SHA-256 is left alone, which makes re-runs cheap.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shlex
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

with warnings.catch_warnings():
    # paramiko 3.4 imports TripleDES, which cryptography deprecates; nothing here uses it.
    warnings.filterwarnings("ignore", message=".*TripleDES.*")
    import paramiko

from harness.errors import ConfigError, HostError, raise_collected
from harness.hosts.inventory import Cluster, Party
from harness.hosts.remote_paths import check_remote_dir, create_dir_script

# One known_hosts file for Ansible and the harness; see known_hosts_path and docs/cluster-mode.md.
KNOWN_HOSTS_VAR = "fatelab_known_hosts"
RENAMED_KNOWN_HOSTS_VAR = "lab_known_hosts"
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
DATA_GROUP_VAR = "fatelab_remote_data_group"
DEFAULT_DATA_GROUP = "fate"  # the group the fate_flow role runs FATE-Flow under
CONNECT_TIMEOUT = 8.0
COMMAND_TIMEOUT = 300.0

# Throughput knobs, measured with harness/benchmarks/sftp_bench.py. OpenSSH's sftp-server takes
# writes up to 255 KiB ("limits@openssh.com"); fewer, larger requests mean fewer acks for paramiko's
# Python packet loop to process. The window matters for downloads (the server's window governs uploads).
SFTP_WRITE_SIZE = 255 * 1024
SFTP_WINDOW = 16 * 1024 * 1024
SFTP_MAX_PACKET = 32 * 1024
READ_BLOCK = 1024 * 1024
_USER_KNOWN_HOSTS_RE = re.compile(r"UserKnownHostsFile=(\S+)")


# ----------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class SSHTarget:
    """Where and as whom to reach one party's host."""

    party_id: str
    host: str
    address: str
    user: str
    port: int = 22
    key_file: Path | None = None

    @classmethod
    def from_party(cls, party: Party, *, base_dir: Path | None = None) -> SSHTarget:
        key = party.key_file or party.vars.get("ansible_private_key_file")
        key_path = _resolve(str(key), base_dir) if key else None
        return cls(
            party_id=str(party.party_id),
            host=party.host,
            address=party.address,
            user=str(
                party.ssh_user or party.vars.get("ansible_ssh_user") or os.environ.get("USER") or "root"
            ),
            port=int(party.vars.get("ansible_port") or party.vars.get("ansible_ssh_port") or 22),
            key_file=key_path,
        )

    @property
    def label(self) -> str:
        return f"host {self.host} (party {self.party_id}, {self.user}@{self.address}:{self.port})"


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


def _resolve(value: str, base_dir: Path | None) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() or base_dir is None else (base_dir / path).resolve()


def _cluster_var(cluster: Cluster, name: str) -> Any:
    values = {str(p.vars[name]) for p in cluster.parties if p.vars.get(name)}
    if cluster.vars.get(name):
        values.add(str(cluster.vars[name]))
    if len(values) > 1:
        raise ConfigError(
            f"inventory {cluster.name!r} sets {name} to different values per host: {sorted(values)}",
            hint="use one value for all parties (put it under the group's vars)",
        )
    return next(iter(values), None)


def known_hosts_path(cluster: Cluster, inventory_path: Path) -> Path:
    """The known_hosts file the inventory trusts: the same file Ansible verifies against.

    Order (``ansible/group_vars/all.yml`` computes ``fate_known_hosts_file`` the same way, and a test
    holds the two together): the inventory var ``fatelab_known_hosts``; the ``UserKnownHostsFile=`` in
    ``ansible_ssh_common_args`` (the lab's inventory names ``lab/.state/known_hosts`` there); then
    ``~/.ssh/known_hosts``. A relative path is relative to the inventory's directory.
    """
    if _cluster_var(cluster, RENAMED_KNOWN_HOSTS_VAR):
        raise ConfigError(
            f"inventory {cluster.name!r} sets {RENAMED_KNOWN_HOSTS_VAR}, which is now {KNOWN_HOSTS_VAR}",
            hint=f"rename the variable to {KNOWN_HOSTS_VAR} (Ansible and the harness both read that one)",
        )
    base = inventory_path.resolve().parent
    args = _cluster_var(cluster, "ansible_ssh_common_args") or ""
    match = _USER_KNOWN_HOSTS_RE.search(str(args))
    given = _cluster_var(cluster, KNOWN_HOSTS_VAR) or (match.group(1) if match else None) or DEFAULT_KNOWN_HOSTS
    path = _resolve(given, base)
    if not path.is_file():
        raise ConfigError(
            f"known_hosts file {path} for inventory {cluster.name!r} does not exist",
            hint=f"set {KNOWN_HOSTS_VAR}: <path> in the inventory to a file holding every party host's key "
            "(collect keys with ssh-keyscan and verify them out of band)",
        )
    return path


# ----------------------------------------------------------------------------------- one host
def _tuned_transport(sock: Any, **kwargs: Any) -> paramiko.Transport:
    return paramiko.Transport(
        sock, default_window_size=SFTP_WINDOW, default_max_packet_size=SFTP_MAX_PACKET, **kwargs
    )


def _connect_failure(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "; ".join(sorted({e.strerror or str(e) for e in exc.errors.values()})).lower()
    if isinstance(exc, EOFError):
        return "the server closed the connection"
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__


class RemoteHost:
    """One verified SSH connection to a party's host: run commands, copy files."""

    def __init__(self, target: SSHTarget, known_hosts: Path, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.target = target
        self.known_hosts = known_hosts
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None

    # -- connection ------------------------------------------------------------------------
    def connect(self) -> RemoteHost:
        """Connect and verify the host key; raise HostError naming the host and party otherwise."""
        if self._client is not None:
            return self
        t = self.target
        client = paramiko.SSHClient()
        # Only this file is trusted: no ~/.ssh/known_hosts, no agent, no guessing keys.
        client.load_system_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                t.address,
                port=t.port,
                username=t.user,
                key_filename=str(t.key_file) if t.key_file else None,
                look_for_keys=t.key_file is None,
                allow_agent=t.key_file is None,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                transport_factory=_tuned_transport,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostError(
                f"{t.label}: its host key ({exc.key.get_name()} {exc.key.fingerprint}) does not match "
                f"the one in {self.known_hosts} ({exc.expected_key.fingerprint}); refusing to connect",
                hint="if the host was rebuilt, verify its new key out of band and replace its line "
                f"(ssh-keygen -R {t.address} -f {self.known_hosts}); otherwise someone may be intercepting",
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise HostError(
                f"{t.label}: SSH authentication failed ({exc})",
                hint=f"check ansible_user and that {t.key_file or 'your key'} is in its authorized_keys",
            ) from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise HostError(
                    f"{t.label}: no key for {t.address} in {self.known_hosts}; refusing an unknown host",
                    hint=f"add its key to {self.known_hosts} after checking the fingerprint out of band",
                ) from exc
            raise HostError(f"{t.label}: SSH handshake failed: {exc}") from exc
        except (OSError, EOFError) as exc:
            client.close()
            reason = _connect_failure(exc)
            raise HostError(
                f"{t.label} is unreachable: connecting to port {t.port}: {reason}",
                hint="check that the host is up and sshd listens (for the lab: lab/status.sh)",
            ) from exc
        self._client = client
        return self

    @property
    def client(self) -> paramiko.SSHClient:
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- commands --------------------------------------------------------------------------
    def run(
        self, command: str, *, timeout: float = COMMAND_TIMEOUT, check: bool = True
    ) -> tuple[int, str, str]:
        """Run a shell command; with ``check`` a non-zero exit raises HostError with its stderr."""
        try:
            _, stdout, stderr = self.client.exec_command(command, timeout=timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            code = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError) as exc:
            raise HostError(f"{self.target.label}: running {command!r} failed: {exc}") from exc
        if check and code != 0:
            raise HostError(f"{self.target.label}: {command!r} exited {code}: {err.strip() or out.strip()}")
        return code, out, err

    def sha256(self, path: str) -> str | None:
        """The remote file's SHA-256, or None when it does not exist."""
        q = shlex.quote(path)
        _, out, _ = self.run(f"if [ -f {q} ]; then sha256sum -- {q}; fi")
        return out.split()[0] if out.strip() else None

    @contextmanager
    def sftp(self) -> Iterator[paramiko.SFTPClient]:
        transport = self.client.get_transport()
        assert transport is not None
        sftp = paramiko.SFTPClient.from_transport(
            transport, window_size=SFTP_WINDOW, max_packet_size=SFTP_MAX_PACKET
        )
        assert sftp is not None
        try:
            yield sftp
        finally:
            sftp.close()

    def upload(self, local: Path, remote: str, on_bytes: Callable[[int], None] | None = None) -> None:
        """Stream ``local`` to the new file ``remote`` over SFTP with pipelined large writes.

        The file is created mode 0600 (never readable by others, not even for a moment) and must not
        exist yet: the name is random, so an existing file there was planted.
        """
        with self.sftp() as sftp, local.open("rb") as source, _create_private(sftp, remote) as sink:
            sink.set_pipelined(True)
            sink.MAX_REQUEST_SIZE = SFTP_WRITE_SIZE
            for block in iter(lambda: source.read(READ_BLOCK), b""):
                sink.write(block)
                if on_bytes is not None:
                    on_bytes(len(block))

    def __enter__(self) -> RemoteHost:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _create_private(sftp: paramiko.SFTPClient, remote: str) -> paramiko.SFTPFile:
    """Open a new remote file for writing with mode 0600 set by the OPEN request itself.

    ``SFTPClient.open`` sends no attributes, so the server creates the file 0666 minus its umask and a
    chmod afterwards leaves a window in which others can open it. The SFTP OPEN request carries the
    permissions (OpenSSH's sftp-server passes them to open(2)); EXCL refuses a file or symlink put there.
    """
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = 0o600
    flags = paramiko.sftp.SFTP_FLAG_WRITE | paramiko.sftp.SFTP_FLAG_CREATE | paramiko.sftp.SFTP_FLAG_EXCL
    kind, msg = sftp._request(paramiko.sftp.CMD_OPEN, sftp._adjust_cwd(remote), flags, attrs)
    if kind != paramiko.sftp.CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    return paramiko.SFTPFile(sftp, msg.get_binary(), "wb")


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
        if isinstance(exc, OSError | paramiko.SSHException | paramiko.SFTPError):
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
        group = _cluster_var(cluster, DATA_GROUP_VAR) or default_group
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


def preflight(
    parties: Sequence[Party],
    known_hosts: Path,
    *,
    base_dir: Path | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> RemoteCluster:
    """Verify every party's host (reachable, host key known and matching); return the open connections."""
    remote = RemoteCluster(
        [SSHTarget.from_party(p, base_dir=base_dir) for p in parties], known_hosts, timeout=timeout
    )
    remote.preflight()
    return remote
