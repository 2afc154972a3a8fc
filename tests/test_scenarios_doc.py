"""docs/scenarios.md's worked example is a working scenario: found by the same discovery, its arms run.

The module is taken from the page, written into a temporary directory that is added to the
``harness.scenarios`` package path, so a change to the scenario API that breaks the walkthrough fails here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness.scenarios
from harness import cli
from harness.errors import DataError
from harness.study.arms import SeedOutcome
from harness.study.config import load_config
from harness.study.pipeline import plan_seed
from harness.study.scenario import CENTRALIZED, FEDERATED, LOCAL_PREFIX, discover, get_scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
MODULE = "breast_cancer_homolr"


def example_module() -> str:
    found = re.search(r"```python\n(\"\"\"UCI breast-cancer.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert found, "docs/scenarios.md lost its worked example"
    return found.group(1)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / f"{MODULE}.py").write_text(example_module())
    monkeypatch.setattr(harness.scenarios, "__path__", [*harness.scenarios.__path__, str(tmp_path)])
    yield "breast-cancer-homolr"
    sys.modules.pop(f"harness.scenarios.{MODULE}", None)


def test_the_example_is_listed_beside_the_shipped_scenarios(example: str, capsys: pytest.CaptureFixture) -> None:
    assert set(discover()) >= {example, "lending-club-homolr"}
    assert cli.main(["scenarios"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "UCI breast-cancer diagnosis" in lines[example] and "breast_cancer.csv" in lines[example]


def test_the_examples_in_process_arms_run_on_its_default_data(example: str, tmp_path: Path) -> None:
    scenario = get_scenario(example)
    config = load_config(scenario=example, work_dir=tmp_path / "work", sweep=False)
    assert config.data == scenario.default_data and config.data.exists()
    plan = plan_seed(scenario, config, config.seed, scenario.load(config), "no engine")
    # The federated arm planned one fit over the three hospitals' own tables, written for upload.
    [fed_fits, central_fits, local_fits] = plan.fits
    [fit] = fed_fits
    assert set(fit.train) == set(config.data_parties()) and not central_fits and not local_fits
    assert all(request.path.exists() and request.label == "benign" for request in fit.train.values())
    outcome = SeedOutcome(seed=config.seed)
    for arm, fits in zip(plan.arms, plan.fits, strict=True):
        if not fits:
            arm.finish(plan.context, [], outcome)
    assert set(outcome.arms) == {CENTRALIZED, *(f"{LOCAL_PREFIX}{p}" for p in config.data_parties())}
    assert FEDERATED not in outcome.arms
    for arm, metrics in outcome.arms.items():
        # A real model on real data: well above chance, and scored on every held-out patient.
        assert metrics["auc"] > 0.9, arm
        assert metrics["n"] == len(plan.context.data.test)


def test_a_broken_file_is_one_data_error(example: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("569,30,malignant,benign\n1,2,3\n")
    scenario = get_scenario(example)
    with pytest.raises(DataError, match="not 30 features"):
        scenario.load(load_config(scenario=example, data=bad))
