"""A real Spark standalone cluster on loopback (one master, N workers) for tests and local runs.

The daemons are the pyspark distribution's own (``bin/spark-class ...deploy.master.Master`` and
``...deploy.worker.Worker``), the same ones the ``spark`` Ansible role runs as services on party hosts.
Each runs in its own session with its own ports (free ones, so parallel runs do not collide), its logs
and work dir under ``work_dir``; leaving the context stops both process groups (executors included).

``python -m harness.engines.fate22.spark_cluster --work-dir DIR`` keeps one up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import EngineError

HOST = "127.0.0.1"
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class LocalSpark:
    master_url: str
    ui_url: str
    work_dir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL one worker and its executors (a host going away), for fault tests."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[index].pid, signal.SIGKILL)

    def state(self) -> dict[str, Any]:
        """The master's own view (workers, running and completed applications), from its JSON endpoint."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=10) as answer:  # noqa: S310 - loopback URL
            return json.loads(answer.read())


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError as exc:
        raise EngineError("pyspark is not installed in this Python", hint="make setup-spark") from exc
    return Path(pyspark.__path__[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def daemon(cls: str, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [str(spark_home() / "bin" / "spark-class"), f"org.apache.spark.deploy.{cls}", *args]
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed argv
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def wait_for_workers(cluster: LocalSpark, workers: int, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        dead = [p.args for p in processes if p.poll() is not None]
        if dead:
            raise EngineError(f"a Spark daemon exited during start-up: {dead}", hint=f"logs in {cluster.work_dir}")
        with contextlib.suppress(OSError, ValueError):
            if cluster.state().get("aliveworkers", 0) >= workers:
                return
        time.sleep(1.0)
    raise EngineError(
        f"the local Spark master did not see {workers} worker(s) within {START_TIMEOUT:.0f} s",
        hint=f"logs in {cluster.work_dir}",
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the daemon's group (a worker's executors are in it), SIGKILL what is left after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def local_spark(work_dir: Path, *, workers: int = 1, cores: int = 1, memory: str = "1g") -> Iterator[LocalSpark]:
    """Master + ``workers`` workers on loopback; stopped on exit whatever happened inside."""
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    port, ui_port = free_port(), free_port()
    cluster = LocalSpark(f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}", work_dir)
    # Bind to loopback whatever the default route says (Spark otherwise picks the first external address).
    env = {**os.environ, "SPARK_LOCAL_IP": HOST, "SPARK_LOG_DIR": str(work_dir / "logs"), "SPARK_DAEMON_MEMORY": "256m"}
    processes = [
        daemon("master.Master", ["--host", HOST, "--port", str(port), "--webui-port", str(ui_port)],
               work_dir / "master.log", env)
    ]
    try:
        for n in range(workers):
            args = ["--host", HOST, "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                    "--work-dir", str(work_dir / f"worker{n}"), cluster.master_url]
            processes.append(daemon("worker.Worker", args, work_dir / f"worker{n}.log", env))
            cluster.workers.append(processes[-1])
        wait_for_workers(cluster, workers, processes)
        yield cluster
    finally:
        for process in reversed(processes):
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with local_spark(args.work_dir, workers=args.workers) as cluster:
        print(f"[fatelab] Spark master {cluster.master_url}, UI {cluster.ui_url}; Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
