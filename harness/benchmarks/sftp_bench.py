"""SFTP placement throughput vs raw ``ssh host 'cat > file'``, to the inventory's hosts in parallel.

Every round sends the same incompressible file to every host at once and includes opening the
connection (each ssh process does its own handshake too). Modes:

- ``ssh-cat``: OpenSSH client, ``cat > file`` on the host: the ceiling for one SSH stream;
- ``sftp-tuned``: harness.hosts.ssh's upload (pipelined 255 KiB writes, large windows);
- ``sftp-default``: paramiko's ``putfo`` as shipped (32 KiB writes), to show what the tuning buys;
- ``place``: the harness's full placement (existence check, upload, remote sha256sum, atomic mv).

Usage: ``python -m harness.benchmarks.sftp_bench --inventory ansible/inventory/lab.yml --mib 64``.
Target: sftp-tuned / ssh-cat >= 0.7 in aggregate throughput.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.hosts.inventory import load_inventory
from harness.hosts.ssh import RemoteHost, SSHTarget, known_hosts_path
from harness.hosts.transfer import RemoteCluster


def ssh_cat(target: SSHTarget, known_hosts: Path, local: Path, remote: str) -> None:
    args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    args += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
    args += ["-p", str(target.port)]
    if target.key_file:
        args += ["-i", str(target.key_file), "-o", "IdentitiesOnly=yes"]
    args += [f"{target.user}@{target.address}", f"cat > {shlex.quote(remote)}"]
    with local.open("rb") as source:
        subprocess.run(args, stdin=source, check=True, capture_output=True, timeout=600)


def sftp_tuned(target: SSHTarget, known_hosts: Path, local: Path, remote: str) -> None:
    with RemoteHost(target, known_hosts) as host:
        host.upload(local, remote)


def sftp_default(target: SSHTarget, known_hosts: Path, local: Path, remote: str) -> None:
    """Paramiko as it comes: default transport windows, one plain ``putfo``."""
    with RemoteHost(target, known_hosts, tuned=False) as host:
        sftp = host.client.open_sftp()
        try:
            with local.open("rb") as source:
                sftp.putfo(source, remote, confirm=False)
        finally:
            sftp.close()


Sender = Callable[[SSHTarget, Path, Path, str], None]


def timed_round(send: Sender, targets: list[SSHTarget], known_hosts: Path, local: Path, remote: str) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        for future in [pool.submit(send, t, known_hosts, local, remote) for t in targets]:
            future.result()
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--inventory", type=Path, default=Path("ansible/inventory/lab.yml"))
    parser.add_argument("--mib", type=int, default=64, help="file size per host (MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per mode; the median is reported")
    parser.add_argument("--remote-dir", default="/tmp/fatelab-sftp-bench")
    parser.add_argument("--modes", default="ssh-cat,sftp-tuned,sftp-default,place")
    args = parser.parse_args(argv)

    cluster = load_inventory(args.inventory)
    known_hosts = known_hosts_path(cluster, args.inventory)
    remote = RemoteCluster.from_inventory(cluster, args.inventory)
    remote.preflight()  # host keys verified before anything is sent
    targets = list(remote.targets.values())
    qdir = shlex.quote(args.remote_dir)
    for t in targets:
        remote.host(t.party_id).run(f"rm -rf -- {qdir} && mkdir -p -m 0700 -- {qdir}")

    modes: dict[str, Sender] = {"ssh-cat": ssh_cat, "sftp-tuned": sftp_tuned, "sftp-default": sftp_default}
    wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "payload.bin"
        with local.open("wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(1024 * 1024))
        print(f"{len(targets)} hosts in parallel, {args.mib} MiB each, median of {args.repeat} rounds")
        times: dict[str, list[float]] = {mode: [] for mode in wanted}
        # Modes alternate within each round so that load from other work on the machine hits all alike.
        for index in range(args.repeat):
            for mode in wanted:
                if mode == "place":
                    # A fresh name per round: placement skips a file already there.
                    copy = Path(tmp) / f"payload{index}.bin"
                    os.link(local, copy)
                    started = time.monotonic()
                    remote.place_many([(t.party_id, copy) for t in targets], args.remote_dir)
                    times[mode].append(time.monotonic() - started)
                else:
                    target_path = f"{args.remote_dir}/{mode}-{index}.bin"
                    times[mode].append(timed_round(modes[mode], targets, known_hosts, local, target_path))
                for t in targets:
                    remote.host(t.party_id).run(f"rm -f -- {qdir}/*")
        results = {mode: statistics.median(values) for mode, values in times.items()}
        for t in targets:
            remote.host(t.party_id).run(f"rm -rf -- {qdir}")
    remote.close()

    base = results.get("ssh-cat")
    print(f"{'mode':<14}{'seconds':>9}{'MiB/s (all hosts)':>19}{'vs ssh-cat':>12}")
    for mode, seconds in results.items():
        rate = len(targets) * args.mib / seconds
        ratio = f"{base / seconds:.2f}" if base else "-"
        print(f"{mode:<14}{seconds:>9.2f}{rate:>19.1f}{ratio:>12}")
    if base and "sftp-tuned" in results:
        ratio = base / results["sftp-tuned"]
        print(f"sftp-tuned / ssh-cat throughput ratio: {ratio:.2f} (target >= 0.70)")
        return 0 if ratio >= 0.7 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
