"""``fatelab``: the command line. Every failure a user can fix prints one message and a hint."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import FatelabError
from harness.interrupts import Interrupted
from harness.progress import Progress, set_quiet

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

FLOW_HOME = Path(".fatelab/flow")
# One ledger per run of the FATE jobs it submitted (harness/engines/run_ledger.py).
RUNS_DIR = Path(".fatelab/runs")

EPILOG = """\
typical use:
  fatelab experiment                         the whole study on the bundled 5k-row sample: 10 seeds on FATE's
                                             launcher, the first fit validated as one embedded FATE-Flow job
  fatelab experiment --seeds 3               ... on 3 seeds (42, 43, 44)
  fatelab experiment --engine standalone     ... every fit as a FATE-Flow job (1 seed unless --seeds)
  fatelab scenarios                          the studies this harness can run, one line each
  fatelab experiment --scenario NAME         ... another one (docs/scenarios.md)
  fatelab experiment --data ~/loan.csv       ... on the full Kaggle Lending Club loan.csv
  fatelab prepare --input loan.csv --output out/   only the data preparation (prepared.csv + data_card.json)
  fatelab engine status                      is the embedded FATE-Flow running? which jobs are queued?

Results go to reports/<run-id>/ (report.md, results.json, PNG plots); reports/latest points at the last run.
FATE state (FATE-Flow home, logs, uploaded tables) lives in .fatelab/, never in $HOME.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fatelab",
        description="Run the Lending Club federated-learning study on FATE and compare it with centralised "
        "and local-only baselines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prep = sub.add_parser(
        "prepare",
        help="clean a raw Lending Club loan.csv into prepared.csv + data_card.json",
        description="The study's chapter-3 preparation: keep finished loans (Fully Paid=1, Charged Off=0), drop "
        "columns more than 1/3 empty or single-valued, keep the 17 study features, parse rates/terms/employment "
        "length, drop rows still missing values, one-hot home_ownership/verification_status/purpose with fixed "
        "categories. Streams the file, so the full 887,379-row loan.csv fits in bounded memory.",
    )
    prep.add_argument("--input", required=True, type=Path, help="raw loan.csv (Kaggle layout, 74 columns)")
    prep.add_argument("--output", required=True, type=Path, help="directory for prepared.csv and data_card.json")

    sub.add_parser(
        "scenarios",
        help="list the scenarios (studies) `fatelab experiment --scenario NAME` can run",
        description="One line per scenario: name, what it studies, its default data. Each is a module of "
        "harness/scenarios/; docs/scenarios.md says how to add one.",
    )

    eng = sub.add_parser(
        "engine",
        help="start, stop or check the embedded FATE-Flow 2.2 server",
        description="status: the server's state and every job queued or running on it, with its age and the "
        "fatelab run that submitted it. stop: stops those jobs first (a restarted FATE-Flow would resume them), "
        "then the server.",
    )
    eng.add_argument("action", choices=["start", "stop", "status", "restart"])
    eng.add_argument(
        "--port", type=int, help="FATE-Flow HTTP port on 127.0.0.1 (default 9380, or $FATELAB_FLOW_PORT)"
    )

    exp = sub.add_parser(
        "experiment",
        help="run the whole study and write a report",
        description="Run one scenario (default lending-club-homolr) on one or more seeds: prepare the data (reused "
        "when unchanged); per seed split 70/30, partition the training rows among the parties and balance each "
        "party with SMOTE; run every seed's federated HomoLR fit and two-party distribution sweep in FATE (by "
        "default one launch of FATE's own launcher, the first fit checked against one embedded FATE-Flow job), "
        "train the centralised and local-only baselines, and write reports/<run-id>/ with intervals, paired "
        "comparisons and claim verdicts across the seeds.",
    )
    exp.add_argument(
        "--scenario", help="which study to run (default lending-club-homolr; `fatelab scenarios` lists them)"
    )
    exp.add_argument(
        "--data",
        type=Path,
        help="the scenario's input (default: its own; data/loan_2011q4_head5k.csv for Lending Club)",
    )
    exp.add_argument("--config", type=Path, help="YAML file with study settings (see docs/configuration.md)")
    exp.add_argument("--seed", type=int, help="first seed for the split, partitions and SMOTE (default 42)")
    exp.add_argument(
        "--seeds",
        help="how many seeds (seed, seed+1, ...), each redrawing split, partitions and SMOTE; with more than one "
        "the report gives intervals, paired comparisons and claim verdicts (default 10 with the launcher "
        "engine, fewer where a scenario's seeds cost more, e.g. 6 for imdb-lstm; 1 with FATE-Flow engines)",
    )
    exp.add_argument("--epochs", type=int, help="HomoLR epochs (default 20); for the deep-learning scenarios the "
                     "federated rounds of one local epoch each, and the in-process arms' epochs (default: the "
                     "scenario's, e.g. 20 for mnist-cnn)")
    exp.add_argument("--no-sweep", action="store_true", help="skip the two-party distribution sweep (5 FATE jobs)")
    exp.add_argument(
        "--engine",
        choices=["launcher", "standalone", "cluster"],
        help="where FATE runs (default launcher): 'launcher' runs every federated fit of every seed in one launch "
        "of FATE 2.2's own multi-process launcher (no FATE-Flow, seconds per fit); 'standalone' submits each fit "
        "as a job to the embedded FATE-Flow; 'cluster' drives the inventory's parties, FATE 2.2 or, when the "
        "inventory says fate_deployment: kubefate, FATE 1.8 on KubeFATE docker-compose",
    )
    exp.add_argument(
        "--inventory",
        type=Path,
        help="Ansible inventory of the cluster (with --engine cluster); its fate_deployment picks the engine",
    )
    exp.add_argument(
        "--paillier",
        action="store_true",
        help="FATE 1.8 (kubefate inventories) only: hosts encrypt model updates with Paillier (needs optimizer sgd)",
    )
    exp.add_argument(
        "--validate",
        action=argparse.BooleanOptionalAction,
        help="launcher engine only, on by default: run the first federated fit also as a job on the embedded "
        "FATE-Flow and record how far apart the two fits end (results.json 'validation'); --no-validate skips it",
    )
    exp.add_argument("--reports", type=Path, help="reports directory (default reports/)")
    exp.add_argument("--port", type=int, help="embedded FATE-Flow port (default 9380, or $FATELAB_FLOW_PORT)")
    exp.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (bars on a terminal, one line per FATE job state change in a log); summaries still print",
    )
    exp.add_argument(
        "--keep-orphans",
        action="store_true",
        help="leave FATE jobs of earlier runs that died (killed, crashed) queued or running; by default this "
        "run stops them before it starts, so it does not wait behind them",
    )
    from harness.security import cli as security_cli

    security_cli.add_parser(sub)
    return parser


