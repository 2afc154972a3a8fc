"""Which directories on a party's host the harness may create and write data into.

The data directory comes from the inventory (``fatelab_remote_data_dir``, ``kubefate_deploy_dir``) and
the harness runs its commands there as the inventory's SSH user, usually root. A typo or a hostile
inventory must not make it create, chgrp or fill a system directory, so the path is checked here,
on the controller, before any host is contacted.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from harness.errors import ConfigError

# Never a data directory, nor anything below them: the OS, its packages, its kernel interfaces.
SYSTEM_TREES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr",
)  # fmt: skip
# Their direct children are shared or system places (/var/lib, /home/alice, a mount point): a data
# directory may live below one of those, never be one. /srv/x, /opt/x, /data/x, /tmp/x are dedicated
# enough (one that someone else created first is refused on the host: see harness/hosts/transfer.py).
SHARED_PARENTS = ("/home", "/var", "/mnt", "/media")
_HINT = "use a dedicated directory such as /var/lib/fatelab/data (the default)"


def check_remote_dir(path: str, what: str = "remote data directory") -> str:
    """``path`` normalised (no trailing slash) if it is a safe data directory; ConfigError otherwise."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{what} must be an absolute path, got {path!r}", hint=_HINT)
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ConfigError(f"{what} {path!r} contains control characters", hint=_HINT)
    if not path.startswith("/"):
        raise ConfigError(f"{what} must be an absolute path, got {path!r}", hint=_HINT)
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        # Refused rather than resolved: the host may resolve symlinks differently from this machine.
        raise ConfigError(f"{what} {path!r} contains '.' or '..'", hint=_HINT)
    normal = str(PurePosixPath("/", *parts))
    if _is_system_dir(normal):
        raise ConfigError(
            f"{what} {normal} is a system directory; refusing to create, chgrp or write into it", hint=_HINT
        )
    return normal


def _is_system_dir(normal: str) -> bool:
    depth = normal.count("/") if normal != "/" else 0
    if depth <= 1:
        return True  # "/" and every top-level directory
    if any(normal == tree or normal.startswith(tree + "/") for tree in SYSTEM_TREES):
        return True
    return depth == 2 and str(PurePosixPath(normal).parent) in SHARED_PARENTS


def create_dir_script(directory: str, group: str) -> str:
    """Shell lines that create ``directory`` (0750, ``group``) or check the existing one; exit 1 otherwise."""
    # mkdir without -p on the last component fails if something appeared there meanwhile, so the
    # chgrp can only reach the directory this very command created. An existing one is used as it is,
    # if it belongs to the SSH user or root.
    d, parent, g = shlex.quote(directory), shlex.quote(str(PurePosixPath(directory).parent)), shlex.quote(group)
    return (
        f"if [ ! -e {d} ] && [ ! -L {d} ]; then "
        f"mkdir -p -- {parent} && mkdir -m 0750 -- {d} && {{ ! getent group {g} >/dev/null || chgrp {g} -- {d}; }} "
        f"|| exit 1; "
        f"elif [ ! -d {d} ]; then echo {d}: exists and is not a directory >&2; exit 1; "
        # Someone else's directory (pre-created in /tmp, say) could swap the files FATE reads.
        f'elif [ ! -O {d} ] && [ "$(stat -c %u -- {d})" != 0 ]; then '
        f"echo {d}: exists and belongs to another user >&2; exit 1; fi"
    )
