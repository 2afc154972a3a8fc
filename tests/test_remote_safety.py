"""What the harness may do on a party's host: which directories, which modes, which groups.

The real-SSH cases run against the loopback sshd of tests/test_remote.py and read the outcome from the
local filesystem and from OpenSSH sftp-server's own request log, not from the code under test.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import pytest

from harness.errors import ConfigError, HostError
from harness.hosts.remote_paths import check_remote_dir
from harness.hosts.ssh import RemoteHost
from harness.hosts.transfer import RemoteCluster, place_file
from tests import test_remote
from tests.test_remote import LENDING, Sshd, free_port

sshd = test_remote.sshd  # the module-scoped loopback sshd fixture, registered in this module too


# ------------------------------------------------------------------------------------ which directory
@pytest.mark.parametrize(
    "path",
    [
        "/", "/etc", "/etc/fatelab", "/usr/local/fatelab", "/bin", "/var", "/var/lib", "/home", "/home/alice",
        "/tmp", "/root", "/data", "/proc/self", "/run/fatelab", "/var/lib/../../etc", "/var/lib/fatelab/./data",
        "relative/dir", "", "/var/lib/fatelab\n/etc", "/mnt/usb", "/var/log", "/var/tmp",
    ],
)  # fmt: skip
def test_unsafe_data_dirs_are_refused(path: str) -> None:
    with pytest.raises(ConfigError, match="remote data directory"):
        check_remote_dir(path)


@pytest.mark.parametrize(
    "path, normal",
    [
        ("/var/lib/fatelab/data", "/var/lib/fatelab/data"),
        ("/var/lib/fatelab/data/", "/var/lib/fatelab/data"),
        ("/data/projects/fate/confs-9999/shared_dir/examples/fatelab", None),
        ("/home/fate/fatelab", None),
        ("/srv//fatelab", "/srv/fatelab"),
        ("/tmp/fatelab-sftp-bench", None),
    ],
)
def test_dedicated_data_dirs_pass(path: str, normal: str | None) -> None:
    assert check_remote_dir(path) == (normal or path)


def test_bad_dir_is_refused_before_any_host_is_contacted(tmp_path: Path) -> None:
    local = tmp_path / "t.csv"
    local.write_text("a,b\n1,2\n")
    # Nothing listens on either port: reaching the hosts would be a HostError, not a ConfigError.
    from harness.hosts.ssh import SSHTarget

    targets = [SSHTarget(pid, f"h{pid}", "127.0.0.1", "nobody", free_port()) for pid in ("9999", "9998")]
    remote = RemoteCluster(targets, tmp_path / "known_hosts")
    with pytest.raises(ConfigError, match="/etc is a system directory"):
        remote.place_many([("9999", local), ("9998", local)], {"9999": str(tmp_path / "ok"), "9998": "/etc"})


def test_dotdot_dir_creates_nothing_on_the_host(sshd: Sshd, tmp_path: Path) -> None:
    with RemoteHost(sshd.target(), sshd.known_hosts) as host, pytest.raises(ConfigError, match=r"'\.\.'"):
        place_file(host, LENDING, str(tmp_path / "a" / ".." / "escaped"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "escaped").exists()


# ------------------------------------------------------------------------------------ which group and mode
def _other_group(path: Path) -> str:
    """A group the test user may chgrp to that ``path`` does not have already."""
    current = path.stat().st_gid
    candidates = [g.gr_gid for g in grp.getgrall()] if os.geteuid() == 0 else os.getgroups()
    for gid in candidates:
        if gid != current:
            return grp.getgrgid(gid).gr_name
    pytest.skip("the test user belongs to only one group; cannot observe a chgrp")


def test_existing_dir_keeps_its_group_and_mode(sshd: Sshd, tmp_path: Path) -> None:
    existing = tmp_path / "shared"
    existing.mkdir()
    existing.chmod(0o755)
    before = existing.stat()
    group = _other_group(existing)
    with RemoteHost(sshd.target(), sshd.known_hosts) as host:
        place_file(host, LENDING, str(existing), group=group)
    after = existing.stat()
    assert (after.st_gid, stat.S_IMODE(after.st_mode)) == (before.st_gid, 0o755), "the harness did not create it"
    assert (existing / LENDING.name).read_bytes() == LENDING.read_bytes()


def test_dir_the_harness_creates_gets_the_group_and_0750(sshd: Sshd, tmp_path: Path) -> None:
    group = _other_group(tmp_path)
    created = tmp_path / "new" / "data"
    with RemoteHost(sshd.target(), sshd.known_hosts) as host:
        placed = place_file(host, LENDING, str(created), group=group)
    assert grp.getgrgid(created.stat().st_gid).gr_name == group
    assert stat.S_IMODE(created.stat().st_mode) == 0o750
    placed_file = Path(placed.remote_path)
    assert grp.getgrgid(placed_file.stat().st_gid).gr_name == group
    assert stat.S_IMODE(placed_file.stat().st_mode) == 0o640


def test_someone_elses_existing_dir_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a directory to another user")
    planted = tmp_path / "planted"
    planted.mkdir()
    os.chown(planted, 65534, 65534)  # nobody
    with RemoteHost(sshd.target(), sshd.known_hosts) as host, pytest.raises(HostError, match="another user"):
        place_file(host, LENDING, str(planted))
    assert list(planted.iterdir()) == []


def test_a_file_where_the_dir_should_be_is_an_error(sshd: Sshd, tmp_path: Path) -> None:
    squatter = tmp_path / "data"
    squatter.write_text("not a directory")
    with RemoteHost(sshd.target(), sshd.known_hosts) as host, pytest.raises(HostError, match="not a directory"):
        place_file(host, LENDING, str(squatter))
    assert squatter.read_text() == "not a directory"


# ------------------------------------------------------------------------------------ upload
def test_upload_creates_the_file_0600_in_the_open_request(sshd: Sshd, tmp_path: Path) -> None:
    if sshd.sftp_log is None:
        pytest.skip("OpenSSH's sftp-server binary is not installed; internal-sftp keeps no request log")
    dest = tmp_path / "private"
    with RemoteHost(sshd.target(), sshd.known_hosts) as host:
        place_file(host, LENDING, str(dest))
    log = [line for line in sshd.sftp_log.read_text().splitlines() if str(dest) in line]
    opens = [line for line in log if line.startswith("open ")]
    assert len(opens) == 1, log
    assert opens[0].endswith("mode 0600") and "EXCL" in opens[0], opens[0]
    assert not [line for line in log if line.startswith("set ")], f"no chmod after creation: {log}"


def test_upload_refuses_a_planted_symlink(sshd: Sshd, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    planted = tmp_path / ".upload.part"
    planted.symlink_to(victim)
    with RemoteHost(sshd.target(), sshd.known_hosts) as host, pytest.raises(OSError):
        host.upload(LENDING, str(planted))
    assert victim.read_text() == "keep me"
