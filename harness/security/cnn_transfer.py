"""Black-box transfer against the federated MNIST CNN that FATE trains (the mnist-cnn scenario's model and data).

Per seed, on the mnist-cnn scenario's own split (stratified 20 % test) and IID thirds:

* the **federated** CNN: FATE 2.2 HomoNN (FedAvg, secure aggregation) through the launcher engine, exactly the
  scenario's federated arm (same runner config, model, batch order); its final parameters are the guest's
  ``params.npz``. All seeds' fits run in one launch;
* the **centralised** CNN: the scenario's in-process arm (:func:`harness.model.nn_local.train_local`) on the
  union of the partitions;
* the **surrogate**: the same architecture trained in-process by one lender (the guest) on its own partition
  only - what an insider can build without seeing anyone else's data or the federated model.

FGSM and PGD examples are crafted on the surrogate and submitted to the federated and the centralised CNN
(``attack = "transfer"``, ``crafted`` says which); the same attacks white-box against each target are the
reference. Success rate = share of the target's correctly classified test digits whose prediction changes;
epsilon is L-infinity in pixel units (pixels in [0, 1], adversarial images clipped to it). Randomness
(split, partition, batch order) enters per seed: means over seeds with t-intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from harness.engines.base import Engine, FitJob, JobResult, Table
from harness.engines.fate22.launcher_nn import params_path
from harness.model.nn import HomoNNSettings
from harness.model.nn_local import build_model, predict, train_local
from harness.security.adversarial import summarize
from harness.security.cnn_adversarial import fgsm, pgd
from harness.study.nn_arms import NNSeedData
from harness.study.scenario import say
from harness.study.tables import upload_request

TARGETS = ("mnist_cnn_federated", "mnist_cnn_centralized")
Key = tuple[Any, ...]


def seed_data(mnist: Path, seeds: Sequence[int], per_class: int | None) -> list[NNSeedData]:
    """The mnist-cnn scenario's split and partition per seed; ``per_class`` keeps the first n digits of each class."""
    from harness.scenarios.mnist_cnn import SCENARIO
    from harness.study.config import load_config
    from harness.study.scenario import Dataset

    dataset = SCENARIO.load(load_config(scenario="mnist-cnn", data=mnist))
    if per_class is not None:
        small = dataset.frame.groupby(SCENARIO.label).head(per_class).reset_index(drop=True)
        dataset = Dataset(small, dataset.features, dataset.sha256, dataset.card, 0.0)
    return [SCENARIO.seed_data(dataset, load_config(scenario="mnist-cnn", data=mnist, seed=s)) for s in seeds]


def settings_for(seed: int, epochs: int) -> HomoNNSettings:
    """The scenario's model and training settings for ``seed``, with ``epochs`` rounds."""
    from harness.scenarios.mnist_cnn import SCENARIO
    from harness.study.config import load_config

    return dataclasses.replace(SCENARIO.default_model_settings(load_config(scenario="mnist-cnn", seed=seed)),
                               epochs=epochs)


Params = dict[str, np.ndarray]


def federated_params(engine: Engine, work_dir: Path, data: Sequence[NNSeedData],
                     settings: Sequence[HomoNNSettings], tables_dir: Path) -> list[tuple[Params, JobResult]]:
    """Every seed's FATE HomoNN fit in one ``run_many``; the guest's final parameters and result of each."""
    from harness.study.config import load_config

    roles = load_config(scenario="mnist-cnn").roles
    jobs = []
    for d, s in zip(data, settings, strict=True):
        tag = f"security_cnn_s{s.seed}"
        requests = [upload_request(p, d.parts[p], d.features, tables_dir, f"{tag}_train_p{p}", label=d.label,
                                   id_column=d.id_column) for p in d.parties]
        requests += [upload_request(p, d.test, d.features, tables_dir, f"{tag}_test", label=d.label,
                                    id_column=d.id_column) for p in d.parties]
        tables: list[Table] = engine.upload_many(requests)
        train = {t.party_id: t for t in tables[: len(d.parties)]}
        test = {t.party_id: t for t in tables[len(d.parties):]}
        job = FitJob(roles=roles, train=train, test=test, model=s, label=d.label, id_column=d.id_column)
        jobs.append((f"security: mnist CNN HomoNN seed {s.seed}", job))
    results = engine.run_many(jobs)
    return [(dict(np.load(params_path(work_dir, r.job_id))), r) for r in results]


def with_params(settings: HomoNNSettings, params: dict[str, np.ndarray]) -> torch.nn.Module:
    model = build_model(settings)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in params.items()})
    return model.eval()


