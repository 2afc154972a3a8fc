"""harness.hosts.ssh and harness.hosts.transfer against a throwaway sshd on 127.0.0.1
(skipped when OpenSSH's sshd is not installed).

Because the "remote" host is this machine, every assertion about what arrived (or did not) reads the
local filesystem directly instead of trusting the code under test.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError, HostError
from harness.hosts.inventory import cluster_from_mapping, load_inventory
from harness.hosts.ssh import RemoteHost, SSHTarget, known_hosts_path
from harness.hosts.transfer import RemoteCluster, describe_local, place_file

REPO = Path(__file__).resolve().parents[1]
LENDING = REPO / "data" / "loan_2011q4_head5k.csv"
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
# OpenSSH's own sftp-server, run (instead of internal-sftp) so its VERBOSE log of every SFTP request can be
# read: it shows the mode a file was created with and any chmod after.
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
SFTP_SERVER = next((p for p in SFTP_SERVERS if Path(p).is_file()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().split()[1]


@dataclass
class Sshd:
    port: int
    key: Path
    known_hosts: Path
    host_key_b64: str
    root: Path
    sftp_log: Path | None  # sftp-server's request log (None: internal-sftp, no log)

    def target(self, party_id: int | str = 9999, host: str = "local", port: int | None = None) -> SSHTarget:
        return SSHTarget(str(party_id), host, "127.0.0.1", getpass.getuser(), port or self.port, self.key)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if SSHD is None:
        pytest.skip("OpenSSH sshd is not installed (apt-get install -y openssh-server)")
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    if os.geteuid() == 0:
        # sshd refuses to start as root without its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    root = tmp_path_factory.mktemp("sshd")
    host_key_b64 = keygen(root / "host_ed25519")
    client_pub = keygen(root / "client_ed25519")
    (root / "authorized_keys").write_text(f"ssh-ed25519 {client_pub}\n")
    (root / "authorized_keys").chmod(0o600)
    port = free_port()
    sftp_log = root / "sftp.log" if SFTP_SERVER else None
    subsystem = "internal-sftp"
    if SFTP_SERVER and sftp_log:
        wrapper = root / "sftp-server.sh"
        wrapper.write_text(f"#!/bin/sh\nexec {SFTP_SERVER} -e -l VERBOSE 2>>{sftp_log}\n")
        wrapper.chmod(0o755)
        subsystem = str(wrapper)
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_ed25519'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        f"StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"PermitRootLogin prohibit-password\nSubsystem sftp {subsystem}\nLogLevel ERROR\n"
        # Bash sources ~/.bashrc for ssh commands only at shell level 1; a developer's rc file
        # (pyenv init: 0.7 s) would otherwise dominate every remote command's time.
        "SetEnv SHLVL=1\n"
    )
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} ssh-ed25519 {host_key_b64}\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    # Generous: sshd start-up is slow on a busy machine, and a test sshd that never comes up is a failure
    # to see, not a skip to hide.
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the test sshd exited during start-up: {proc.stderr.read() if proc.stderr else ''}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("waited 120 s for the test sshd to accept connections on 127.0.0.1")
            time.sleep(0.05)
    yield Sshd(port, root / "client_ed25519", known_hosts, host_key_b64, root, sftp_log)
    proc.terminate()
    proc.wait(timeout=10)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------ placement
def test_place_file_copies_verified_and_private(sshd: Sshd, tmp_path: Path) -> None:
    dest = tmp_path / "remote" / "data"
    with RemoteHost(sshd.target(), sshd.known_hosts) as host:
        placed = place_file(host, LENDING, str(dest))
    arrived = dest / LENDING.name
    assert arrived.read_bytes() == LENDING.read_bytes()
    assert placed.sha256 == sha256(LENDING) and placed.transferred
    assert placed.remote_path == str(arrived)
    assert placed.bytes == LENDING.stat().st_size
    # The Lending Club extract has no quoted newlines, so rows are its lines minus the header.
    assert placed.rows == len(LENDING.read_bytes().splitlines()) - 1
    assert stat.S_IMODE(arrived.stat().st_mode) == 0o640
    assert stat.S_IMODE(dest.stat().st_mode) == 0o750
    assert [p.name for p in dest.iterdir()] == [LENDING.name], "no temporary file may stay behind"


def test_replacing_same_content_is_skipped_and_changed_content_is_replaced(
    sshd: Sshd, tmp_path: Path
) -> None:
    local = tmp_path / "table.csv"
    lines = LENDING.read_text().splitlines(keepends=True)
    local.write_text("".join(lines[:200]))
    dest = tmp_path / "remote"
    with RemoteHost(sshd.target(), sshd.known_hosts) as host:
        first = place_file(host, local, str(dest))
        inode = (dest / local.name).stat().st_ino
        second = place_file(host, local, str(dest))
        assert first.transferred and not second.transferred
        assert (dest / local.name).stat().st_ino == inode, "an identical file must not be rewritten"
        local.write_text("".join(lines[:300]))
        third = place_file(host, local, str(dest))
    assert third.transferred and third.rows == 299
    assert sha256(dest / local.name) == sha256(local) == third.sha256


def test_checksum_mismatch_deletes_the_copy_and_raises(
    sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "table.csv"
    local.write_text("".join(LENDING.read_text().splitlines(keepends=True)[:50]))
    corrupt = tmp_path / "corrupt.csv"
    corrupt.write_bytes(local.read_bytes()[:-10] + b"0000000000")
    real_upload = RemoteHost.upload

    def flip(self: RemoteHost, source: Path, remote: str, on_bytes=None) -> None:  # noqa: ANN001
        real_upload(self, corrupt, remote, on_bytes)

    monkeypatch.setattr(RemoteHost, "upload", flip)
    dest = tmp_path / "remote"
    with RemoteHost(sshd.target(host="h9"), sshd.known_hosts) as host, pytest.raises(HostError) as err:
        place_file(host, local, str(dest))
    assert "h9" in str(err.value) and "SHA-256" in str(err.value)
    assert list(dest.iterdir()) == [], "the mismatching temporary copy must be deleted"


def test_place_many_puts_each_file_only_in_its_partys_dir(sshd: Sshd, tmp_path: Path) -> None:
    files = {}
    lines = LENDING.read_text().splitlines(keepends=True)
    for pid, (start, stop) in {"9999": (1, 101), "9998": (101, 251)}.items():
        files[pid] = tmp_path / f"train_p{pid}.csv"
        files[pid].write_text(lines[0] + "".join(lines[start:stop]))
    dirs = {pid: str(tmp_path / f"host{pid}") for pid in files}
    remote = RemoteCluster([sshd.target(9999, "hA"), sshd.target(9998, "hB")], sshd.known_hosts)
    with remote:
        placed = remote.place_many([(pid, path) for pid, path in files.items()], dirs)
    assert [(p.party_id, p.rows) for p in placed] == [("9999", 100), ("9998", 150)]
    for pid, path in files.items():
        assert sorted(p.name for p in Path(dirs[pid]).iterdir()) == [path.name]
        assert sha256(Path(dirs[pid]) / path.name) == sha256(path)


# ------------------------------------------------------------------------------------ host checks
def test_wrong_host_key_is_refused_naming_the_host(sshd: Sshd, tmp_path: Path) -> None:
    other = keygen(tmp_path / "impostor")
    bad = tmp_path / "known_hosts"
    bad.write_text(f"[127.0.0.1]:{sshd.port} ssh-ed25519 {other}\n")
    with pytest.raises(HostError) as err:
        RemoteHost(sshd.target(9998, "lab-h3"), bad).connect()
    message = str(err.value)
    assert "lab-h3" in message and "party 9998" in message and "does not match" in message
    assert bad.read_text() == f"[127.0.0.1]:{sshd.port} ssh-ed25519 {other}\n", "known_hosts must not change"


def test_unknown_host_is_refused_not_added(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostError, match="no key for 127.0.0.1"):
        RemoteHost(sshd.target(), empty).connect()
    assert empty.read_text() == ""


def test_preflight_failure_moves_no_data_to_any_host(sshd: Sshd, tmp_path: Path) -> None:
    local = tmp_path / "t.csv"
    local.write_text("a,b\n1,2\n")
    closed = free_port()  # nothing listens there once the probe socket is closed
    remote = RemoteCluster(
        [sshd.target(9999, "good"), sshd.target(10000, "gone", port=closed)], sshd.known_hosts
    )
    dirs = {"9999": str(tmp_path / "good"), "10000": str(tmp_path / "gone")}
    with pytest.raises(HostError) as err:
        remote.place_many([("9999", local), ("10000", local)], dirs)
    assert "gone" in str(err.value) and "party 10000" in str(err.value) and "unreachable" in str(err.value)
    assert not (tmp_path / "good").exists(), "the reachable host must not receive anything"


def test_failed_remote_command_raises_host_error(sshd: Sshd) -> None:
    with RemoteHost(sshd.target(), sshd.known_hosts) as host, pytest.raises(HostError, match="exited 3"):
        host.run("echo oops >&2; exit 3")


# ------------------------------------------------------------------------------------ no sshd needed
def _inventory(tmp_path: Path, group_vars: dict) -> Path:
    hosts = {
        f"h{i}": {"ansible_host": f"10.0.0.{i}", "party_id": pid} for i, pid in enumerate((9999, 9998), 1)
    }
    doc = {"all": {"children": {"fate_parties": {"hosts": hosts, "vars": group_vars}}}}
    path = tmp_path / "inventory" / "x.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_known_hosts_resolution_order(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit_kh"
    explicit.write_text("")
    common = tmp_path / "common_kh"
    common.write_text("")
    args = f"-o UserKnownHostsFile={common} -o StrictHostKeyChecking=yes"
    both = _inventory(tmp_path, {"fatelab_known_hosts": str(explicit), "ansible_ssh_common_args": args})
    assert known_hosts_path(load_inventory(both), both) == explicit
    only_args = _inventory(tmp_path, {"ansible_ssh_common_args": args})
    assert known_hosts_path(load_inventory(only_args), only_args) == common
    relative = _inventory(tmp_path, {"fatelab_known_hosts": "../explicit_kh"})
    assert known_hosts_path(load_inventory(relative), relative) == explicit.resolve()


def test_missing_known_hosts_is_a_config_error(tmp_path: Path) -> None:
    path = _inventory(tmp_path, {"fatelab_known_hosts": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match="does not exist"):
        known_hosts_path(load_inventory(path), path)


def test_target_from_party_reads_ansible_vars() -> None:
    cluster = cluster_from_mapping(
        {
            "all": {
                "hosts": {
                    "a": {
                        "ansible_host": "10.0.0.1",
                        "party_id": 1,
                        "ansible_user": "ops",
                        "ansible_port": 2222,
                    },
                    "b": {"ansible_host": "10.0.0.2", "party_id": 2, "ansible_ssh_private_key_file": "k"},
                }
            }
        }
    )
    a, b = (SSHTarget.from_party(p, base_dir=Path("/inv")) for p in cluster.parties)
    assert (a.user, a.port, a.key_file) == ("ops", 2222, None)
    assert b.key_file == Path("/inv/k") and b.port == 22
    assert "party 2" in b.label


def test_describe_local_counts_rows_without_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\n3,4")
    info = describe_local(path)
    assert (info.rows, info.bytes) == (2, 11)
    assert info.sha256 == hashlib.sha256(b"a,b\n1,2\n3,4").hexdigest()
