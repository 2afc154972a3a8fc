"""The launcher engine runs the same fit as FATE-Flow: a drift beyond the bounds fails here (marker ``fate``).

One federated HomoLR fit through the embedded FATE-Flow (standalone) and the same fit through FATE's
multi-process launcher, on two data sets: the bundled Lending Club sample's tables exactly as
``make experiment`` builds them (3 parties, study settings), and FATE's own default-credit horizontal
split (2 parties, first rows of each file). Both fits of each engine run in one go: two FATE-Flow
jobs submitted together, one launch. Bounds: harness/engines/validation.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.data import prepare
from harness.data.partition import partitioner_from_config
from harness.data.scaling import Scaler, fit_scaler
from harness.data.split import stratified_split, synthetic_id_offsets
from harness.engines.base import FitJob, Roles, UploadRequest
from harness.engines.fate22.launcher import LauncherEngine
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.validation import BOUNDS, compare_fits
from harness.model.logreg import HomoLRSettings
from harness.study.config import load_config
from harness.study.pipeline import balance, upload_request

pytestmark = pytest.mark.fate

ROOT = Path(__file__).resolve().parents[1]
# Beside the checkout in CI; worktrees of /work/main find it at /work/shared.
CREDIT = next(
    (
        p
        for p in (
            ROOT.parent / "shared" / "data" / "fate_default_credit",
            Path("/work/shared/data/fate_default_credit"),
        )
        if p.is_dir()
    ),
    None,
)
CREDIT_ROWS = 2000
ID, LABEL = prepare.ID_COLUMN, prepare.LABEL


def sample_job(directory: Path) -> tuple[list[UploadRequest], Roles, HomoLRSettings]:
    """The study's federated arm on the bundled sample: split, partition, pooled scaling, SMOTE per party."""
    config = load_config(data=ROOT / "data" / "loan_2011q4_head5k.csv", sweep=False)
    card_dir = directory / "prepared"
    prepare.prepare_file(config.data, card_dir, progress=False)
    frame = pd.read_csv(card_dir / "prepared.csv")
    features = prepare.feature_columns(frame.columns)
    parties = list(config.data_parties())
    train, test = stratified_split(frame, label=LABEL, test_size=config.test_size, seed=config.seed)
    parts = partitioner_from_config(config.partition, party_ids=parties).partition(train, config.seed)
    offsets = synthetic_id_offsets(frame[ID], parties)
    pooled = Scaler.merge([fit_scaler(parts[p], features, log_columns=config.log_columns) for p in parties])
    rows = {p: balance(pooled.transform(parts[p]), features, config, offsets[p]).rows for p in parties}
    requests = [upload_request(p, rows[p], features, directory, f"pytest_launcher_train_p{p}") for p in parties]
    requests += [
        upload_request(p, pooled.transform(test), features, directory, "pytest_launcher_test") for p in parties
    ]
    return requests, config.roles, config.model


def credit_job(directory: Path) -> tuple[list[UploadRequest], Roles, HomoLRSettings]:
    """FATE's default-credit split: guest and host_1 train, FATE's test file scored by both."""
    requests = []
    for party, name in (("9999", "guest"), ("9998", "host_1"), ("9999", "test"), ("9998", "test")):
        path = CREDIT / f"default_credit_homo_{name}.csv"
        frame = pd.read_csv(path, nrows=CREDIT_ROWS).rename(columns={"id": ID, "y": LABEL})
        tag = f"pytest_launcher_credit_{name}" + ("" if name == "test" else f"_p{party}")
        requests.append(upload_request(party, frame, [c for c in frame.columns if c.startswith("x")], directory, tag))
    settings = HomoLRSettings(epochs=20, learning_rate=0.02, alpha=1.0)
    return requests, Roles(guest="9999", hosts=("9998",), arbiter="10000"), settings