def cmd_prepare(args: argparse.Namespace) -> int:
    from harness.data.prepare import prepare_file

    card = prepare_file(args.input, args.output, progress=sys.stderr.isatty())
    balance = card["class_balance"]
    print(
        f"prepared {card['rows_out']:,} of {card['rows_in']:,} rows "
        f"(Fully Paid {balance.get('1', 0):,}, Charged Off {balance.get('0', 0):,}), "
        f"{len(card['features'])} features -> {args.output / 'prepared.csv'}"
    )
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    from harness.engines import run_ledger
    from harness.engines.fate22.client import FlowRestClient
    from harness.engines.fate22.server import LocalFlowServer
    from harness.engines.run_guard import active_jobs, job_line, stop_all_jobs

    server = LocalFlowServer(FLOW_HOME, http_port=args.port)
    status = server.status()
    client = None
    if status.state == "running":
        try:
            client = FlowRestClient(server.host, server.http_port, server.client_key())
        except FatelabError as exc:
            # A server started by an older fatelab has no keys file: it can still be stopped.
            print(f"cannot list its jobs: {exc.message}")
    if args.action == "status":
        print(status.line())
        if client is not None:
            jobs = active_jobs(client)
            owners = run_ledger.job_owners(RUNS_DIR)
            print(f"{len(jobs)} job(s) queued or running" + (":" if jobs else ""))
            for record in jobs:
                print(f"  {job_line(record, owners)}")
        return 0 if status.state == "running" else 1
    if args.action in ("stop", "restart"):
        if client is not None:
            # FATE-Flow resumes the jobs it had on its next start: end them first.
            stop_all_jobs(client, print)
        server.stop()
        if args.action == "stop":
            print(server.status().line())
            return 0
    print(server.start().line())
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from harness.study.scenario import discover

    for scenario in discover().values():
        print(scenario.line())
    return 0


