"""The launcher engine's parts that need no FATE: plan, launch supervision, wire counter, validation."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main, make_engine
from harness.engines.base import FitJob, JobResult, Roles, Table, UploadRequest
from harness.engines.fate22.launcher import LauncherEngine, build_plan, launch_command, launch_parties, run_launch
from harness.engines.fate22.wire import SETUP, WireCounter, fit_traffic, round_of
from harness.engines.validation import coefficients_from_model, compare_fits, find_model
from harness.errors import ConfigError, EngineError
from harness.model.logreg import HomoLRSettings
from harness.report.markdown import bytes_text
from harness.study.config import load_config

MAIN = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")
SWEEP = Roles(guest="9999", hosts=("9998",), arbiter="10000")


def job(roles: Roles) -> FitJob:
    parties = roles.data_parties()
    return FitJob(
        roles=roles,
        train={p: Table(p, "launcher", f"train_{p}", 10) for p in parties},
        test={p: Table(p, "launcher", "test", 10) for p in parties},
        model=HomoLRSettings(epochs=1),
    )


def test_one_process_per_role_and_party_across_all_fits() -> None:
    swapped = Roles(guest="9998", hosts=("9999",), arbiter="10000")
    parties = launch_parties([job(MAIN), job(SWEEP), job(swapped)])
    # Host 10000 and arbiter 10000 are two processes; 9998 as guest of another fit is a third role.
    assert parties == [
        ("guest", "9999"),
        ("guest", "9998"),
        ("host", "9998"),
        ("host", "10000"),
        ("host", "9999"),
        ("arbiter", "10000"),
    ]


def test_plan_names_each_partys_own_files(tmp_path: Path) -> None:
    paths = {(p, n): tmp_path / f"{n}_{p}.csv" for p in ("9999", "9998", "10000") for n in ("train", "test")}
    paths = {(p, f"{n}_{p}" if n == "train" else "test"): v for (p, n), v in paths.items()}
    plan = build_plan([("main", job(MAIN)), ("sweep", job(SWEEP))], paths, session="s1", out_dir=tmp_path)
    main, sweep = plan["fits"]
    assert main["train"]["10000"].endswith("train_10000.csv") and main["test"]["9998"].endswith("test_9998.csv")
    assert sweep["parties"] == [["guest", "9999"], ["host", "9998"], ["arbiter", "10000"]]
    assert [f["index"] for f in plan["fits"]] == [0, 1]
    with pytest.raises(EngineError, match="not registered"):
        build_plan([("main", job(MAIN))], {}, session="s1", out_dir=tmp_path)


def test_command_passes_data_dir_and_log_level(tmp_path: Path) -> None:
    command = launch_command(tmp_path / "plan.json", [("guest", "9999"), ("arbiter", "10000")], tmp_path / "d", "s1")
    assert command[command.index("--data_dir") + 1] == str(tmp_path / "d")
    assert "--log_level" in command
    assert command[command.index("--parties") + 1 : command.index("--parties") + 3] == ["guest:9999", "arbiter:10000"]


def test_upload_records_files_and_rejects_a_missing_one(tmp_path: Path) -> None:
    engine = LauncherEngine(tmp_path)
    csv = tmp_path / "t.csv"
    csv.write_text("sample_id,x,loan_status\n1,0.5,1\n")
    [table] = engine.upload_many([UploadRequest("9999", csv, "t", 1)])
    assert table == Table("9999", "launcher", "t", 1)
    with pytest.raises(EngineError, match="does not exist"):
        engine.upload_many([UploadRequest("9999", tmp_path / "nope.csv", "nope", 1)])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its (killed) parent is a zombie: as good as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_a_hung_launch_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
        f"open({str(pid_file)!r}, 'w').write(str(child.pid)); print('party 0 waiting', flush=True); time.sleep(300)"
    )
    with pytest.raises(EngineError) as error:
        run_launch([sys.executable, "-c", script], log_path=tmp_path / "launch.log", timeout=3.0)
    assert "did not finish within 3 s" in error.value.message
    assert "party 0 waiting" in error.value.message  # the log tail is shown on failure
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while alive(child):
        assert time.monotonic() < deadline, "the launch's child process survived the timeout"
        time.sleep(0.2)


def test_a_failed_launch_shows_its_log(tmp_path: Path) -> None:
    script = (
        "import sys; print('Traceback ... in read_frame'); "
        "print('[launcher] party host:9998 failed: bad table'); sys.exit(1)"
    )
    with pytest.raises(EngineError) as error:
        run_launch([sys.executable, "-c", script], log_path=tmp_path / "launch.log", timeout=60)
    first = error.value.message.splitlines()[0]
    assert first == "the FATE launch failed (exit code 1): party host:9998 failed: bad table"
    assert "in read_frame" in error.value.message
    assert str(tmp_path / "launch.log") in (error.value.hint or "")


def test_a_good_launch_returns_quietly(tmp_path: Path) -> None:
    polls = []
    wall = run_launch(
        [sys.executable, "-c", "import time; print('noise'); time.sleep(1.5)"],
        log_path=tmp_path / "launch.log",
        timeout=60,
        on_poll=lambda: polls.append(1),
    )
    assert wall > 0 and polls
    assert (tmp_path / "launch.log").read_text().strip() == "noise"


class FakeFederation:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def push_bytes(self, v: bytes, name: str, tag: str, parties: list) -> None:
        self.sent.append((name, tag))

    def push_table(self, table: object, name: str, tag: str, parties: list) -> None:
        self.sent.append((name, tag))


class FakeTable:
    def collect(self) -> list[tuple[bytes, bytes]]:
        return [(b"\x00", b"abcd"), (b"\x01", b"ef")]


def test_counter_counts_each_recipients_copy_by_round() -> None:
    federation = FakeFederation()
    counter = WireCounter("guest:9999")
    counter.wrap(federation)
    arbiter, host = ("arbiter", "10000"), ("host", "9998")
    federation.push_bytes(b"x" * 10, "meta", "default.fit0.train", [arbiter, host])
    federation.push_bytes(b"y" * 100, "model", "default.fit0.train.aggregation-0", [arbiter])
    federation.push_bytes(b"z" * 7, "loss", "default.fit0.train.loss_aggregation-0", [arbiter])
    federation.push_bytes(b"w" * 100, "model", "default.fit0.train.aggregation-1", [arbiter])
    federation.push_table(FakeTable(), "t", "default.fit0.train.aggregation-1", [host])
    assert len(federation.sent) == 5  # every push still reaches FATE
    summary = counter.summary()
    assert (summary["messages"], summary["bytes"], summary["tables"], summary["table_rows"]) == (5, 235, 1, 2)
    assert list(summary["by_round"]) == [SETUP, "0", "1"]
    assert summary["by_round"]["0"] == {"messages": 2, "bytes": 107, "tables": 0, "table_rows": 0}
    assert summary["to"]["host:9998"]["bytes"] == 10 + 8
    traffic = fit_traffic([summary, {**summary, "party": "host:9998"}])
    assert traffic["bytes"] == 470 and set(traffic["parties"]) == {"guest:9999", "host:9998"}
    assert "470 B in 10 messages" in bytes_text(traffic)


class SliceTable:
    """What FATE pushes for a message above its maximum size: int slice indexes, byte-string slices."""

    def collect(self) -> list[tuple[int, bytes]]:
        return [(0, b"a" * 1000), (1, b"b" * 24)]


def test_counter_counts_the_slices_of_a_large_message() -> None:
    federation = FakeFederation()
    counter = WireCounter("host:9998")
    counter.wrap(federation)
    federation.push_table(SliceTable(), "model.__split__", "default.case0.aggregation-0", [("arbiter", "10000")])
    assert counter.summary()["by_round"]["0"] == {"messages": 0, "bytes": 1024, "tables": 1, "table_rows": 2}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("default.fit3.train.aggregation-12", "12"),
        ("default.fit3.train.loss_aggregation-0.sub", "0"),
        ("default.fit3.train", SETUP),
        ("default.fit3.train.nn_aggregation-2", SETUP),
    ],
)
def test_round_of(tag: str, expected: str) -> None:
    assert round_of(tag) == expected


def fit(weights: list[float], scores: list[float]) -> JobResult:
    frame = pd.DataFrame({"sample_id": [1, 2, 3, 4], "label": [0, 1, 0, 1], "score": scores})
    return JobResult("j", frame, {}, 1.0, coefficients={"weight": weights, "bias": [0.1]})


def test_validation_block_measures_the_drift() -> None:
    a = fit([0.5, -0.2], [0.1, 0.9, 0.3, 0.7])
    same = compare_fits(a, fit([0.5, -0.2], [0.1, 0.9, 0.3, 0.7]), engines=("flow", "launcher"), id_column="sample_id")
    assert same["within_bounds"] and same["max_abs_coef_diff"] == 0 and same["engines"] == ["flow", "launcher"]
    drift = compare_fits(
        a, fit([0.5, -0.2 + 3e-6], [0.1, 0.9, 0.35, 0.2]), engines=("flow", "launcher"), id_column="sample_id"
    )
    assert drift["max_abs_coef_diff"] == pytest.approx(3e-6)
    assert drift["max_abs_score_diff"] == pytest.approx(0.5)
    assert drift["auc_diff"] == pytest.approx(0.25)
    assert not drift["within_bounds"]


def test_validation_refuses_fits_of_different_rows() -> None:
    a = fit([0.5, -0.2], [0.1, 0.9, 0.3, 0.7])
    b = fit([0.5, -0.2], [0.1, 0.9, 0.3, 0.7])
    b.scores = b.scores.iloc[:3]
    with pytest.raises(EngineError, match="different rows"):
        compare_fits(a, b, engines=("a", "b"), id_column="sample_id")


def test_engine_is_selectable(tmp_path: Path) -> None:
    config = load_config(engine="launcher", work_dir=tmp_path)
    engine = make_engine(config, progress=False)
    assert isinstance(engine, LauncherEngine) and engine.describe()["name"] == "fate-2.2-launcher"
    with pytest.raises(ConfigError, match="launcher"):
        load_config(engine="nonsense")


def test_find_model_digs_out_fate_flows_nesting() -> None:
    model = {"feature_num": 2, "label_num": 1, "state_dict": {"models.0.weight": [[1.0, 2.0]], "models.0.bias": [3.0]}}
    reply = [{"output_model": {"data": {"param": {"model": model}, "meta": {}}}}]
    assert coefficients_from_model(find_model(reply)) == {"weight": [1.0, 2.0], "bias": [3.0]}
    assert find_model({"data": []}) == {}


def test_validate_needs_the_launcher_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "--engine", "standalone", "--validate"]) == 2
    assert "--engine launcher" in capsys.readouterr().err


def party_with_a_pool_worker(pid_file: str) -> None:
    """A party process as the launcher's are: its forked pool worker inherits the party's sentinel pipe."""
    worker = os.fork()
    if worker == 0:
        time.sleep(120)
        os._exit(0)
    Path(pid_file).write_text(str(worker))
    time.sleep(120)  # blocks like a party waiting for FATE's safe_to_exit


def test_killed_parties_are_reaped_while_their_pool_workers_live(tmp_path: Path) -> None:
    import multiprocessing
    import signal
    import types

    from harness.engines.fate22.launcher_party import kill_parties

    pid_file = tmp_path / "worker.pid"
    party = multiprocessing.get_context("fork").Process(target=party_with_a_pool_worker, args=(str(pid_file),))
    party.start()
    deadline = time.monotonic() + 60
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the party never started its worker"
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    try:
        started = time.monotonic()
        kill_parties(types.SimpleNamespace(processes=[party]), timeout=120)
        # join() would wait for the worker to close the sentinel: the full timeout (the old 10 s per party).
        assert time.monotonic() - started < 60, "kill_parties waited on the pool worker, not the party"
        assert party.exitcode == -signal.SIGKILL
    finally:
        os.kill(worker, signal.SIGKILL)
