"""SSH/SFTP adapter: verified connections to party hosts (file placement: :mod:`harness.hosts.transfer`).

Host keys are checked against one known_hosts file with paramiko's ``RejectPolicy``: a host whose
key is unknown or different is refused, never added.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # paramiko 3.4 imports TripleDES, which cryptography deprecates; nothing here uses it.
    warnings.filterwarnings("ignore", message=".*TripleDES.*")
    import paramiko

from harness.errors import ConfigError, HostError
from harness.hosts.inventory import Cluster, Party

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
# What a failed transfer raises (besides HostError): the connection or the SFTP session broke.
TRANSFER_ERRORS = (OSError, paramiko.SSHException, paramiko.SFTPError)
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


def _resolve(value: str, base_dir: Path | None) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() or base_dir is None else (base_dir / path).resolve()


def cluster_var(cluster: Cluster, name: str) -> Any:
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
    if cluster_var(cluster, RENAMED_KNOWN_HOSTS_VAR):
        raise ConfigError(
            f"inventory {cluster.name!r} sets {RENAMED_KNOWN_HOSTS_VAR}, which is now {KNOWN_HOSTS_VAR}",
            hint=f"rename the variable to {KNOWN_HOSTS_VAR} (Ansible and the harness both read that one)",
        )
    base = inventory_path.resolve().parent
    args = cluster_var(cluster, "ansible_ssh_common_args") or ""
    match = _USER_KNOWN_HOSTS_RE.search(str(args))
    given = cluster_var(cluster, KNOWN_HOSTS_VAR) or (match.group(1) if match else None) or DEFAULT_KNOWN_HOSTS
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

    def __init__(
        self, target: SSHTarget, known_hosts: Path, *, timeout: float = CONNECT_TIMEOUT, tuned: bool = True
    ) -> None:
        """``tuned=False`` keeps paramiko's default transport windows (what ``make bench-lab`` compares with)."""
        self.target = target
        self.known_hosts = known_hosts
        self.timeout = timeout
        self.tuned = tuned
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
                transport_factory=_tuned_transport if self.tuned else None,
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