def same_predictions(model: torch.nn.Module, data: NNSeedData, fate: JobResult) -> float:
    """Share of test digits where the loaded parameters predict what FATE's guest predicted: 1.0 when the
    attacked model is the one FATE trained."""
    scores = fate.scores.set_index(data.id_column)["score"]
    x, _ = data.arrays(data.test)
    theirs = scores.loc[data.test[data.id_column].to_numpy()].to_numpy().astype(np.int64)
    return float(np.mean(predict(model, x) == theirs))


def trained(settings: HomoNNSettings, frame: pd.DataFrame, data: NNSeedData) -> tuple[torch.nn.Module, float]:
    """The in-process arm on ``frame``: the model and its test accuracy."""
    x, y = data.arrays(frame)
    x_test, y_test = data.arrays(data.test)
    fit = train_local(settings, x, y, x_test, y_test)
    assert fit.model is not None
    return fit.model.eval(), fit.test_accuracy[-1]


def flipped(model: torch.nn.Module, x: torch.Tensor, adv: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the rows ``model`` classifies correctly whose prediction ``adv`` changes."""
    correct = torch.from_numpy(predict(model, x.numpy()) == y.numpy())
    if not bool(correct.any()):
        return float("nan")
    return float(np.mean(predict(model, adv[correct].numpy()) != y[correct].numpy()))


def one_seed(targets: dict[str, torch.nn.Module], surrogate: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
             epsilons: Sequence[float], steps: int) -> dict[Key, float]:
    """White-box FGSM/PGD on every target, and both crafted on the surrogate then transferred."""
    out: dict[Key, float] = {}
    attacks: dict[str, Callable[[torch.nn.Module, float], torch.Tensor]] = {
        "fgsm": lambda m, eps: fgsm(m, x, y, eps),
        "pgd": lambda m, eps: pgd(m, x, y, eps, steps),
    }
    for eps in epsilons:
        for crafted, attack in attacks.items():
            transferred = attack(surrogate, eps)
            for name, model in targets.items():
                out[(name, crafted, eps)] = flipped(model, x, attack(model, eps), y)
                out[(name, "transfer", eps, crafted)] = flipped(model, x, transferred, y)
    return out


def run_cnn_transfer(engine: Engine, work_dir: Path, mnist: Path, seeds: Sequence[int], epochs: int,
                     epsilons: Sequence[float], steps: int, per_class: int | None = None,
                     threads: int = 2) -> dict[str, Any]:
    """The ``adversarial`` rows of the three CNNs over ``seeds``, and what each seed's models scored."""
    data = seed_data(mnist, seeds, per_class)
    settings = [settings_for(s, epochs) for s in seeds]
    say(f"adversarial mnist cnn: {len(seeds)} federated HomoNN fits ({epochs} rounds) on {engine.name}")
    params = federated_params(engine, work_dir, data, settings, work_dir / "cnn_tables")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    per_seed, accuracy = [], []
    try:
        for d, s, (p, fate) in zip(data, settings, params, strict=True):
            federated = with_params(s, p)
            x_test, y_test = (torch.from_numpy(a) for a in d.arrays(d.test))
            same = same_predictions(federated, d, fate)
            central, central_acc = trained(s, pd.concat([d.parts[q] for q in d.parties]), d)
            attacker = d.parties[0]
            surrogate, surrogate_acc = trained(s, d.parts[attacker], d)
            fed_acc = float(np.mean(predict(federated, x_test.numpy()) == y_test.numpy()))
            accuracy.append({"seed": s.seed, "federated": fed_acc, "centralized": central_acc,
                             "surrogate": surrogate_acc, "surrogate_party": attacker,
                             "surrogate_rows": len(d.parts[attacker]), "test_rows": len(d.test),
                             "federated_job": fate.job_id, "same_predictions_as_fate": same})
            say(f"adversarial mnist cnn seed {s.seed}: test accuracy federated {fed_acc:.3f}, centralised "
                f"{central_acc:.3f}, surrogate (party {attacker} alone) {surrogate_acc:.3f}; attacking")
            per_seed.append(one_seed(dict(zip(TARGETS, (federated, central), strict=True)), surrogate,
                                     x_test, y_test, epsilons, steps))
    finally:
        torch.set_num_threads(previous)
    return {
        "rows": summarize(per_seed, ("model", "attack", "epsilon", "crafted")),
        "models": accuracy,
        "federated_engine": engine.name,
        "epochs": epochs,
        "digits_per_class": per_class,
    }