def make_engine(config, progress: Progress, validate: bool = False):  # noqa: ANN001, ANN201 - returns an Engine
    from harness.engines.select import build_engine

    return build_engine(
        config.engine,
        model=config.model,
        work_dir=config.work_dir,
        flow_home=FLOW_HOME,
        inventory=config.inventory,
        flow_port=config.flow_port,
        paillier=config.paillier,
        validate=validate,
        progress=progress,
    )


def experiment_config(args: argparse.Namespace) -> StudyConfig:
    """The study config of ``fatelab experiment``: defaults, then ``--config``, then the flags."""
    from harness.study.config import load_config

    overrides = {
        "scenario": args.scenario,
        "data": args.data,
        "seed": args.seed,
        "seeds": args.seeds,
        "engine": args.engine,
        "inventory": args.inventory,
        "reports_dir": args.reports,
        "flow_port": args.port,
        "paillier": args.paillier or None,
    }
    if args.no_sweep:
        overrides["sweep"] = False
    config = load_config(args.config, **overrides)
    if args.epochs is not None:
        # HomoLR reads model.epochs, the deep-learning scenarios nn.epochs (their rounds); each ignores the other.
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, epochs=args.epochs),
                                     nn={**config.nn, "epochs": args.epochs})
    return config


def cmd_experiment(args: argparse.Namespace) -> int:
    from harness.engines.run_guard import guarded_run
    from harness.study.pipeline import run_study
    from harness.study.results import new_run_id

    config = experiment_config(args)

    if args.validate and config.engine != "launcher":
        from harness.errors import ConfigError

        raise ConfigError("--validate compares the launcher engine with FATE-Flow", hint="add --engine launcher")
    # The launcher's numbers are checked against one FATE-Flow job unless the run says not to.
    # (a scenario may make it opt-in: lending-club-vertical's FATE-Flow SecureBoost job takes minutes).
    from harness.study.scenario import get_scenario

    wanted = get_scenario(config.scenario).validate_by_default if args.validate is None else args.validate
    validate = config.engine == "launcher" and wanted
    config = dataclasses.replace(config, run_id=config.run_id or new_run_id())
    set_quiet(args.quiet)
    engine = make_engine(config, progress=Progress.for_stream(quiet=args.quiet), validate=validate)
    with guarded_run(RUNS_DIR, config.run_id, engine, keep_orphans=args.keep_orphans) as guard:
        run_dir, doc = run_study(config, engine, after_start=guard.after_start)
    print(json.dumps({"report": str(run_dir / "report.md")}))
    failed = (doc.get("validation") or {}).get("error")
    if failed:
        from harness.errors import EngineError

        # Reported after the report is written: the launch's results are not lost with the validation.
        raise EngineError(f"the FATE-Flow validation job failed (the run's results and report are written): {failed}")
    return 0


def cmd_security(args: argparse.Namespace) -> int:
    from harness.security import cli as security_cli

    return security_cli.command(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "prepare": cmd_prepare,
        "scenarios": cmd_scenarios,
        "engine": cmd_engine,
        "experiment": cmd_experiment,
        "security": cmd_security,
    }
    try:
        return handlers[args.command](args)
    except FatelabError as error:
        print(f"fatelab: error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  what to do: {error.hint}", file=sys.stderr)
        return error.exit_code
    except Interrupted as stop:
        print(f"fatelab: stopped by {stop}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("fatelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
