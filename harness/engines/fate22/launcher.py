"""FATE 2.2 without FATE-Flow: every federated fit of a run in one launch of FATE's multi-process launcher.

``fatelab experiment --engine launcher``. The party processes (one per role and party of any fit)
start once per run and import torch and FATE once; every fit then runs inside them with FATE's own
``HomoLRClient``/``HomoLRServer`` and FATE's standalone federation between the processes
(:mod:`harness.engines.fate22.launcher_party`). Same FATE code as a FATE-Flow job, without the scheduler:
a FATE-Flow job spends about a minute scheduling a fit that trains in seconds.

What this engine promises, like the others: ``upload_many`` then ``run_many`` return the guest's
test scores per job. "Upload" only records each party's CSV (the launcher reads it in that party's
own process); the tables never leave this machine. The launch runs under a timeout (a party
process that dies silently would hang FATE's own wait), its output goes to ``launch.log`` and is
shown only when the launch fails, and its LMDB state lives under ``.fatelab/`` (FATE's default is
inside the virtualenv).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.engines.base import FitJob, JobResult, Table, UploadRequest
from harness.engines.fate22 import mapping
from harness.engines.fate22.homo_nn import family
from harness.engines.fate22.launcher_lanes import LaneProgress, deal, launch_record, merge_in_order, run_lanes
from harness.engines.fate22.launcher_party import OUTCOME
from harness.engines.fate22.launcher_validation import ReferenceFit
from harness.engines.fate22.spark import SparkComputing
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.fate22.wire import fit_traffic
from harness.errors import EngineError
from harness.model.logreg import HomoLRSettings
from harness.progress import CountProgress, Progress

NAMESPACE = "launcher"
LAUNCH_TIMEOUT = 3600.0
LOG_TAIL = 60
POLL_SECONDS = 0.25  # a finished launch is noticed within this; each poll also counts the fits done
# Launches at once for HomoLR fits (launcher_lanes): a second one fills some of the first's federation waits.
DEFAULT_LANES = 2


def launch_parties(jobs: Sequence[FitJob]) -> list[tuple[str, str]]:
    """Every (role, party) any job needs, once: guests, then hosts, then arbiters."""
    found: dict[tuple[str, str], None] = {}
    for role in ("guest", "host", "arbiter"):
        for job in jobs:
            for party in job.roles.party_roles():
                if party[0] == role:
                    found[party] = None
    return list(found)


def build_plan(
    jobs: Sequence[tuple[str, FitJob]],
    paths: Mapping[tuple[str, str], Path],
    *,
    session: str,
    out_dir: Path,
    spark: Mapping[str, SparkComputing] | None = None,
) -> dict[str, Any]:
    """What every party process reads: the fits in order, each party's CSVs, FATE's HomoLR parameters,
    and the Spark settings of each party that computes on Spark."""

    def path_of(table: Table) -> str:
        key = (table.party_id, table.name)
        if key not in paths:
            raise EngineError(
                f"table {table.name} of party {table.party_id} was not registered with the launcher engine",
                hint="call upload_many with every table before run_many",
            )
        return str(paths[key])

    fits = []
    for index, (what, job) in enumerate(jobs):
        fits.append(
            {
                "index": index,
                "what": what,
                "parties": [list(p) for p in job.roles.party_roles()],
                "train": {p: path_of(t) for p, t in job.train.items()},
                "test": {p: path_of(t) for p, t in job.test.items()},
                "family": family(job),
                "params": mapping.fit_params(job),
                "label": job.label,
                "id_column": job.id_column,
            }
        )
    plan: dict[str, Any] = {"session": session, "out_dir": str(out_dir), "fits": fits}
    if spark:
        plan["spark"] = {party: computing.to_plan() for party, computing in spark.items()}
    return plan


def launch_command(
    plan_path: Path,
    parties: Sequence[tuple[str, str]],
    data_dir: Path,
    session: str,
    timeout: float = LAUNCH_TIMEOUT,
    module: str = "harness.engines.fate22.launcher_party",
) -> list[str]:
    """``module`` runs every party (launcher_party's ``main``, or another study's, e.g. harness.security)."""
    return [
        sys.executable,
        "-m",
        module,
        "--plan",
        str(plan_path),
        "--parties",
        *(f"{role}:{party}" for role, party in parties),
        "--data_dir",
        str(data_dir),
        # Without it FATE's children die parsing their arguments (and the parent would wait forever).
        "--log_level",
        "WARNING",
        "--federation_session_id",
        session,
        # The parent gives up on its own too: it outlives us if we are killed with SIGKILL.
        "--timeout",
        str(timeout),
    ]


def fits_done(out_dir: Path, fits: int) -> int:
    return sum(1 for i in range(fits) if (out_dir / f"fit{i}" / "model.json").exists())


def log_tail(log_path: Path, lines: int = LOG_TAIL) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no launch log)"
    return "\n".join(text.splitlines()[-lines:])


def outcome(log_path: Path) -> str:
    """The launcher parent's one-line verdict (which party failed and how), if it got to say it."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "no launch log"
    said = [line[len(OUTCOME) :] for line in lines if line.startswith(OUTCOME)]
    return said[-1] if said else "the launcher said nothing (see the log below)"


