"""Inside FATE's multi-process launcher: one process per party, every fit of a run in one launch.

Run as ``python -m harness.engines.fate22.launcher_party --plan PLAN.json --parties guest:9999 ...
--data_dir DIR --log_level WARNING`` (``harness.engines.fate22.launcher`` builds the command). This
process is the launcher's parent: it starts the party processes with FATE's own
``MultiProcessLauncher`` (each gets FATE's standalone ``Context`` from ``init_context``), then waits
for them itself instead of calling ``launch()``/``block_run()``, because FATE's wait blocks on a
queue with no timeout (a child that dies silently hangs it forever), ``terminate()`` sleeps 10 s,
and ``launch()`` ends in ``exit()``.

Each party process runs :func:`run_party`: for every fit of the plan it takes part in, a federation
of exactly that fit's parties (``FederationBuilder(...).build_standalone``) on the process's
computing session, counted by :class:`harness.engines.fate22.wire.WireCounter`, and FATE's own
``HomoLRClient`` / ``HomoLRServer`` as the ``homo_lr`` component runs them under FATE-Flow
(``fate/components/components/homo_lr.py``: fit with the validate set, then predict it). A data party
the plan puts on Spark computes on FATE's Spark backend instead (:mod:`harness.engines.fate22.spark`);
its federation still rides on a standalone session. Each party writes ``computing_<role>_<party>.json``:
what it really computed on.
Outputs go under the plan's ``out_dir``: ``fit<i>/scores.csv``, ``fit<i>/model.json``,
``fit<i>/wire_<role>_<party>.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# Our CSVs name the row id ``sample_id``; PandasReader reserves that name for its own index.
MATCH_ID = "fatelab_match_id"
POLL_SECONDS = 0.5
REAP_SECONDS = 0.02
# The parent's last word, which the engine puts first in its error.
OUTCOME = "[launcher] "


# ---------------------------------------------------------------------------------- party process
def run_party(plan_path: str, ctx: Any) -> None:
    """Every fit of the plan this party takes part in, in plan order (all parties agree on it)."""
    plan = json.loads(Path(plan_path).read_text())
    me = tuple(ctx.federation.local_party)
    transport = forking_session(ctx.computing)
    computing = party_computing(plan, me, transport)
    write_json(Path(plan["out_dir"]) / f"computing_{me[0]}_{me[1]}.json", computing_record(computing))
    all_ready(ctx)
    from harness.engines.fate22.spark import lost_executors, stop_spark
    from harness.engines.fate22.spark_watch import SparkExecutorsLost

    try:
        for fit in plan["fits"]:
            parties = [tuple(p) for p in fit["parties"]]
            if me not in parties:
                continue
            run_fit(plan, fit, me, parties, computing, transport)
    except Exception as exc:
        # FATE only sees "job cancelled"; say why the party's Spark cluster could not go on.
        reason = lost_executors()
        if reason is not None:
            raise SparkExecutorsLost(reason) from exc
        raise
    finally:
        stop_spark()


def party_computing(plan: Mapping[str, Any], me: tuple[str, str], transport: Any) -> Any:
    """The party's computing session: Spark if the plan puts this party on Spark, else the standalone one.

    Only data roles compute on tables; an arbiter only aggregates model updates, so it never needs Spark.
    """
    spark = plan.get("spark", {}).get(me[1])
    if spark is None or me[0] == "arbiter":
        return transport
    from harness.engines.fate22.spark import spark_session

    return spark_session(f"{plan['session']}-{me[0]}-{me[1]}", spark)


def all_ready(ctx: Any) -> None:
    """Wait until every party process has imported FATE, so no fit's time includes another's start-up.

    Uses the launch's own federation, which no counter wraps: this is not part of any fit's traffic.
    """
    ready = ctx.sub_ctx("fatelab_ready")
    me = tuple(ctx.federation.local_party)
    others = [party for party in ready.parties if tuple(party.party) != me]
    for party in others:
        party.put("ready", True)
    for party in others:
        party.get("ready")


def forking_session(computing: Any) -> Any:
    """A computing session like the launcher's, whose worker pool forks instead of spawning.

    The launcher sets the ``spawn`` start method, so every pool worker re-imports torch and FATE and
    the first table operation takes 13-20 s; FATE-Flow's executor forks them (Linux default). The
    pool starts its workers on first use, so switching the start method now is early enough. One
    core per party's pool, as the FATE-Flow jobs get (``DEFAULT_JOB_CONF`` in fate22.py).
    """
    from fate.arch.computing.backends.standalone import CSession

    multiprocessing.set_start_method("fork", force=True)
    data_dir = computing.get_standalone_session().data_dir
    return CSession(session_id=f"{computing.session_id}_fork", data_dir=data_dir, options={"task_cores": 1})


def computing_record(computing: Any) -> dict[str, Any]:
    """What this party really computed on, read back from its session's backend (not from the plan)."""
    backend = type(computing).__module__.split(".")
    if "spark" in backend:
        from pyspark import SparkContext

        context = SparkContext.getOrCreate()
        return {"engine": "spark", "master": context.master, "app_id": context.applicationId}
    return {"engine": backend[-2] if len(backend) > 1 else backend[0]}


