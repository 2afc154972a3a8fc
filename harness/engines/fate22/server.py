"""Lifecycle of the embedded FATE-Flow 2.2 server (the standalone engine's one process).

FATE-Flow keeps its paths in its own ``settings.py`` inside site-packages and is normally driven by
``fate_flow init/start`` and a shell script that needs lsof. We keep all state under a project-local
home (``.fatelab/flow``), point the package's settings at it (the project venv is ours, so editing
it is contained), and start the server process ourselves so a pid file and a readiness probe let
us tell "running", "stale" (pid file, dead process) and "unresponsive" (alive, not answering) apart
and recover from the last two.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.engines.fate22 import auth as flow_auth
from harness.errors import EngineError

READY_PATH = "/v2/site/info/query"
# Client and site authentication on, checked by our hook module (harness/engines/fate22/auth.py): another
# local user reaching 127.0.0.1 must not make the server read or return files as the harness's user.
AUTH_CONF = {"client": True, "site": True, "permission": False}
HOOK_MODULE = "harness.engines.fate22.auth"
PORT_VARIABLE = "FATELAB_FLOW_PORT"


def default_flow_port() -> int:
    """9380 (FATE's own default) unless FATELAB_FLOW_PORT says otherwise.

    On a shared server another user's FATE-Flow may hold 9380; one variable moves every command and
    the test suite of this checkout (gRPC on the port minus 20, as FATE pairs 9380/9360).
    """
    value = os.environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return 9380
    if not value.isdigit() or not 1044 <= int(value) <= 65535:
        raise EngineError(
            f"{PORT_VARIABLE}={value!r} is not a usable port",
            hint="a number from 1044 to 65535 (the gRPC port is 20 below it)",
        )
    return int(value)


@dataclass(frozen=True)
class FlowStatus:
    state: str  # "running" | "stopped" | "stale" | "unresponsive"
    pid: int | None
    endpoint: str
    detail: str = ""

    def line(self) -> str:
        pid = f" pid {self.pid}" if self.pid else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"FATE-Flow {self.state} at {self.endpoint}{pid}{extra}"


class LocalFlowServer:
    """One FATE-Flow server on this machine, all of whose state lives under ``home``."""

    def __init__(
        self,
        home: Path,
        *,
        host: str = "127.0.0.1",
        http_port: int | None = None,
        grpc_port: int | None = None,
        party_id: str = "9999",
        cores: int = 4,
        job_cores: int = 1,
        python: Path | None = None,
    ) -> None:
        self.home = home.resolve()
        self.host = host
        self.http_port = http_port or default_flow_port()
        self.grpc_port = grpc_port or self.http_port - 20
        self.party_id = party_id
        self.cores = cores
        self.job_cores = job_cores
        self.python = Path(python or sys.executable)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "flow.pid"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def keys_file(self) -> Path:
        return self.home / "conf" / flow_auth.KEYS_FILE

    def client_key(self) -> str:
        """The key the harness signs its requests with (created by configure())."""
        try:
            return str(flow_auth.read_keys(self.keys_file)["client"])
        except (OSError, ValueError) as exc:
            raise EngineError(
                f"cannot read the embedded FATE-Flow's keys ({exc})",
                hint="'fatelab engine stop' then start again: the keys file is recreated",
            ) from exc

    def _package_dir(self) -> Path:
        out = subprocess.run(
            [str(self.python), "-c", "import fate_flow, os; print(os.path.dirname(fate_flow.__file__))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise EngineError(
                "FATE-Flow 2.2 is not installed in the project environment.",
                hint="run 'make setup' (it installs FATE 2.2 into .venv).",
            )
        return Path(out.stdout.strip())

    # -- configuration -------------------------------------------------------------------------
    def configure(self) -> None:
        """Point the installed FATE-Flow at ``home`` and write its service config (idempotent)."""
        package = self._package_dir()
        # The home holds every party's tables and the keys: the harness's user only.
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)
        (self.home / "upload").mkdir(exist_ok=True)
        # FATE's own init code does the settings rewrite; calling it keeps us in step with the
        # installed version instead of re-implementing its regexes.
        script = (
            "import sys; from fate_flow.commands.server_cli import replace_settings; "
            "replace_settings(sys.argv[1], sys.argv[2])"
        )
        subprocess.run(
            [str(self.python), "-c", script, str(self.home), str(self.home / "upload")],
            check=True,
            capture_output=True,
        )
        conf = self.home / "conf"
        if not conf.exists():
            shutil.copytree(package / "conf", conf)
        service_conf = conf / "service_conf.yaml"
        config = yaml.safe_load(service_conf.read_text())
        config["party_id"] = self.party_id
        config["fateflow"].update(host=self.host, http_port=self.http_port, grpc_port=self.grpc_port)
        config.setdefault("computing", {}).setdefault("standalone", {})["cores"] = self.cores
        config["authentication"] = dict(AUTH_CONF)
        hooks = config.setdefault("hook_module", {})
        hooks.update(client_authentication=HOOK_MODULE, site_authentication=HOOK_MODULE)
        service_conf.write_text(yaml.safe_dump(config, sort_keys=False))
        self._ensure_keys()
        # Each job reserves job_cores from the pool of `cores` per party; FATE's default of 4 lets only
        # one upload run at a time. One core and one partition per job suit small tables on few CPUs.
        job_conf_path = conf / "job_default_config.yaml"
        job_conf = yaml.safe_load(job_conf_path.read_text())
        job_conf.update(job_cores=self.job_cores, computing_partitions=1)
        job_conf.setdefault("task_run", {}).setdefault("standalone", {})["cores"] = self.job_cores
        job_conf_path.write_text(yaml.safe_dump(job_conf, sort_keys=False))

    def _ensure_keys(self) -> None:
        """One client key and one site key for all parties (this server serves them all), kept across starts."""
        try:
            flow_auth.read_keys(self.keys_file)
        except (OSError, ValueError):
            flow_auth.write_keys(self.keys_file, self.party_id, flow_auth.new_key(), {"*": flow_auth.new_key()})

    def fingerprint(self) -> str:
        return json.dumps(
            [self.host, self.http_port, self.grpc_port, self.party_id, self.cores, self.job_cores, str(self.python)]
            + [HOOK_MODULE, sorted(AUTH_CONF.items())]
            # A server started another way (before flow_main existed) is restarted through it.
            + ["harness.engines.fate22.flow_main"]
        )

    def _started_with(self) -> str | None:
        try:
            return (self.home / "flow.settings").read_text()
        except FileNotFoundError:
            return None

    # -- state ---------------------------------------------------------------------------------
    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie child of ours still answers kill(0); treat it as dead.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            return stat.split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def ping(self, timeout: float = 3.0) -> dict | None:
        url = f"http://{self.endpoint}{READY_PATH}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
                return json.loads(response.read().decode())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def status(self) -> FlowStatus:
        pid = self._read_pid()
        answer = self.ping()
        if pid is None:
            if answer is not None:
                return FlowStatus("unresponsive", None, self.endpoint, "port answered by a server we did not start")
            return FlowStatus("stopped", None, self.endpoint)
        if not self._alive(pid):
            return FlowStatus("stale", pid, self.endpoint, "pid file left by a dead server")
        if answer is None:
            return FlowStatus("unresponsive", pid, self.endpoint, "process alive but not answering")
        if "standalone" in str(answer.get("message", "")).lower():
            # A standalone flow has no site identity: it serves every party of a job itself.
            return FlowStatus("running", pid, self.endpoint, "standalone")
        if answer.get("code") != 0:
            return FlowStatus("unresponsive", pid, self.endpoint, str(answer.get("message")))
        served = str(answer.get("data", {}).get("party_id"))
        if served != self.party_id:
            return FlowStatus("unresponsive", pid, self.endpoint, f"serves party {served}")
        return FlowStatus("running", pid, self.endpoint)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> FlowStatus:
        current = self.status()
        if current.state == "running" and self._started_with() == self.fingerprint():
            return current
        if current.state == "running":
            # Started with other settings (port, cores, ...): FATE-Flow reads them only at start.
            self.stop()
        if current.state in ("stale", "unresponsive"):
            self.stop()
        if self.ping() is not None:
            raise EngineError(
                f"Port {self.endpoint} is answered by a FATE-Flow this project did not start.",
                hint="stop that server (fatelab engine stop, from the checkout that started it), or pass --port.",
            )
        self.configure()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Task workers run "python" from PATH in some code paths: make it this venv's.
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("PYTHONUNBUFFERED", "1")
        server = self._package_dir() / "fate_flow_server.py"
        with open(self.log_dir / "console.log", "ab") as out, open(self.log_dir / "error.log", "ab") as err:
            process = subprocess.Popen(  # noqa: S603 (fixed argv)
                # FATE's server script, through flow_main (longer self-call timeouts: see there).
                [str(self.python), "-m", "harness.engines.fate22.flow_main", str(server)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=self.home,
                env=env,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        (self.home / "flow.settings").write_text(self.fingerprint())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise EngineError(
                    f"FATE-Flow exited during start-up (code {process.returncode}).\n{self.tail_errors()}",
                    hint=f"see {self.log_dir}/error.log",
                )
            state = self.status()
            if state.state == "running":
                return state
            time.sleep(0.5)
        self.stop()
        raise EngineError(
            f"FATE-Flow did not answer on {self.endpoint} within {timeout:.0f} s.\n{self.tail_errors()}",
            hint=f"see {self.log_dir}/error.log; is the port free?",
        )

    def stop(self, timeout: float = 20.0) -> None:
        pid = self._read_pid()
        if pid is not None and self._alive(pid):
            # The server and its task workers share the session we started it in.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and self._alive(pid):
                    time.sleep(0.2)
                if not self._alive(pid):
                    break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        self.pid_file.unlink(missing_ok=True)

    def tail_errors(self, lines: int = 20) -> str:
        path = self.log_dir / "error.log"
        if not path.exists():
            return "(no error log)"
        text = path.read_text(errors="replace").splitlines()
        wanted = [line for line in text if "No module named 'bfia'" not in line]
        return "\n".join(wanted[-lines:])
