"""The study, step by step: prepare -> split -> partition -> balance -> upload -> run the federated
fits -> baselines -> results -> report.

A run plans the federated fits of every seed first and hands them to the engine in one
``upload_many`` and one ``run_many`` (the launcher engine trains them all in one launch); the
per-seed steps are functions of (scenario, config, seed). What each arm does is in
:mod:`harness.study.arms`, results.json's layout in :mod:`harness.study.results`, and what a
scenario supplies (data, partitioner, model family, arms, metrics) in :mod:`harness.study.scenario`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engines.base import Engine, FitJob, JobResult, Table, UploadRequest
from harness.errors import DataError
from harness.report.claims import render_summary_line
from harness.report.results import to_jsonable
from harness.report.seeds import claims_line, has_seeds
from harness.report.write import write_report
from harness.stats.aggregate import aggregate
from harness.study import results
from harness.study.arms import SWEEP, Arm, PlannedFit, SeedContext, SeedOutcome
from harness.study.config import StudyConfig
from harness.study.results import new_run_id
from harness.study.scenario import Dataset, Scenario, get_scenario, say
from harness.study.tables import balance, upload_request  # noqa: F401

SHOWN_FITS = 8  # fits named in the "running" line; a 10-seed run has 60


@dataclass(frozen=True)
class SeedPlan:
    """One seed, ready to run: its data, its arms, and the federated fits those arms planned."""

    context: SeedContext
    arms: Sequence[Arm]
    fits: Sequence[Sequence[PlannedFit]]  # per arm, in arm order

    @property
    def seed(self) -> int:
        return self.context.config.seed


# ---------------------------------------------------------------------------------- per seed
def plan_seed(scenario: Scenario, config: StudyConfig, seed: int, dataset: Dataset, engine_name: str) -> SeedPlan:
    """Split -> partition -> balance for ``seed``, then every arm plans its federated fits."""
    seed_config = dataclasses.replace(config, seed=seed)
    data = scenario.seed_data(dataset, seed_config)
    context = SeedContext(scenario, seed_config, data, engine_name, config.work_dir / "tables")
    arms = list(scenario.arms(seed_config))
    fits = [arm.plan(context) for arm in arms]
    if len(config.seed_list()) > 1:
        # Progress lines, FATE job names and the launcher's log then say which seed a fit belongs to.
        fits = [[dataclasses.replace(f, what=f"seed {seed}: {f.what}") for f in arm_fits] for arm_fits in fits]
    return SeedPlan(context, arms, fits)


def finish_seed(plan: SeedPlan, fit_results: Sequence[JobResult]) -> SeedOutcome:
    """Hand each arm its fits' results (in plan order); the in-process baselines train here."""
    outcome = SeedOutcome(seed=plan.context.config.seed)
    remaining = list(fit_results)
    for arm, fits in zip(plan.arms, plan.fits, strict=True):
        mine, remaining = remaining[: len(fits)], remaining[len(fits) :]
        arm.finish(plan.context, mine, outcome)
    return outcome


def planned_fits(plans: Sequence[SeedPlan]) -> list[PlannedFit]:
    return [fit for plan in plans for fits in plan.fits for fit in fits]


# ---------------------------------------------------------------------------------- engine steps
def upload(engine: Engine, fits: Sequence[PlannedFit]) -> dict[tuple[str, str], Table]:
    """Every table every fit needs, each once, in one ``upload_many``; tables by (party, name)."""
    requests: dict[tuple[str, str], UploadRequest] = {}
    for fit in fits:
        for request in [*fit.train.values(), *fit.test.values()]:
            requests.setdefault((request.party_id, request.name), request)
    say(f"uploading {len(requests)} tables into {engine.name} (reused when already there)")
    tables = engine.upload_many(list(requests.values()))
    return dict(zip(requests, tables, strict=True))


def job_of(fit: PlannedFit, tables: dict[tuple[str, str], Table]) -> FitJob:
    def table(request: UploadRequest) -> Table:
        return tables[(request.party_id, request.name)]

    first = next(iter(fit.train.values()))
    return FitJob(
        fit.roles,
        {p: table(r) for p, r in fit.train.items()},
        {p: table(r) for p, r in fit.test.items()},
        fit.model,
        label=first.label,
        id_column=first.id_column,
    )


def run_fits(engine: Engine, fits: Sequence[PlannedFit], tables: dict[tuple[str, str], Table]) -> list[JobResult]:
    """Every federated fit of the run in one ``run_many``."""
    jobs = [(fit.what, job_of(fit, tables)) for fit in fits]
    if jobs:
        names = ", ".join(what for what, _ in jobs[:SHOWN_FITS]) + (", ..." if len(jobs) > SHOWN_FITS else "")
        say(f"running {len(jobs)} FATE fit(s) on {engine.name}: {names}")
    return engine.run_many(jobs)


