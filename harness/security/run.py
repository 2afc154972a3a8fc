"""`fatelab security`: run the chosen studies and write reports/<run-id>/security.json, PNGs and security.md.

The run writes into a temporary directory beside its final one and renames it at the end: an interrupted or
failed run leaves no half-written report.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, DataError
from harness.model.logreg import LocalLogisticRegression
from harness.report.results import to_jsonable
from harness.security import adversarial, cost, leakage, poisoning
from harness.security.config import SecurityConfig, mnist_path
from harness.security.data import PartyArrays, load_seeds
from harness.security.replay import Model, federated_fit
from harness.study.config import STUDY_MODEL, load_config
from harness.study.scenario import file_sha256, say


def run_security(config: SecurityConfig) -> Path:
    run_id = config.run_id or "security-" + time.strftime("%Y%m%d-%H%M%S")
    final = config.reports_dir / run_id
    if final.exists():
        raise ConfigError(f"report directory {final} already exists", hint="pass another --run-id")
    images_dir = final.with_name(final.name + ".partial")
    shutil.rmtree(images_dir, ignore_errors=True)
    images_dir.mkdir(parents=True)
    try:
        results = studies(config, run_id, images_dir)
    except BaseException:
        shutil.rmtree(images_dir, ignore_errors=True)
        raise
    return write(results, final, images_dir)


def studies(config: SecurityConfig, run_id: str, images_dir: Path) -> dict[str, Any]:
    """Every chosen study's results; PNGs made on the way go to ``images_dir``."""
    started = time.monotonic()
    if config.mnist is not None and not config.mnist.is_file():  # before minutes of other studies, not after
        raise DataError(f"MNIST sample {config.mnist} does not exist", hint="point --mnist at mnist_5k.csv.gz")
    seeds = load_seeds(config.data, config.work_dir, config.seeds)
    settings = dataclasses.replace(STUDY_MODEL, epochs=config.epochs)
    results: dict[str, Any] = {
        "run_id": run_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config.to_dict(),
        "data": {"input": str(config.data), "sha256": file_sha256(config.data),
                 "features": len(seeds[0].features), "parties": {p: len(x) for p, x in seeds[0].x.items()},
                 "test_rows": len(seeds[0].y_test)},
        "model": dataclasses.asdict(settings),
        "timings_s": {},
    }

    def timed(study: str, fn: Any) -> Any:
        t = time.monotonic()
        say(f"{study}: starting")
        value = fn()
        results["timings_s"][study] = round(time.monotonic() - t, 1)
        say(f"{study}: done in {results['timings_s'][study]:.0f} s")
        return value

    if "cost" in config.studies:
        results["cost"] = timed("cost", lambda: cost.run_cost(config, seeds[0], config.work_dir / "security"))
        results["ciphertext"] = [cost.ciphertext_bytes(bits) for bits in config.key_bits]
        if config.homolr_check:
            from harness.security.homolr_check import run_homolr

            results["fate_homolr"] = timed("fate homolr", lambda: run_homolr(
                seeds[0], settings, load_config().roles, config.cost_rounds, config.work_dir / "security"))
    models = timed("models", lambda: [trained_models(a, settings) for a in seeds])
    if "leakage" in config.studies:
        results["leakage"] = timed("leakage", lambda: leakage.run_leakage(
            seeds[0], models[0]["federated"], settings, config.leakage_records, config.batch_sizes))
        mnist = mnist_path(config)
        if mnist is not None:
            from harness.security.images import run_images

            results["leakage"]["images"] = timed("leakage images", lambda: run_images(
                mnist, config.image_batches, config.image_steps, config.seeds[0], images_dir))
        else:
            results["leakage"]["images_note"] = "no MNIST sample found (pass --mnist): image reconstruction skipped"
    if "poisoning" in config.studies:
        grid = poisoning.poisoning_grid(config.label_flip, config.scaling, config.backdoor_share,
                                        config.backdoor_scale)
        results["poisoning"] = timed("poisoning", lambda: poisoning.run_poisoning(
            seeds, settings, grid, config.aggregators, say))
    if "adversarial" in config.studies:
        results["adversarial"] = timed("adversarial", lambda: adversarial.summarize([
            adversarial.one_seed({"federated": m["federated"], "centralized": m["centralized"]}, m["surrogate"],
                                 a.x_test, a.y_test, config.epsilons, config.pgd_steps, settings.threshold)
            for a, m in zip(seeds, models, strict=True)
        ]))
        mnist = mnist_path(config)
        if mnist is not None and config.cnn_epsilons:
            from harness.security.cnn_adversarial import run_cnn_adversarial

            cnn = timed("adversarial mnist cnn", lambda: run_cnn_adversarial(
                mnist, config.cnn_epsilons, config.pgd_steps, config.seeds[0]))
            results["adversarial"] += cnn["rows"]
            results["mnist_cnn"] = {"accuracy": cnn["accuracy"], "held_out": 500, "training": "centralised, Adam"}
        if mnist is not None and config.cnn_epsilons and config.cnn_transfer:
            transfer = timed("adversarial mnist cnn transfer", lambda: cnn_transfer(config, mnist))
            results["adversarial"] += transfer.pop("rows")
            results["mnist_cnn_transfer"] = transfer
    results["timings_s"]["total"] = round(time.monotonic() - started, 1)
    return results


def cnn_transfer(config: SecurityConfig, mnist: Path) -> dict[str, Any]:
    """Transfer from one lender's surrogate CNN to the federated CNN that FATE's launcher trains."""
    from harness.engines.fate22.launcher import LauncherEngine
    from harness.security.cnn_transfer import run_cnn_transfer

    work = config.work_dir / "security" / "cnn"
    engine = LauncherEngine(work / "launcher")
    engine.start()
    return run_cnn_transfer(engine, engine.work_dir, mnist, config.cnn_transfer_seeds, config.cnn_epochs,
                            config.cnn_epsilons, config.pgd_steps)


def trained_models(arrays: PartyArrays, settings: Any) -> dict[str, Model]:
    """The federated model (replay, fedavg), the centralised one, and one party's own surrogate."""
    x, y = arrays.pooled()
    central = LocalLogisticRegression(settings).fit(x, y)
    party = arrays.parties[0]
    own = LocalLogisticRegression(settings).fit(arrays.x[party], arrays.y[party])
    return {
        "federated": federated_fit(arrays.x, arrays.y, settings),
        "centralized": Model(central.coef_, central.intercept_),
        "surrogate": Model(own.coef_, own.intercept_),
    }


def write(results: dict[str, Any], final: Path, images_dir: Path) -> Path:
    """security.json, the figures and security.md into ``images_dir``, then renamed to ``final``."""
    from harness.security.report import render

    tmp = images_dir  # <run-id>.partial: the PNGs made during the run are already in it
    try:
        (tmp / "security.json").write_text(json.dumps(to_jsonable(results), indent=1))
        render(results, tmp)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"security report: {final / 'security.md'}")
    return final
