"""docs/configuration.md stays true: its example loads, and it names every key the code defines."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from harness.model.logreg import HomoLRSettings
from harness.study.config import StudyConfig, SweepConfig, load_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _documented_keys() -> set[str]:
    """Keys in the first column of the page's tables: | `key` | ..."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(), flags=re.MULTILINE))


def test_every_config_and_model_key_is_documented() -> None:
    keys = {f.name for cls in (StudyConfig, HomoLRSettings) for f in dataclasses.fields(cls)}
    assert keys - _documented_keys() == set()


def test_every_sweep_key_is_documented() -> None:
    text = DOC.read_text().split("## `sweep`", 1)[1].split("##", 1)[0]
    for field in dataclasses.fields(SweepConfig):
        assert f"`{field.name}`" in text, field.name


def test_the_example_is_a_valid_config(tmp_path: Path) -> None:
    example = re.search(r"```yaml\n(# study\.yml.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert example, "docs/configuration.md lost its study.yml example"
    path = tmp_path / "study.yml"
    path.write_text(example.group(1))
    config = load_config(path)
    assert config.scenario == "lending-club-homolr"
    assert config.seed == 7 and config.seeds == 3
    assert config.model.epochs == 10 and config.partition["kind"] == "dirichlet"
    assert config.sweep.ratios == ((0.2, 0.8), (0.5, 0.5))
