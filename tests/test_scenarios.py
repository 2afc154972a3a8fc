"""Scenarios as a user meets them: listed, picked by name, unknown names refused; discovery's rules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from studykit import run_fatelab as fatelab

import harness.scenarios
from harness.errors import ConfigError
from harness.study.config import load_config
from harness.study.scenario import DEFAULT_SCENARIO, discover, get_scenario

ROOT = Path(__file__).resolve().parents[1]

# A scenario module in a few lines: the shipped Lending Club study under another name and default data.
TOY = '''
from pathlib import Path
from harness.scenarios.lending_club_homolr import LendingClubHomoLR

class Toy(LendingClubHomoLR):
    name = "{name}"
    summary = "a toy"
    default_data = Path("{data}")

SCENARIO = Toy()
'''


@pytest.fixture
def add_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Write a module into a directory on the harness.scenarios package path (forgotten afterwards)."""
    monkeypatch.setattr(harness.scenarios, "__path__", [*harness.scenarios.__path__, str(tmp_path)])
    written: list[str] = []

    def add(module: str, text: str) -> None:
        (tmp_path / f"{module}.py").write_text(text)
        written.append(module)

    yield add
    for module in written:
        sys.modules.pop(f"harness.scenarios.{module}", None)


def test_scenarios_lists_each_with_summary_and_default_data() -> None:
    out = fatelab("scenarios")
    assert out.returncode == 0, out.stderr
    [line] = [x for x in out.stdout.splitlines() if x.startswith(DEFAULT_SCENARIO)]
    assert "Lending Club" in line and "data/loan_2011q4_head5k.csv" in line
    assert len(out.stdout.splitlines()) == len(discover())


def test_an_unknown_scenario_is_one_error_listing_the_known_ones() -> None:
    out = fatelab("experiment", "--scenario", "mnist", "--quiet")
    assert out.returncode == 2
    assert "unknown scenario 'mnist'" in out.stderr and DEFAULT_SCENARIO in out.stderr
    assert "fatelab scenarios" in out.stderr and "Traceback" not in out.stderr


def test_the_default_and_the_config_key(tmp_path: Path) -> None:
    assert load_config().scenario == DEFAULT_SCENARIO
    path = tmp_path / "study.yml"
    path.write_text(f"scenario: {DEFAULT_SCENARIO}\n")
    assert load_config(path).scenario == DEFAULT_SCENARIO
    path.write_text("scenario: nope\n")
    with pytest.raises(ConfigError, match="unknown scenario 'nope'; known scenarios: .*lending-club-homolr"):
        load_config(path)
    path.write_text("scenario: [lending-club-homolr]\n")
    with pytest.raises(ConfigError, match="scenario must be a scenario name"):
        load_config(path)


@pytest.mark.parametrize("name", [s.name for s in discover().values()])
def test_naming_a_scenario_keeps_the_default_engine_and_seeds(name: str) -> None:
    # Regression: `make experiment SCENARIO=lending-club-homolr` once ran 1 seed on standalone FATE-Flow
    # while `make experiment` ran 10 on the launcher.
    named, unnamed = load_config(None, scenario=name), load_config(None)
    assert named.engine == unnamed.engine == "launcher"
    if name == DEFAULT_SCENARIO:
        assert named.seeds == unnamed.seeds


def test_a_scenario_brings_its_default_data_unless_data_is_given(add_module: Callable[[str, str], None]) -> None:
    add_module("toy_one", TOY.format(name="toy-one", data="elsewhere/toy.csv"))
    assert load_config(scenario="toy-one").data == Path("elsewhere/toy.csv")
    assert load_config(scenario="toy-one", data="mine.csv").data == Path("mine.csv")
    assert load_config().data == get_scenario(DEFAULT_SCENARIO).default_data


def test_discovery_skips_helpers_and_modules_without_a_scenario(add_module: Callable[[str, str], None]) -> None:
    shipped = set(discover())  # the default and every other shipped scenario (lending-club-vertical, ...)
    assert DEFAULT_SCENARIO in shipped
    add_module("_shared", TOY.format(name="hidden", data="x.csv"))
    add_module("notes", "SCENARIO = 'not a scenario object'\n")
    add_module("toy_two", TOY.format(name="toy-two", data="x.csv"))
    assert set(discover()) == shipped | {"toy-two"}


def test_two_modules_with_one_name_are_an_error_naming_both(add_module: Callable[[str, str], None]) -> None:
    add_module("copy_of_lending_club", TOY.format(name=DEFAULT_SCENARIO, data="x.csv"))
    with pytest.raises(ConfigError, match="is defined twice") as refused:
        discover()
    assert "harness.scenarios.copy_of_lending_club" in str(refused.value)
    assert "harness.scenarios.lending_club_homolr" in str(refused.value)