def run_fit(
    plan: Mapping[str, Any],
    fit: Mapping[str, Any],
    me: tuple[str, str],
    parties: list,
    computing: Any,
    transport: Any,
) -> None:
    index = fit["index"]
    out = Path(plan["out_dir"]) / f"fit{index}"
    out.mkdir(parents=True, exist_ok=True)
    ctx, counter = counted_context(f"{plan['session']}-fit{index}", f"fit{index}", me, parties, computing, transport)
    started = time.monotonic()
    extra: dict[str, Any] = {}
    if fit.get("family") == "homo_nn":
        from harness.engines.fate22.launcher_nn import run_nn_party

        extra = run_nn_party(ctx, fit, me, out, read_frame)
    elif fit["params"].get("family", "homo_lr") != "homo_lr":  # vertical fits: PSI first, FATE's hetero classes
        from harness.engines.fate22.launcher_hetero import run_hetero

        run_hetero(ctx, fit, me, out, counter)
    elif me[0] == "arbiter":
        from fate.ml.glm.homo.lr.server import HomoLRServer

        HomoLRServer().fit(ctx.sub_ctx("train"))
    else:
        fit_client(ctx, fit, me, out)
    summary = counter.summary() | {"wall_s": time.monotonic() - started} | extra
    write_json(out / f"wire_{me[0]}_{me[1]}.json", summary)


def counted_context(
    session: str, name: str, me: tuple[str, str], parties: list, computing: Any, transport: Any = None
) -> tuple[Any, Any]:
    """A FATE Context over a federation of exactly ``parties``, its outgoing traffic counted.

    One federation per fit: its own session id keeps every fit's messages apart. It always rides on a
    standalone session (``transport``; FATE's standalone federation stores messages there), whatever
    computes: a Spark party's ``computing`` is its Spark session.
    """
    from fate.arch.context import Context
    from fate.arch.federation import FederationBuilder

    from harness.engines.fate22.wire import WireCounter

    federation = FederationBuilder(federation_session_id=session, party=me, parties=parties).build_standalone(
        computing if transport is None else transport
    )
    counter = WireCounter(f"{me[0]}:{me[1]}")
    counter.wrap(federation)
    return Context(computing=computing, federation=federation).sub_ctx(name), counter


def fit_client(ctx: Any, fit: Mapping[str, Any], me: tuple[str, str], out: Path) -> None:
    """One data party: HomoLRClient.fit on its train table with the test table as validate set."""
    import pandas as pd
    from fate.ml.glm.homo.lr.client import HomoLRClient

    party = me[1]
    params = fit["params"]
    train = read_frame(ctx, fit["train"][party], fit)
    test = read_frame(ctx, fit["test"][party], fit)
    client = HomoLRClient(
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        optimizer_param=params["optimizer"],
        init_param=params["init_param"],
        learning_rate_scheduler=params["learning_rate_scheduler"],
        threshold=params["threshold"],
    )
    sub = ctx.sub_ctx("train")
    client.fit(sub, train, test)
    if me[0] != "guest":
        return
    # Only the guest's predictions are the study's; hosts hold the same aggregated model.
    scores = client.predict(sub, test).as_pd_df()[[MATCH_ID, "label", "predict_score"]]
    scores = scores.rename(columns={MATCH_ID: fit["id_column"], "predict_score": "score"})
    # FATE hands the match id back as text of a float ("18663.0").
    scores[fit["id_column"]] = pd.to_numeric(scores[fit["id_column"]]).round().astype("int64")
    scores = scores.astype({"label": "int64", "score": "float64"})
    scores.to_csv(out / "scores.tmp", index=False)
    (out / "scores.tmp").replace(out / "scores.csv")
    losses = [row["loss"] for row in client.trainer.state.log_history if "loss" in row]
    write_json(out / "model.json", {"model": client.get_model()["param"]["model"], "loss_history": losses})


