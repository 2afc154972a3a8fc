"""mnist-cnn's data steps (split, partitions) and the NN arms' cost and convergence bookkeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import build_parser, experiment_config
from harness.data.partition import DirichletPartitioner, SizePartitioner
from harness.engines.base import JobResult
from harness.errors import ConfigError
from harness.scenarios.mnist_cnn import SCENARIO, TEST_SIZE
from harness.study.arms import SeedOutcome
from harness.study.config import load_config
from harness.study.nn_arms import COST, CURVES, ConvergenceSummary, federated_cost
from harness.study.scenario import CENTRALIZED, FEDERATED, get_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset():  # noqa: ANN201
    return SCENARIO.load(load_config(scenario="mnist-cnn", data=ROOT / "data" / "mnist" / "mnist_5k.csv.gz"))


def test_listed_with_its_own_default_data() -> None:
    assert get_scenario("mnist-cnn") is SCENARIO
    assert load_config(scenario="mnist-cnn").data == Path("data/mnist/mnist_5k.csv.gz")
    # Curves and per-round cost come from the launcher; an explicit engine still wins.
    assert load_config(scenario="mnist-cnn").engine == "launcher"
    assert load_config(scenario="mnist-cnn", engine="standalone").engine == "standalone"


def test_a_scenario_may_run_fewer_seeds_on_the_launcher_unless_told() -> None:
    # imdb-lstm states 6 (its 15-minute budget); an explicit count or a FATE-Flow engine still wins.
    assert load_config(scenario="imdb-lstm").seeds == 6
    assert load_config(scenario="imdb-lstm", seeds=10).seeds == 10
    assert load_config(scenario="imdb-lstm", engine="standalone").seeds == 1
    assert load_config(scenario="mnist-cnn").seeds == 10 and load_config(scenario="thucnews-cnn").seeds == 10


def test_stratified_test_split_and_iid_thirds(dataset) -> None:  # noqa: ANN001
    config = load_config(scenario="mnist-cnn")
    assert isinstance(SCENARIO.partitioner(config), SizePartitioner)
    data = SCENARIO.seed_data(dataset, config)
    assert len(data.test) == int(5000 * TEST_SIZE)
    assert data.test["digit"].value_counts().tolist() == [100] * 10
    assert set(data.train["sample_id"]).isdisjoint(data.test["sample_id"])
    sizes = [len(data.parts[p]) for p in data.parties]
    assert sum(sizes) == 4000 and max(sizes) - min(sizes) <= 1
    for p in data.parties:  # IID: every party holds every digit in about equal numbers
        counts = data.parts[p]["digit"].value_counts()
        assert len(counts) == 10 and counts.max() - counts.min() <= 2
    again = SCENARIO.seed_data(dataset, config)
    assert all(data.parts[p]["sample_id"].tolist() == again.parts[p]["sample_id"].tolist() for p in data.parties)


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_the_shipped_dirichlet_configs_skew_the_digits_over_the_parties(alpha: float) -> None:
    config = load_config(ROOT / "configs" / f"mnist-dirichlet-{alpha}.yml")
    partitioner = SCENARIO.partitioner(config)
    assert config.scenario == "mnist-cnn" and config.engine == "launcher" and config.seeds == 10
    assert isinstance(partitioner, DirichletPartitioner)
    assert (partitioner.alpha, partitioner.label, partitioner.party_ids) == (alpha, "digit", ("9999", "9998", "10000"))


def test_dirichlet_partition_skews_labels(dataset) -> None:  # noqa: ANN001
    config = load_config(scenario="mnist-cnn", partition={"kind": "dirichlet", "alpha": 0.1})
    assert isinstance(SCENARIO.partitioner(config), DirichletPartitioner)
    data = SCENARIO.seed_data(dataset, config)
    shares = np.array([data.parts[p]["digit"].value_counts(normalize=True).max() for p in data.parties])
    assert shares.max() > 0.3  # some party is dominated by a few digits (IID would be ~0.1)
    assert sum(len(data.parts[p]) for p in data.parties) == 4000


def traffic(rounds: int) -> dict:
    def party(name: str, per_round: int) -> dict:
        by_round = {"setup": {"bytes": 50}} | {str(i): {"bytes": per_round} for i in range(rounds)}
        return {"party": name, "bytes": 50 + rounds * per_round, "by_round": by_round,
                "round_s": [1.5] * rounds, "compute_s": [1.0] * rounds}

    parties = {"guest:9999": party("guest:9999", 100), "arbiter:10000": party("arbiter:10000", 300)}
    return {"parties": parties, "bytes": sum(p["bytes"] for p in parties.values())}


def test_federated_cost_per_party_per_round() -> None:
    result = JobResult("s/fit0", pd.DataFrame(), {}, wall_s=12.345, traffic=traffic(3))
    cost = federated_cost(result)
    assert cost["wall_s"] == 12.35 and cost["bytes"] == (50 + 300) + (50 + 900)
    assert cost["parties"]["guest:9999"]["bytes_per_round"] == [100, 100, 100]
    assert cost["parties"]["arbiter:10000"]["setup_bytes"] == 50
    assert cost["parties"]["guest:9999"]["round_s"] == [1.5, 1.5, 1.5]


def test_convergence_rounds_and_bytes_to_centralised_minus_one_point() -> None:
    out = SeedOutcome(seed=1)
    out.arms[CENTRALIZED] = {"accuracy": 0.96}
    out.sections[CURVES] = {FEDERATED: [0.80, 0.93, 0.951, 0.96], CENTRALIZED: [0.9, 0.955, 0.96]}
    out.sections[COST] = {FEDERATED: federated_cost(JobResult("s/fit0", pd.DataFrame(), {}, 1.0, traffic=traffic(4)))}
    ConvergenceSummary().finish(None, [], out)  # type: ignore[arg-type]
    summary = out.sections["convergence"]
    assert summary["federated_rounds_to_target"] == 3 and summary["centralized_epochs_to_target"] == 2
    assert summary["federated_bytes_to_target"] == (50 + 3 * 100) + (50 + 3 * 300)
    out.sections[CURVES] = {FEDERATED: [0.5], CENTRALIZED: [0.96]}
    ConvergenceSummary().finish(None, [], out)  # type: ignore[arg-type]
    assert out.sections["convergence"]["federated_rounds_to_target"] is None


def test_report_renders_with_the_scenario_sections(dataset, tmp_path: Path) -> None:  # noqa: ANN001
    from harness.report.markdown import render_markdown
    from harness.report.nn import figure_plans

    config = load_config(scenario="mnist-cnn")
    data = SCENARIO.seed_data(dataset, config)
    sections = SCENARIO.results_sections(config, data)
    assert sections["partitioner"]["kind"] == "size" and sections["partitioner"]["stratify"] == "digit"
    y = data.test["digit"].to_numpy()
    metrics, _ = SCENARIO.metrics(y, y.astype(float), config)
    results = {"run_id": "t", "arms": {FEDERATED: metrics, CENTRALIZED: metrics}, **sections,
               "curves": {FEDERATED: [0.5, 1.0], CENTRALIZED: [1.0]}, "cost": {},
               "model": {"family": SCENARIO.model_family, "settings": SCENARIO.model_settings(config).__dict__}}
    text = render_markdown(results, figure_plans(results))
    assert "Partitioner: `size`" in text and "## Deep-learning metrics" in text


def test_run_nn_settings_go_over_the_scenarios_own() -> None:
    own = SCENARIO.model_settings(load_config(scenario="mnist-cnn"))
    tuned = SCENARIO.model_settings(load_config(scenario="mnist-cnn", nn={"epochs": 2, "aggregator": "plaintext"}))
    assert (own.epochs, own.aggregator) == (20, "secure_aggregate")
    assert (tuned.epochs, tuned.aggregator, tuned.layers) == (2, "plaintext", own.layers)


@pytest.mark.parametrize(
    ("nn", "message"),
    [({"layers": []}, "unknown nn settings: layers"), ({"epochs": 0}, "epochs must be a positive integer"),
     ({"aggregator": "median"}, "aggregator must be one of"), ([2], "nn must be a mapping")],
)
def test_bad_nn_settings_are_one_clear_error(nn: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SCENARIO.model_settings(load_config(scenario="mnist-cnn", nn=nn))


def test_cli_epochs_sets_the_rounds_of_a_deep_learning_scenario() -> None:
    args = build_parser().parse_args(["experiment", "--scenario", "mnist-cnn", "--epochs", "3"])
    assert SCENARIO.model_settings(experiment_config(args)).epochs == 3