def run_launch(
    command: Sequence[str],
    *,
    log_path: Path,
    timeout: float,
    on_poll: Callable[[], None] = lambda: None,
    env: Mapping[str, str] | None = None,
) -> float:
    """Run one launch to its end within ``timeout``; its whole process group dies with it on any failure.

    Returns the launch's wall seconds. A failed or timed-out launch raises EngineError with the tail
    of its log (FATE's traceback of the failing party is in it).
    """
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            list(command), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
        try:
            while process.poll() is None:
                if time.monotonic() - started > timeout:
                    raise EngineError(
                        f"the FATE launch did not finish within {timeout:.0f} s and was killed.\n{log_tail(log_path)}",
                        hint=f"full log: {log_path}",
                    )
                on_poll()
                time.sleep(POLL_SECONDS)
        finally:
            kill_group(process)
    if process.returncode != 0:
        raise EngineError(
            f"the FATE launch failed (exit code {process.returncode}): {outcome(log_path)}\n{log_tail(log_path)}",
            hint=f"full log: {log_path}",
        )
    return time.monotonic() - started


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """The launcher's parent, its party processes and their pool workers share one process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_fit(out_dir: Path, index: int, job: FitJob, session: str) -> JobResult:
    """One fit's guest scores, model, loss history and every party's traffic, as a JobResult."""
    fit_dir = out_dir / f"fit{index}"
    try:
        scores = pd.read_csv(fit_dir / "scores.csv")
        model = json.loads((fit_dir / "model.json").read_text())
        wires = [json.loads((fit_dir / f"wire_{r}_{p}.json").read_text()) for r, p in job.roles.party_roles()]
    except (OSError, ValueError) as exc:
        raise EngineError(f"the FATE launch reported success but fit {index} left no complete output: {exc}") from exc
    if "family" in model:  # a vertical fit (launcher_hetero): no HomoLR state dict
        from harness.engines.fate22.launcher_hetero import hetero_result

        return hetero_result(fit_dir, f"{session}/fit{index}", job, scores, model, wires)
    guest_wire = next(w for w in wires if w["party"] == f"guest:{job.roles.guest}")
    return JobResult(
        job_id=f"{session}/fit{index}",
        scores=scores.astype({job.id_column: "int64", "label": "int64", "score": "float64"}),
        fate_metrics={},
        wall_s=float(guest_wire["wall_s"]),
        loss_history=[float(x) for x in model.get("loss_history", [])],
        coefficients=lr_coefficients(model),
        traffic=fit_traffic([{k: v for k, v in w.items() if k != "wall_s"} for w in wires]),
        curves=dict(model.get("curves", {})),
    )


def lr_coefficients(model: dict[str, Any]) -> dict[str, list[float]]:
    """HomoLR's weight and bias from the guest's model.json; HomoNN fits keep theirs in params.npz."""
    if "model" not in model:
        return {}
    state = model["model"]["state_dict"]
    return {
        "weight": [float(x) for x in state["models.0.weight"][0]],
        "bias": [float(x) for x in state.get("models.0.bias", [])],
    }


def read_computing(out_dir: Path, parties: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What each party process reported it computed on ("role:party" -> engine, and Spark's app)."""
    found = {}
    for role, party in parties:
        path = out_dir / f"computing_{role}_{party}.json"
        try:
            found[f"{role}:{party}"] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise EngineError(f"party {role}:{party} did not report its computing engine: {exc}") from exc
    return found