# ---------------------------------------------------------------------------------- the run
def run_study(
    config: StudyConfig, engine: Engine, *, after_start: Callable[[], None] | None = None
) -> tuple[Path, dict[str, Any]]:
    """The whole study; ``after_start`` runs once the engine answers (the CLI stops dead runs' jobs there).

    Every seed is planned first; one upload and one run of every seed's fits follow; then each seed is
    scored. results.json keeps the first seed's per-arm keys and, with more than one seed, adds the
    blocks of :func:`harness.stats.aggregate.aggregate` over all of them.
    """
    started = time.monotonic()
    run_id = config.run_id or new_run_id()
    scenario = get_scenario(config.scenario)
    seeds = config.seed_list()
    dataset = scenario.load(config)  # prepare
    planned = {s: seed_or_error(s, lambda s=s: plan_seed(scenario, config, s, dataset, engine.name)) for s in seeds}
    plans = [p for p in planned.values() if isinstance(p, SeedPlan)]
    usable(planned.values(), "planned")
    engine.start()
    if after_start is not None:
        after_start()
    fits = planned_fits(plans)
    upload_started = time.monotonic()
    tables = upload(engine, fits)  # upload: every table of every fit, once
    jobs_started = time.monotonic()
    fit_results = run_fits(engine, fits, tables)  # every federated fit of the run, one engine call
    jobs_s = time.monotonic() - jobs_started
    # Score the fits and train the in-process baselines, seed by seed.
    outcomes: dict[int, SeedOutcome | SeedFailure] = {s: p for s, p in planned.items() if isinstance(p, SeedFailure)}
    for i, (plan, part) in enumerate(zip(plans, split_by_plan(plans, fit_results), strict=True), start=1):
        if len(plans) > 1:
            say(f"seed {plan.seed} ({i}/{len(plans)}): scoring its fits, training the in-process baselines")
        outcomes[plan.seed] = seed_or_error(plan.seed, lambda plan=plan, part=part: finish_seed(plan, part))
    first = usable([outcomes[s] for s in seeds], "finished")
    first_plan = planned[first.seed]
    assert isinstance(first_plan, SeedPlan)
    clock = results.RunClock(dataset.prepare_s, jobs_started - upload_started, jobs_s, time.monotonic() - started)
    doc = results.assemble(
        run_id=run_id,
        scenario=scenario,
        config=config,
        engine=engine,
        dataset=dataset,
        seed_data=first_plan.context.data,
        outcome=first,
        fits=fit_results,
        clock=clock,
        first_job=job_of(fits[0], tables) if fits else None,
    )
    if len(seeds) > 1:
        per_seed = [seed_results(scenario, planned[s], outcomes[s]) for s in seeds]
        doc |= aggregate(per_seed, plan=scenario.stats_plan(config))
    return report(doc, config)


@dataclass(frozen=True)
class SeedFailure:
    """A seed its data did not allow (a party left with one class, too few rows): reported, never averaged."""

    seed: int
    error: str


def seed_or_error(seed: int, step: Callable[[], Any]) -> Any:
    """``step()``, or the seed's :class:`SeedFailure` when its data fails (DataError); other errors propagate."""
    try:
        return step()
    except DataError as exc:
        say(f"seed {seed} excluded: {exc.message}")
        return SeedFailure(seed, exc.message)


def usable(steps: Iterable[Any], done: str) -> Any:
    """The first seed that is not a :class:`SeedFailure`; a DataError naming every seed's failure if none is."""
    steps = list(steps)
    ok = [s for s in steps if not isinstance(s, SeedFailure)]
    if ok:
        return ok[0]
    raise DataError(
        f"no seed of the run could be {done}: " + "; ".join(f"seed {s.seed}: {s.error}" for s in steps),
        hint="check the partition ratios and the data's class balance, or start from another --seed",
    )


def seed_results(
    scenario: Scenario, plan: SeedPlan | SeedFailure, outcome: SeedOutcome | SeedFailure
) -> dict[str, Any]:
    """One seed as :func:`harness.stats.aggregate.aggregate` reads it: seed, arms, sweep and parties,
    or seed and error (the aggregate then lists it under ``excluded_seeds`` for every arm)."""
    if isinstance(outcome, SeedFailure):
        return {"seed": outcome.seed, "error": outcome.error}
    assert isinstance(plan, SeedPlan)
    sections = scenario.results_sections(plan.context.config, plan.context.data)
    return {
        "seed": outcome.seed,
        "arms": outcome.arms,
        SWEEP: outcome.sections.get(SWEEP, []),
        "parties": sections.get("parties", {}),
    }


def split_by_plan(plans: Sequence[SeedPlan], fit_results: Sequence[JobResult]) -> list[list[JobResult]]:
    """The engine's results, one list per seed plan, in the order the fits were planned."""
    out, rest = [], list(fit_results)
    for plan in plans:
        count = sum(len(fits) for fits in plan.fits)
        out.append(rest[:count])
        rest = rest[count:]
    return out


def report(doc: dict[str, Any], config: StudyConfig) -> tuple[Path, dict[str, Any]]:
    """Write reports/<run-id>/ and point reports/latest at it; print the one-line summary."""
    plain = to_jsonable(doc)
    run_dir = write_report(plain, config.reports_dir)
    say(claims_line(plain) if has_seeds(plain) else render_summary_line(plain), summary=True)
    say(f"report: {run_dir / 'report.md'}", summary=True)
    return run_dir, plain
