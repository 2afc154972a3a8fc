"""What a study runs: a scenario bundles its data, partitioner, model family, arms and metrics.

A scenario is one module in ``harness/scenarios/`` that defines ``SCENARIO``, an instance of a
:class:`Scenario` subclass (Flower Baselines' "one package per study" and scikit-learn's estimators
are the models: the class says what, the run's config says how much). The pipeline only calls the
hooks below, in this order, for every run:

1. ``load(config)``: read and prepare the data once per run (cached by the scenario as it likes);
2. ``seed_data(dataset, config)``: for ``config.seed``, split, partition and balance;
3. ``arms(config)``: the arms to run on that seed data; federated arms plan FATE fits, the pipeline
   uploads and runs every planned fit of the run in one ``upload_many`` and one ``run_many``, then
   each arm turns its fits (or its in-process training: ``fit_local``) into ``metrics``;
4. ``results_sections``: the scenario's own blocks of results.json (parties, partitioner, balance);
5. ``stats_plan`` (runs of several seeds): the metrics the seeds are summarised and compared on, the
   claim metric and margin, and baseline arms (:class:`harness.stats.plan.StatsPlan`).

Discovery: every module of the ``harness.scenarios`` package (its ``__path__``) that defines
``SCENARIO`` is a scenario; adding a module adds a scenario, nothing else needs to know.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from harness.arm_names import CENTRALIZED as CENTRALIZED
from harness.arm_names import FEDERATED as FEDERATED
from harness.arm_names import LOCAL_PREFIX as LOCAL_PREFIX
from harness.errors import ConfigError
from harness.progress import is_quiet
from harness.stats.plan import BINARY_PLAN, StatsPlan

if TYPE_CHECKING:
    from harness.study.arms import Arm
    from harness.study.config import StudyConfig

SCENARIOS_PACKAGE = "harness.scenarios"
DEFAULT_SCENARIO = "lending-club-homolr"



def file_sha256(path: Path) -> str:
    """The input's digest for the report's data section (and a scenario's cache key)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def say(message: str, *, summary: bool = False) -> None:
    """One of the run's own progress lines; with --quiet only the ``summary`` lines print."""
    if summary or not is_quiet():
        print(f"[fatelab] {message}", flush=True)


@dataclass(frozen=True)
class Dataset:
    """A scenario's prepared data: what every seed of a run splits, partitions and balances."""

    frame: pd.DataFrame
    features: tuple[str, ...]
    sha256: str  # of the input file(s): what the report says the numbers came from
    # The data card for the report: rows in/out per preparation step, the input's sha256, ...
    card: Mapping[str, Any]
    prepare_s: float


class Scenario(ABC):
    """One study: name, one-line summary and default data, plus the hooks the pipeline calls."""

    name: ClassVar[str]
    summary: ClassVar[str]
    default_data: ClassVar[Path]
    model_family: ClassVar[str]  # for the report: "logistic regression", "CNN", ...
    # The label and sample-id columns of the prepared table.
    label: ClassVar[str]
    id_column: ClassVar[str]
    # The engine a run uses unless told otherwise (StudyConfig's own default is standalone).
    default_engine: ClassVar[str] = "standalone"
    # Seeds of a launcher run unless told otherwise; None: the launcher's default (10).
    launcher_seeds: ClassVar[int | None] = None

    @abstractmethod
    def load(self, config: StudyConfig) -> Dataset:
        """Read ``config.data`` and prepare it; a bad file is a DataError naming it."""

    @abstractmethod
    def seed_data(self, dataset: Dataset, config: StudyConfig) -> Any:
        """Split, partition and balance for ``config.seed``: what this scenario's arms consume."""

    @abstractmethod
    def arms(self, config: StudyConfig) -> Sequence[Arm]:
        """The arms of one seed, in report order (federated, centralized, local:<party>, extras)."""

    @abstractmethod
    def model_settings(self, config: StudyConfig) -> Any:
        """The model family's settings, shared by the federated fit and the in-process arms."""

    @abstractmethod
    def fit_local(
        self, train: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], config: StudyConfig
    ) -> tuple[np.ndarray, int]:
        """The in-process arms' trainer: fit on ``train``, return scores on ``test`` and the epochs run."""

    @abstractmethod
    def metrics(self, y: np.ndarray, scores: np.ndarray, config: StudyConfig) -> tuple[dict, dict]:
        """Every metric of one arm from true labels and scores, and the curve points for the figures."""

    def results_sections(self, config: StudyConfig, data: Any) -> dict[str, Any]:
        """Scenario-specific top-level results.json sections (parties, partitioner, balance, model)."""
        return {}

    def stats_plan(self, config: StudyConfig) -> StatsPlan:
        """What a multi-seed run summarises, compares and decides its claims on; binary (AUC) by default."""
        return BINARY_PLAN

    def line(self) -> str:
        """``fatelab scenarios``: one line per scenario."""
        return f"{self.name:<24} {self.summary} (default data: {self.default_data})"


# ------------------------------------------------------------------------------------ discovery
def _package_path() -> list[str]:
    package = importlib.import_module(SCENARIOS_PACKAGE)
    return list(package.__path__)


def discover() -> dict[str, Scenario]:
    """Every scenario module's ``SCENARIO``, by name, sorted by name."""
    found: dict[str, tuple[Scenario, str]] = {}
    for module_info in pkgutil.iter_modules(_package_path()):
        if module_info.name.startswith("_"):
            continue
        module_name = f"{SCENARIOS_PACKAGE}.{module_info.name}"
        scenario = getattr(importlib.import_module(module_name), "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            continue
        if scenario.name in found:
            raise ConfigError(
                f"scenario name {scenario.name!r} is defined twice: in {found[scenario.name][1]} and {module_name}",
                hint="give each scenario module its own name",
            )
        found[scenario.name] = (scenario, module_name)
    return {name: found[name][0] for name in sorted(found)}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; an unknown name is one ConfigError listing the known ones."""
    known = discover()
    if name not in known:
        raise ConfigError(
            f"unknown scenario {name!r}; known scenarios: {', '.join(known) or 'none'}",
            hint="`fatelab scenarios` lists them with a one-line summary each",
        )
    return known[name]