class LauncherEngine(mapping.Fate22Engine):
    """FATE 2.2's own multi-process launcher on this machine: one launch per ``run_many``."""

    name = "fate-2.2-launcher"

    def __init__(
        self,
        work_dir: Path,
        *,
        timeout: float = LAUNCH_TIMEOUT,
        reference: StandaloneEngine | None = None,
        progress: bool | Progress = True,
        spark: Mapping[str, SparkComputing] | None = None,
        lanes: int = DEFAULT_LANES,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.lanes = lanes
        # Parties whose data roles compute on Spark (FATE's Spark backend); the others on standalone.
        self.spark = dict(spark or {})
        self.timeout = timeout
        self.progress = Progress.of(progress)
        # With a reference, the first job also runs as a FATE-Flow job, beside the launch, and the two
        # fits are compared (launcher_validation).
        self.reference = reference
        self._validation: dict[str, Any] | None = None
        self._paths: dict[tuple[str, str], Path] = {}
        self._requests: dict[tuple[str, str], UploadRequest] = {}
        self.last_launch: dict[str, Any] = {}

    def start(self) -> None:
        if importlib.util.find_spec("fate") is None:
            raise EngineError("FATE 2.2 is not installed in this Python", hint="run make setup")
        if self.reference is not None:
            self.reference.start()

    def flow_clients(self) -> dict[str, Any]:
        """The reference FATE-Flow's, when validating: the launch itself submits no FATE-Flow job
        (its party processes die with the run: run_launch kills their process group)."""
        return self.reference.flow_clients() if self.reference is not None else {}

    def describe(self) -> dict[str, Any]:
        return self.describe_fate() | {
            "endpoint": "none: FATE's multi-process launcher (fate.arch.launchers), one process per party, "
            "standalone federation between them; no FATE-Flow",
            "work_dir": str(self.work_dir),
            "computing": self.computing(),
        } | ({"last_launch": self.last_launch} if self.last_launch else {})

    def computing(self) -> dict[str, dict[str, Any]]:
        """Each Spark party's computing engine and master; parties not listed compute on standalone."""
        return {party: {"computing": "spark", "master": c.master} for party, c in self.spark.items()}

    def placement(self) -> None:
        """Nothing moves: each party's process reads its CSV where the study wrote it."""
        return None

    def validation(self) -> dict[str, Any] | None:
        """With a reference engine: the first fit again through FATE-Flow, compared; ``error`` if that failed."""
        return self._validation

    def upload_many(self, requests: Sequence[UploadRequest]) -> list[Table]:
        """Nothing to upload: each party's process reads its own CSV. Checks every file is there."""
        for request in requests:
            if not request.path.is_file():
                raise EngineError(f"table file {request.path} for party {request.party_id} does not exist")
            self._paths[(request.party_id, request.name)] = request.path.resolve()
            # Kept for validate: only the validated fit's tables go into FATE-Flow (a 10-seed run has ~100).
            self._requests[(request.party_id, request.name)] = request
        return [Table(r.party_id, NAMESPACE, r.name, r.rows) for r in requests]

    def run_many(self, jobs: Sequence[tuple[str, FitJob]]) -> list[JobResult]:
        if not jobs:
            return []
        session = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        groups = deal(len(jobs), self.lanes_for(jobs))
        parties = launch_parties([job for _, job in jobs])
        self._say(f"launching {len(parties)} party processes for {len(jobs)} fit(s)"
                  + (f" in {len(groups)} launches at once" if len(groups) > 1 else "")
                  + f" (logs: {self.work_dir / session}*/launch.log)")
        # The FATE-Flow job needs only the first fit's tables: it runs while the launch trains.
        beside = self._reference_fit(jobs[0])
        counter = CountProgress(self.progress, "FATE launcher", len(jobs))
        progress = LaneProgress(len(groups), counter.update)
        started = time.monotonic()
        try:
            per_lane = run_lanes(
                len(groups),
                lambda k: self._launch(
                    [jobs[i] for i in groups[k]],
                    session if len(groups) == 1 else f"{session}-l{k}",
                    on_done=lambda done, k=k: progress.report(k, done),
                ),
                on_failure=progress.cancelled.set,
            )
        except BaseException:
            if beside is not None:
                beside.cancel()
            raise
        finally:
            counter.close()
        results = merge_in_order(groups, [r for r, _ in per_lane])
        self.last_launch = launch_record([info for _, info in per_lane], time.monotonic() - started)
        self._say(f"launch done in {self.last_launch['launch_s']:.1f} s "
                  f"({self.last_launch['fit_s_sum']:.1f} s of it in fits)")
        if beside is not None:
            self._say("waiting for the FATE-Flow validation job that ran beside the launch")
            self._validation = beside.finish(results[0], self.work_dir)
        return results

    def lanes_for(self, jobs: Sequence[tuple[str, FitJob]]) -> int:
        """Several launches only for HomoLR on standalone computing: HomoNN and SecureBoost fits keep both
        cores busy on their own, and a Spark party's cluster is sized for one application."""
        if self.spark or not all(isinstance(job.model, HomoLRSettings) for _, job in jobs):
            return 1
        return self.lanes

    def _launch(
        self, jobs: Sequence[tuple[str, FitJob]], session: str, on_done: Callable[[int], None]
    ) -> tuple[list[JobResult], dict[str, Any]]:
        """One launch of ``jobs``: its party processes, its fits' results read back, and its record."""
        launch_dir = self.work_dir / session
        out_dir, data_dir = launch_dir / "out", launch_dir / "data"
        out_dir.mkdir(parents=True)
        plan = build_plan(jobs, self._paths, session=session, out_dir=out_dir.resolve(), spark=self.spark)
        plan_path = launch_dir / "plan.json"
        plan_path.write_text(json.dumps(plan, indent=1))
        parties = launch_parties([job for _, job in jobs])
        command = launch_command(plan_path.resolve(), parties, data_dir.resolve(), session, self.timeout)
        try:
            wall_s = run_launch(
                command,
                log_path=launch_dir / "launch.log",
                timeout=self.timeout,
                on_poll=lambda: on_done(fits_done(out_dir, len(jobs))),
            )
        finally:
            # FATE's LMDB tables of the launch: nothing in them is read afterwards.
            shutil.rmtree(data_dir, ignore_errors=True)
        results = [read_fit(out_dir, i, job, session) for i, (_, job) in enumerate(jobs)]
        return results, {
            "session": session,
            "parties": [f"{r}:{p}" for r, p in parties],
            "fits": len(jobs),
            "launch_s": round(wall_s, 2),
            "fit_s_sum": round(sum(r.wall_s for r in results), 2),
            "computing": read_computing(out_dir, parties),
        }

    def _reference_fit(self, job: tuple[str, FitJob]) -> ReferenceFit | None:
        """With a reference engine: the first fit as a FATE-Flow job, started now (joined after the launch)."""
        if self.reference is None:
            return None
        beside = ReferenceFit(self.reference, job, self._requests, launcher_name=self.name, say=self._say)
        beside.start()
        return beside

    def _say(self, message: str) -> None:
        # One line per state change, tty or not (a launch runs for minutes); --quiet leaves the summaries.
        if self.progress is not Progress.OFF:
            print(f"[fatelab] {message}", flush=True)
