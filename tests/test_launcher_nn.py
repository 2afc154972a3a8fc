"""The launcher engine's HomoNN plumbing without running FATE: the plan names the family, outputs are read back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.engines.base import FitJob, Roles, Table
from harness.engines.fate22.launcher import build_plan, read_fit
from harness.engines.fate22.launcher_nn import params_path
from harness.model.logreg import HomoLRSettings
from harness.model.nn import HomoNNSettings, mnist_cnn_layers

ROLES = Roles("9999", ("9998",), "10000")


def job(model: object) -> FitJob:
    tables = {p: Table(p, "launcher", f"t{p}", 10) for p in ROLES.data_parties()}
    return FitJob(ROLES, tables, tables, model, label="digit", id_column="sample_id")  # type: ignore[arg-type]


def test_plan_says_which_component_trains(tmp_path: Path) -> None:
    paths = {(p, f"t{p}"): tmp_path / f"t{p}.csv" for p in ROLES.data_parties()}
    plan = build_plan([("nn", job(HomoNNSettings(mnist_cnn_layers()))), ("lr", job(HomoLRSettings()))], paths,
                      session="s", out_dir=tmp_path)
    assert [f["family"] for f in plan["fits"]] == ["homo_nn", "homo_lr"]
    conf = plan["fits"][0]["params"]["runner_conf"]
    assert conf["task_type"] == "multi" and conf["model_conf"]["item_name"] == "seeded_seq"
    json.dumps(plan)  # the party processes read it as JSON


def test_nn_fit_outputs_read_back(tmp_path: Path) -> None:
    fit = tmp_path / "fit0"
    fit.mkdir()
    pd.DataFrame({"sample_id": [1, 2], "label": [3, 4], "score": [3.0, 1.0]}).to_csv(fit / "scores.csv", index=False)
    (fit / "model.json").write_text(json.dumps({"loss_history": [2.3], "curves": {"test_accuracy": [0.5]}}))
    for role, party in ROLES.party_roles():
        wire = {"party": f"{role}:{party}", "messages": 2, "bytes": 100, "tables": 0, "table_rows": 0,
                "by_round": {"0": {"messages": 2, "bytes": 100, "tables": 0, "table_rows": 0}}, "to": {},
                "wall_s": 1.5, "round_s": [1.2], "compute_s": [1.0]}
        (fit / f"wire_{role}_{party}.json").write_text(json.dumps(wire))
    result = read_fit(tmp_path, 0, job(HomoNNSettings(mnist_cnn_layers())), "sess")
    assert result.curves == {"test_accuracy": [0.5]} and result.coefficients == {}
    assert result.traffic["parties"]["guest:9999"]["round_s"] == [1.2] and result.traffic["bytes"] == 300
    assert params_path(tmp_path, result.job_id) == tmp_path / "sess" / "out" / "fit0" / "params.npz"


def test_large_messages_sent_as_slice_tables_count_their_bytes() -> None:
    from harness.engines.fate22.wire import table_tally

    class SliceTable:  # what FATE's serdes pushes for a message above max_message_size: (index, bytes) rows
        def collect(self) -> list[tuple[int, bytes]]:
            return [(0, b"a" * 1000), (1, b"b" * 234)]

    assert table_tally(SliceTable()).as_dict() == {"messages": 0, "bytes": 1234, "tables": 1, "table_rows": 2}