def read_frame(ctx: Any, path: str, fit: Mapping[str, Any]) -> Any:
    """A CSV as FATE DataFrame, typed as the FATE-Flow upload types it (float64 features, int64 label)."""
    import pandas as pd
    from fate.arch.dataframe import PandasReader

    frame = pd.read_csv(path).rename(columns={fit["id_column"]: MATCH_ID})
    # One partition, as the FATE-Flow jobs run with computing_partitions 1.
    reader = PandasReader(
        match_id_name=MATCH_ID, label_name=fit["label"], label_type="int64", dtype="float64", partition=1
    )
    return reader.to_frame(ctx, frame)


def write_json(path: Path, payload: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


# ---------------------------------------------------------------------------------- launcher parent
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--parties", nargs="+", required=True)
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--log_level", default="WARNING")
    parser.add_argument("--federation_session_id", required=True)
    parser.add_argument("--timeout", type=float, default=3600.0)
    return parser.parse_known_args(argv)[0]


def wait_for_parties(launcher: Any, parties: list[str], timeout: float) -> tuple[int, str]:
    """Wait until every party reports, one fails, one dies without reporting, or time runs out."""
    pending = set(range(len(launcher.processes)))
    deadline = time.monotonic() + timeout
    while pending:
        try:
            rank, error, trace = launcher.output_or_exception_q.get(timeout=POLL_SECONDS)
        except queue.Empty:
            dead = {
                parties[r]: launcher.processes[r].exitcode
                for r in pending
                if launcher.processes[r].exitcode is not None
            }
            if dead:
                return 1, f"party process(es) died without reporting (exit codes {dead})"
            if time.monotonic() > deadline:
                return 1, f"parties {[parties[r] for r in sorted(pending)]} did not finish within {timeout:.0f} s"
            continue
        pending.discard(rank)
        if error is not None:
            launcher.console.print(trace)
            return 1, f"party {parties[rank]} failed: {type(error).__name__}: {error}"
    return 0, "every party reported"


def kill_parties(launcher: Any, timeout: float = 10.0) -> None:
    """Every party has reported (or one failed): nothing left to wait for, FATE's 10 s sleep included.

    Reaped by ``exitcode`` (``waitpid``), not ``join``: ``join`` waits for the process's sentinel pipe to
    close, and the party's forked pool workers (:func:`forking_session`) inherit that pipe and outlive
    the killed party until they notice it is gone. ``join(timeout=10)`` thus waited the full 10 s per
    data party (about 30 s of every launch's tail); the dead party is reaped at once this way, and the
    orphaned workers end on their own (FATE's parent watch) or with the launch's process group.
    """
    for process in launcher.processes:
        if process.is_alive():
            process.kill()
    deadline = time.monotonic() + timeout
    while any(p.exitcode is None for p in launcher.processes) and time.monotonic() < deadline:
        time.sleep(REAP_SECONDS)


def main(argv: list[str] | None = None, party: Callable[[str, Any], None] = run_party) -> int:
    """Launch every party running ``party(plan_path, ctx)``; another study passes its own (module-level)."""
    import rich.console
    from fate.arch.launchers.multiprocess_launcher import MultiProcessLauncher

    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = rich.console.Console(file=sys.stderr)
    launcher = MultiProcessLauncher(console, args.parties, args.federation_session_id, args.data_dir, args.log_level)
    launcher.start(functools.partial(party, args.plan))
    try:
        code, what = wait_for_parties(launcher, args.parties, args.timeout)
    finally:
        kill_parties(launcher)
    print(f"{OUTCOME}{what}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    # The children are spawned and re-import this module: only the parent runs main().
    if multiprocessing.parent_process() is None:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        sys.exit(main())