def homo_lr_jobs(
    specs: dict[str, tuple[list[UploadRequest], Roles, HomoLRSettings]], engine
) -> list[tuple[str, FitJob]]:
    jobs = []
    for what, (requests, roles, settings) in specs.items():
        tables = engine.upload_many(requests)
        # Every table name starts with "pytest_": tell train from test by the tag's last word.
        test = {t.party_id: t for t in tables if t.name.rsplit("_", 1)[0].endswith("_test")}
        train = {t.party_id: t for t in tables if t not in test.values()}
        jobs.append((what, FitJob(roles=roles, train=train, test=test, model=settings, label=LABEL, id_column=ID)))
    return jobs


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    directory = tmp_path_factory.mktemp("launcher_validation")
    specs = {"sample": sample_job(directory)}
    if CREDIT is not None:
        specs["credit"] = credit_job(directory)
    flow = StandaloneEngine(ROOT / ".fatelab" / "flow", progress=False)
    flow.start()
    flow_results = flow.run_many(homo_lr_jobs(specs, flow))
    for result, (requests, roles, _) in zip(flow_results, specs.values(), strict=True):
        result.coefficients = flow.client.model_coefficients(result.job_id, "guest", roles.guest)
    launcher = LauncherEngine(directory / "launcher")
    launcher.start()
    launcher_results = launcher.run_many(homo_lr_jobs(specs, launcher))
    blocks = {
        what: compare_fits(a, b, engines=(flow.name, launcher.name), id_column=ID)
        | {"wall_s": {flow.name: round(a.wall_s, 2), launcher.name: round(b.wall_s, 2)}, "traffic": b.traffic}
        for what, a, b in zip(specs, flow_results, launcher_results, strict=True)
    }
    blocks["launch"] = launcher.last_launch
    print(json.dumps(blocks, indent=1))
    return blocks


@pytest.mark.parametrize("data", ["sample", "credit"])
def test_launcher_fit_matches_fate_flow(compared: dict[str, dict], data: str) -> None:
    if data not in compared:
        pytest.skip("FATE's default-credit split is not present (shared/data/fate_default_credit)")
    block = compared[data]
    for key, bound in BOUNDS.items():
        assert block[key] <= bound, f"{data}: {key} {block[key]:.3g} exceeds {bound:g}: {block}"
    assert block["within_bounds"]
    # A model that stayed at its zero initialisation would agree trivially.
    assert block["max_abs_coef"] > 1e-3
    assert 0.6 < block["auc"]["fate-2.2-launcher"] < 1.0


def test_every_party_sent_counted_bytes(compared: dict[str, dict]) -> None:
    launch = compared["launch"]
    assert launch["fits"] == len(compared) - 1
    # Each launch (several run at once: launcher_lanes) lasts at least as long as its fits.
    assert all(lane["launch_s"] >= lane["fit_s_sum"] for lane in launch.get("lanes", [launch]))
    expected = {
        "sample": ["arbiter:10000", "guest:9999", "host:10000", "host:9998"],
        "credit": ["arbiter:10000", "guest:9999", "host:9998"],
    }
    for data in compared.keys() - {"launch"}:
        traffic = compared[data]["traffic"]
        assert sorted(traffic["parties"]) == expected[data]
        assert all(p["messages"] > 0 and p["bytes"] > 0 for p in traffic["parties"].values())
        assert traffic["bytes"] == sum(p["bytes"] for p in traffic["parties"].values())
        # HomoLR aggregates once per epoch: every round 0..19 carries traffic from every party.
        for party in traffic["parties"].values():
            assert [r for r in party["by_round"] if r != "setup"] == [str(i) for i in range(20)]


# ------------------------------------------------------------------------------------ several seeds
@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The study without the sweep on the launcher: --seeds 2, then --seeds 1 (two launches of 2 and 1 fits)."""
    from harness.study.pipeline import run_study

    out = []
    for seeds in (2, 1):
        config = load_config(
            data=ROOT / "data" / "loan_2011q4_head5k.csv",
            work_dir=ROOT / ".fatelab" / "work",
            reports_dir=tmp_path_factory.mktemp(f"reports{seeds}"),
            engine="launcher",
            seeds=seeds,
            sweep=False,
        )
        engine = LauncherEngine(tmp_path_factory.mktemp(f"launcher{seeds}"), progress=False)
        out.append(run_study(config, engine)[1])
    return out[0], out[1]


def test_two_seeds_on_the_launcher_add_intervals_and_keep_the_first_seeds_numbers(seed_runs: tuple[dict, dict]) -> None:
    two, one = seed_runs
    assert two["seeds"] == [42, 43] and two["excluded_seeds"] == []
    assert set(two["intervals"]) == set(two["arms"])
    fed = two["intervals"]["federated"]["auc"]
    assert fed["n"] == 2 and fed["low"] < fed["mean"] < fed["high"]
    # The two seeds really differ: each redraws split, partitions and SMOTE.
    assert two["seed_values"]["federated"]["auc"][0] != two["seed_values"]["federated"]["auc"][1]
    pairs = {(c["a"], c["b"], c["metric"]) for c in two["comparisons"]}
    assert ("federated", "centralized", "auc") in pairs and ("federated", "local:9998", "auc") in pairs
    # Seed 42 of the two-seed run is the single-seed run, to the last digit.
    assert two["arms"] == one["arms"] and two["seed"] == one["seed"] == 42
    assert "intervals" not in one
    assert two["arm_details"]["federated"]["ran"].startswith("fate-2.2-launcher: HomoLR")
