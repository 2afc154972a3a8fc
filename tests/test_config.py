from __future__ import annotations

from pathlib import Path

import pytest

from harness.engines.base import Roles
from harness.errors import ConfigError
from harness.study.config import StudyConfig, SweepConfig, load_config


def test_defaults_are_the_study() -> None:
    config = load_config()
    assert config.roles == Roles("9999", ("9998", "10000"), "10000")
    assert config.partition["ratios"] == {"10000": 0.25, "9999": 0.25, "9998": 0.5}
    assert config.model.alpha == 1.0 and config.model.optimizer == "rmsprop" and config.model.penalty == "l2"
    assert config.sweep.ratios[0] == (0.1, 0.9) and len(config.sweep.ratios) == 5


def test_yaml_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "study.yml"
    path.write_text("seed: 7\nmodel: {epochs: 5}\nsweep: {ratios: [[0.3, 0.7]]}\n")
    config = load_config(path, seed=11)
    assert config.seed == 11
    assert config.model.epochs == 5 and config.model.alpha == 1.0
    assert config.sweep.ratios == ((0.3, 0.7),)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"roles": Roles("9999", ("9999", "10000"), "10000")}, "party 9999 is used by two data roles"),
        ({"roles": Roles("9999", ("x",), "10000")}, r"roles.hosts\[0\]: party_id must be a positive integer"),
        ({"test_size": 1.5}, "test_size"),
        ({"engine": "cluster"}, "needs an inventory"),
        ({"partition": {"kind": "size", "ratios": {"1": 0.5, "2": 0.5}}}, "partition ratios name parties"),
    ],
)
def test_invalid_configs_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StudyConfig(**kwargs)


def test_unknown_keys_and_bad_sweeps(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("sed: 1\n")
    with pytest.raises(ConfigError, match="unknown config keys: sed"):
        load_config(path)
    with pytest.raises(ConfigError, match="sweep ratio"):
        SweepConfig(ratios=((0.2, 0.9),))
    with pytest.raises(ConfigError, match="two distinct parties"):
        SweepConfig(parties=("9999", "9999"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yml")


def test_seeds_default_by_engine_and_count_from_the_first_seed() -> None:
    assert load_config().engine == "launcher" and load_config().seeds == 10
    assert load_config(engine="standalone").seeds == 1
    config = load_config(engine="standalone", seed=7, seeds="3")  # a flag's text
    assert config.seeds == 3 and config.seed_list() == (7, 8, 9)
    assert load_config(seeds=1).seed_list() == (42,)  # the first seed is the single-seed run's


@pytest.mark.parametrize("raw", [0, -2, "0", "-1", 2.5, "2.5", "three", True, [3]])
def test_bad_seed_counts_are_one_config_error(raw: object) -> None:
    with pytest.raises(ConfigError, match="seeds must be") as caught:
        load_config(seeds=raw)
    assert "--seeds 5" in (caught.value.hint or "")


def test_seeds_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "study.yml"
    path.write_text("engine: standalone\nseeds: 4\n")
    assert load_config(path).seeds == 4
    path.write_text("seeds: 0\n")
    with pytest.raises(ConfigError, match="seeds must be 1 or more, got 0"):
        load_config(path)
