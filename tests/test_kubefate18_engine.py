"""The FATE 1.8 KubeFATE engine: real SSH on loopback, STAND-INS for FATE-Flow 1.8 and docker-compose.

FATE 1.8 images cannot run here. Everything around them is real: a throwaway sshd on 127.0.0.1
(host keys verified), placement with sha256 and atomic rename, the remote shell commands, the REST
client. What answers instead of FATE is labelled: ``KubeFlow18StandIn`` (one per party) and a
``docker-compose`` stand-in that plays the client container's ``flow data upload`` (see
tests/fakes/kubefate18_standin.py). Tests that use them carry ``standin`` in their names.
Each party gets its own ``confs-<id>/`` directory, as on three real hosts; asserting what arrived
reads the local filesystem directly.
"""

from __future__ import annotations

import dataclasses
import getpass
import grp
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.engines.base import NAMESPACE, FitJob, Roles, Table, UploadRequest
from harness.engines.fate18 import dsl as f18
from harness.engines.fate18.kubefate import DEFAULT_COMPOSE, DEFAULT_DEPLOY_DIR, KubeFate18Engine
from harness.engines.fate18.mapping import (
    Fate18Options,
    build_study_job,
    check_settings,
    fate18_job,
    homo_lr_params,
)
from harness.errors import ConfigError, EngineError, HostError
from harness.hosts.inventory import load_inventory
from harness.model.logreg import HomoLRSettings
from tests.fakes import flow18_standin
from tests.fakes.kubefate18_standin import KubeFlow18StandIn, standin_score, write_standin_compose
from tests.test_remote import Sshd, sshd  # noqa: F401 - module-scoped sshd fixture on 127.0.0.1

REPO = Path(__file__).resolve().parents[1]
PARTIES = (9999, 9998, 10000)
ROLES = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")
STUDY = HomoLRSettings(epochs=20, learning_rate=0.02, alpha=1.0, optimizer="rmsprop", penalty="l2")
MOUNT = "/data/projects/fate/examples/fatelab"


# ------------------------------------------------------------------------------------ fixtures
@dataclass
class Site:
    """Three stand-in parties behind one real sshd: deploy dirs, stand-in servers, inventory."""

    root: Path
    deploy: Path
    inventory: Path
    flows: dict[int, KubeFlow18StandIn]
    calls: Path

    def confs(self, pid: int) -> Path:
        return self.deploy / f"confs-{pid}"

    def data_dir(self, pid: int) -> Path:
        return self.confs(pid) / "shared_dir" / "examples" / "fatelab"

    def compose_calls(self) -> list[dict]:
        if not self.calls.exists():
            return []
        return [json.loads(line) for line in self.calls.read_text().splitlines()]

    def engine(self, **kwargs) -> KubeFate18Engine:
        kwargs.setdefault("poll", 0.01)
        return KubeFate18Engine(
            load_inventory(self.inventory), self.inventory, work_dir=self.root / "work", progress=False, **kwargs
        )


def write_inventory(path: Path, server: Sshd, deploy: Path, compose: Path, ports: dict[int, int], **extra) -> Path:
    hosts = {
        f"party{pid}": {"ansible_host": "127.0.0.1", "party_id": pid, "fate_flow_http_port": ports[pid]}
        for pid in PARTIES
    }
    all_vars = {
        "fate_deployment": "kubefate",
        "ansible_user": getpass.getuser(),
        "ansible_port": server.port,
        "ansible_ssh_private_key_file": str(server.key),
        "fatelab_known_hosts": str(server.known_hosts),
        # The kubefate role's group is docker; here, one the test user is surely in.
        "fatelab_remote_data_group": grp.getgrgid(os.getgid()).gr_name,
        "kubefate_deploy_dir": str(deploy),
        "kubefate_compose_command": str(compose),
        **extra,
    }
    path.write_text(yaml.safe_dump({"all": {"vars": all_vars, "children": {"fate_parties": {"hosts": hosts}}}}))
    return path


@pytest.fixture()
def site(sshd: Sshd, tmp_path: Path) -> Iterator[Site]:  # noqa: F811 - the imported fixture
    flows = {pid: KubeFlow18StandIn() for pid in PARTIES}
    for flow in flows.values():
        flow.__enter__()
    deploy = tmp_path / "deploy"
    for pid in PARTIES:
        confs = deploy / f"confs-{pid}"
        (confs / "shared_dir" / "examples").mkdir(parents=True)
        (confs / "docker-compose.yml").write_text("# stand-in project: only its presence is checked\n")
    calls = tmp_path / "compose-calls.jsonl"
    compose = write_standin_compose(
        tmp_path / "standin-docker-compose", {pid: f.port for pid, f in flows.items()}, calls
    )
    inventory = write_inventory(
        tmp_path / "kubefate.yml", sshd, deploy, compose, {pid: f.port for pid, f in flows.items()}
    )
    yield Site(tmp_path, deploy, inventory, flows, calls)
    for flow in flows.values():
        flow.__exit__(None, None, None)


def table_csv(directory: Path, tag: str, ids: range, seed: int, party: str = "") -> UploadRequest:
    """A table the way the experiment writes one: id, features, label; content-addressed name."""
    lines = ["sample_id,f1,f2,loan_status"]
    lines += [f"{i},{(i * seed) % 13 / 13:.4f},{(i + seed) % 5 - 2},{(i * 7 + seed) % 3 % 2}" for i in ids]
    payload = ("\n".join(lines) + "\n").encode()
    digest = hashlib.sha256(payload).hexdigest()[:12]
    path = directory / f"{tag}_{digest}.csv"
    path.write_bytes(payload)
    return UploadRequest(party_id=party, path=path, name=path.stem, rows=len(ids))


@pytest.fixture()
def study_tables(tmp_path: Path) -> dict[str, dict[str, UploadRequest]]:
    local = tmp_path / "tables"
    local.mkdir()
    train = {
        str(p): table_csv(local, f"train_p{p}", range(i * 100, i * 100 + 40 + 10 * i), p, party=str(p))
        for i, p in enumerate(PARTIES)
    }
    test = table_csv(local, "test", range(5000, 5030), 1)
    tests = {str(p): UploadRequest(str(p), test.path, test.name, test.rows) for p in PARTIES}
    return {"train": train, "test": tests}


def all_requests(tables: dict[str, dict[str, UploadRequest]]) -> list[UploadRequest]:
    return [*tables["train"].values(), *tables["test"].values()]


def study_job(tables: dict[str, dict[str, UploadRequest]], settings: HomoLRSettings = STUDY) -> FitJob:
    train = {p: Table(p, NAMESPACE, r.name, r.rows) for p, r in tables["train"].items()}
    test = {p: Table(p, NAMESPACE, r.name, r.rows) for p, r in tables["test"].items()}
    return FitJob(ROLES, train, test, settings, label="loan_status", id_column="sample_id")


# ------------------------------------------------------------------------------------ upload
def test_standin_upload_places_each_file_in_its_partys_client_mount_and_runs_flow(
    site: Site, study_tables: dict
) -> None:
    requests = all_requests(study_tables)
    engine = site.engine()
    engine.start()
    tables = engine.upload_many(requests)
    assert [(t.party_id, t.name, t.rows) for t in tables] == [(r.party_id, r.name, r.rows) for r in requests]

    for pid in PARTIES:
        mine = [r for r in requests if r.party_id == str(pid)]
        # Only this party's CSVs (and their upload confs) are on this party's "host".
        on_host = sorted(p.name for p in site.data_dir(pid).iterdir())
        assert on_host == sorted([r.path.name for r in mine] + [f"{r.name}.upload.json" for r in mine])
        for r in mine:
            assert (site.data_dir(pid) / r.path.name).read_bytes() == r.path.read_bytes()
            conf = json.loads((site.data_dir(pid) / f"{r.name}.upload.json").read_text())
            assert conf["file"] == f"{MOUNT}/{r.path.name}"  # the path inside the client container
            assert (conf["table_name"], conf["namespace"], conf["head"]) == (r.name, NAMESPACE, 1)
        # That party's own FATE-Flow (stand-in) received exactly its tables, with the files' bytes.
        uploads = site.flows[pid].state.uploads
        assert sorted(name for _, name in uploads) == sorted(r.name for r in mine)
        for r in mine:
            body = uploads[(NAMESPACE, r.name)]
            assert r.path.read_bytes() in body

    # One `flow data upload` per table, run in the table's own party's compose project.
    calls = site.compose_calls()
    assert sorted((Path(c["cwd"]).name, c["argv"]) for c in calls) == sorted(
        (
            f"confs-{r.party_id}",
            ["exec", "-T", "client", "flow", "data", "upload", "-c", f"{MOUNT}/{r.name}.upload.json", "--drop"],
        )
        for r in requests
    )

    placement = engine.placement()
    assert set(placement) == {str(p) for p in PARTIES}
    entry = placement["9998"]["files"][0]
    assert entry["container_path"].startswith(MOUNT + "/") and entry["uploaded"] and entry["transferred"]
    assert json.loads((site.root / "work" / "kubefate18" / "placement.json").read_text()) == placement
    assert engine.describe()["endpoints"]["9999"]["fate_version"] == "1.8.0"


def test_standin_reupload_is_skipped(site: Site, study_tables: dict) -> None:
    requests = all_requests(study_tables)
    site.engine().upload_many(requests)
    calls, upload_posts = (
        len(site.compose_calls()),
        sum(len(f.paths("POST", "/v1/data/upload")) for f in site.flows.values()),
    )
    assert calls == upload_posts == len(requests)

    again = site.engine()  # a new run: nothing remembered in memory
    again.upload_many(requests)
    assert len(site.compose_calls()) == calls, "flow data upload must not run again for tables already there"
    assert sum(len(f.paths("POST", "/v1/data/upload")) for f in site.flows.values()) == upload_posts
    files = [f for party in again.placement().values() for f in party["files"]]
    assert files and not any(f["transferred"] or f["uploaded"] for f in files)


def test_standin_failed_upload_job_surfaces_its_log_and_leaves_no_table(site: Site, study_tables: dict) -> None:
    bad = study_tables["train"]["9998"]
    site.flows[9998].state.fail_uploads.add(bad.name)
    engine = site.engine()
    with pytest.raises(EngineError) as err:
        engine.upload_many(all_requests(study_tables))
    text = str(err.value)
    assert f"table {NAMESPACE}.{bad.name} into party 9998 (host party9998)" in text
    assert f"ValueError: stand-in: upload of {bad.name} failed" in text  # the upload job's ERROR.log tail
    flow = site.flows[9998]
    assert (NAMESPACE, bad.name) not in flow.state.tables, "the half-uploaded table must be deleted"
    assert [r.json()["table_name"] for r in flow.paths("POST", "/v1/table/delete")] == [bad.name]
    assert not [p for pid in PARTIES for p in site.data_dir(pid).iterdir() if p.name.endswith(".part")]

    # Once the cause is gone, a re-run uploads it and reuses everything that did succeed.
    flow.state.fail_uploads.clear()
    before = len(site.compose_calls())
    site.engine().upload_many(all_requests(study_tables))
    redone = site.compose_calls()[before:]
    # Party 9998 stopped at its failed table; the other parties' tables are reused as they are.
    assert {Path(c["cwd"]).name for c in redone} == {"confs-9998"}
    assert redone[0]["argv"][7] == f"{MOUNT}/{bad.name}.upload.json"


def test_standin_client_container_down_is_one_clear_error(site: Site, study_tables: dict) -> None:
    (site.confs(10000) / "STANDIN_CLIENT_DOWN").touch()
    with pytest.raises(EngineError) as err:
        site.engine().upload_many(all_requests(study_tables))
    assert "party 10000 (host party10000)" in str(err.value) and "No container found for client_1" in str(err.value)
    assert "ps" in (err.value.hint or "") and str(site.confs(10000)) in (err.value.hint or "")


# ------------------------------------------------------------------------------------ preflight
def test_standin_start_names_the_party_whose_flow_does_not_answer(site: Site, sshd: Sshd) -> None:  # noqa: F811
    ports = {pid: f.port for pid, f in site.flows.items()}
    ports[9998] = 9  # discard port: nothing answers
    inv = write_inventory(site.root / "down.yml", sshd, site.deploy, site.root / "standin-docker-compose", ports)
    engine = KubeFate18Engine(load_inventory(inv), inv, work_dir=site.root / "work", progress=False)
    with pytest.raises(EngineError) as err:
        engine.start()
    assert "party 9998 (host party9998)" in str(err.value) and "not answering" in str(err.value)
    assert "9999" not in str(err.value).split("\n")[0].split(":")[0]


def test_start_refuses_a_host_with_an_unknown_key_before_anything_moves(site: Site, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    raw = yaml.safe_load(site.inventory.read_text())
    raw["all"]["vars"]["fatelab_known_hosts"] = str(empty)
    site.inventory.write_text(yaml.safe_dump(raw))
    with pytest.raises(HostError, match="refusing an unknown host"):
        site.engine().start()
    assert not any(site.data_dir(pid).exists() for pid in PARTIES)


def test_start_names_a_host_without_the_compose_project(site: Site, study_tables: dict) -> None:
    (site.confs(9998) / "docker-compose.yml").unlink()
    with pytest.raises(HostError) as err:
        site.engine().upload_many(all_requests(study_tables))
    assert "party 9998 (host party9998): no KubeFATE compose project" in str(err.value)
    assert not any(site.data_dir(pid).exists() for pid in PARTIES), "nothing may be copied"
    assert site.compose_calls() == []


def test_a_fate_22_flow_is_refused_as_the_wrong_version(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        flow18_standin.ROUTES, ("POST", "/v1/version/get"), lambda state, rec: flow18_standin._ok({"FATE": "2.2.0"})
    )
    with pytest.raises(EngineError, match="runs FATE 2.2.0, not 1.8"):
        site.engine().start()


# ------------------------------------------------------------------------------------ jobs
def test_standin_job_returns_guest_test_scores_and_metrics(site: Site, study_tables: dict) -> None:
    engine = site.engine()
    engine.upload_many(all_requests(study_tables))
    job = study_job(study_tables)
    [result] = engine.run_many([("federated HomoLR", job)])

    test = pd.read_csv(study_tables["test"]["9999"].path)
    assert list(result.scores.columns) == ["sample_id", "label", "score"]
    assert result.scores["sample_id"].tolist() == test["sample_id"].tolist()  # the test rows, not train
    assert result.scores["label"].tolist() == test["loan_status"].tolist()
    assert result.scores["score"].tolist() == [
        standin_score(y, i) for i, y in zip(test["sample_id"], test["loan_status"])
    ]
    assert result.fate_metrics == {"auc": 0.7123, "ks": 0.3655}  # the validate set's, not train's
    assert result.job_id and result.wall_s >= 0
    assert set(result.task_seconds) >= {"homo_lr_0@guest:9999", "reader_1@guest:9999"}

    # Submitted to the guest's FATE-Flow only, with the study's parameters.
    [submit] = site.flows[9999].paths("POST", "/v1/job/submit")
    assert not site.flows[9998].paths("POST", "/v1/job/submit")
    sent = submit.json()
    lr = sent["job_runtime_conf"]["component_parameters"]["common"]["homo_lr_0"]
    assert (lr["tol"], lr["alpha"], lr["optimizer"], lr["batch_size"], lr["early_stop"]) == (
        1e-4,
        1.0,
        "rmsprop",
        -1,
        "diff",
    )
    assert (lr["max_iter"], lr["learning_rate"], lr["decay"], lr["penalty"]) == (20, 0.02, 0, "L2")
    assert lr["encrypt_param"] == {"method": None}
    assert engine.describe()["homo_lr_0_conf"] == lr  # the report says what FATE 1.8 really got
    assert sent["job_dsl"]["components"]["homo_lr_0"]["input"]["data"]["validate_data"] == ["data_transform_1.data"]
    role = sent["job_runtime_conf"]["component_parameters"]["role"]
    assert role["host"]["1"]["reader_0"]["table"]["name"] == study_tables["train"]["10000"].name
    assert role["guest"]["0"]["reader_1"]["table"]["name"] == study_tables["test"]["9999"].name


def test_standin_failed_job_raises_with_the_failing_partys_log_tail(
    site: Site, study_tables: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = site.engine()
    engine.upload_many(all_requests(study_tables))
    # The stand-in fails, at runtime as FATE 1.8 does, a job whose optimizer it does not know.
    monkeypatch.setattr(flow18_standin, "KNOWN_OPTIMIZERS", {"sgd"})
    later = study_job(study_tables)
    with pytest.raises(EngineError) as err:
        engine.run_many([("federated HomoLR", study_job(study_tables)), ("sweep 10/90", later)])
    text = str(err.value)
    assert "ended failed at party 9999 (guest, inventory host party9999)" in text
    assert "ValueError: Optimizer rmsprop not supported" in text
    assert "flow job log -j" in (err.value.hint or "")
    # The job still queued behind the failed one is stopped.
    jobs = [r.json()["job_id"] for r in site.flows[9999].paths("POST", "/v1/job/stop")]
    assert len(jobs) == 1 and jobs[0] != text.split()[2]


def test_standin_paillier_option_encrypts_on_hosts(site: Site, study_tables: dict) -> None:
    sgd = HomoLRSettings(epochs=5, learning_rate=0.05, alpha=1.0, optimizer="sgd", penalty="l2")
    engine = site.engine(options=Fate18Options.for_study(sgd, paillier=True))
    engine.upload_many(all_requests(study_tables))
    engine.run_many([("federated HomoLR", study_job(study_tables, sgd))])
    conf = site.flows[9999].paths("POST", "/v1/job/submit")[0].json()["job_runtime_conf"]
    hosts = conf["component_parameters"]["role"]["host"]
    assert hosts["0|1"]["homo_lr_0"]["encrypt_param"] == {"method": "Paillier", "key_length": 1024}
    assert conf["component_parameters"]["common"]["homo_lr_0"]["optimizer"] == "sgd"


def test_standin_report_model_section_is_what_the_fate18_job_ran(
    site: Site, study_tables: dict, tmp_path: Path
) -> None:
    from harness.report.write import write_report
    from harness.study.config import load_config

    sgd = HomoLRSettings(epochs=5, learning_rate=0.05, alpha=1.0, optimizer="sgd", penalty="l2")
    config = load_config(engine="cluster", inventory=site.inventory, model=sgd, paillier=True)
    engine = site.engine(options=Fate18Options.for_study(config.model, paillier=config.paillier))
    engine.upload_many(all_requests(study_tables))
    job = study_job(study_tables, sgd)
    engine.run_many([("federated HomoLR", job)])
    conf = site.flows[9999].paths("POST", "/v1/job/submit")[0].json()["job_runtime_conf"]["component_parameters"]
    lr, host = conf["common"]["homo_lr_0"], conf["role"]["host"]["0|1"]["homo_lr_0"]["encrypt_param"]

    section = engine.model_mapping(job).section()
    assert section["fate_target"].startswith("FATE 1.8 HomoLR")
    mapping = section["fate_mapping"]
    # Each line of the report's mapping carries the value the submitted job holds.
    assert mapping["full batch"].startswith(f"batch_size={lr['batch_size']} ") and lr["batch_size"] == -1
    assert mapping["convergence"].startswith(f"tol={lr['tol']}, early_stop='{lr['early_stop']}'")
    assert mapping["optimizer, learning rate"] == f"optimizer='{lr['optimizer']}', learning_rate={lr['learning_rate']}"
    assert mapping["penalty, alpha"] == f"penalty='{lr['penalty']}', alpha={lr['alpha']}"
    assert mapping["epochs"].startswith(f"max_iter={lr['max_iter']} ")
    assert mapping["learning rate decay (constant)"].startswith(f"decay={lr['decay']}, decay_sqrt={lr['decay_sqrt']}")
    assert f"'{host['method']}', key_length={host['key_length']}" in mapping["encryption"]
    assert any("does not clip gradients" in c for c in section["not_expressible"])
    assert any("may finish before 5 epochs" in c for c in section["not_expressible"])

    doc = {"run_id": "fate18-model", "engine": engine.describe(), "model": {"family": "logistic regression"} | section}
    run_dir = write_report(doc, tmp_path / "reports")
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["model"]["fate_mapping"] == mapping and saved["engine"]["homo_lr_0_conf"] == lr
    md = (run_dir / "report.md").read_text()
    assert f"How the settings map onto {section['fate_target']}:" in md and "FATE 2.2 HomoLR" not in md


# ------------------------------------------------------------------------------------ pure mapping
def test_study_job_is_the_golden_builder_plus_the_test_reader(study_tables: dict) -> None:
    job = study_job(study_tables)
    dsl, conf = build_study_job(job, Fate18Options())
    plain_conf = f18.build_conf(fate18_job(job, Fate18Options()))
    # Removing what validation adds gives back exactly what the golden-tested builder emits.
    for index in ("0", "1"):
        conf["component_parameters"]["role"]["host"][index].pop("reader_1")
    conf["component_parameters"]["role"]["guest"]["0"].pop("reader_1")
    assert conf == plain_conf
    golden_dsl = f18.build_dsl()
    golden_dsl["components"]["homo_lr_0"]["input"]["data"]["validate_data"] = ["data_transform_1.data"]
    assert {k: v for k, v in dsl["components"].items() if not k.endswith("_1")} == golden_dsl["components"]
    assert dsl["components"]["data_transform_1"]["input"]["model"] == ["data_transform_0.model"]


def test_parameter_mapping() -> None:
    full = homo_lr_params(STUDY, Fate18Options(), max_train_rows=500)
    assert (full.batch_size, full.tol, full.early_stop, full.decay, full.init_method) == (-1, 1e-4, "diff", 0, "zeros")
    mini = dataclasses.replace(STUDY, batch_size=64)
    assert homo_lr_params(mini, Fate18Options(), max_train_rows=500).batch_size == 64
    # A batch as large as the largest party's table is FATE 1.8's full batch.
    assert homo_lr_params(mini, Fate18Options(), max_train_rows=64).batch_size == -1
    assert Fate18Options.for_study(HomoLRSettings(tol=1e-3), paillier=False).tol == 1e-3
    stepped = HomoLRSettings(lr_scheduler="step", lr_scheduler_params=(("step_size", 5.0),))
    with pytest.raises(ConfigError, match="not expressible in FATE 1.8"):
        check_settings(stepped, Fate18Options())
    with pytest.raises(ConfigError, match="needs optimizer 'sgd'"):
        check_settings(STUDY, Fate18Options(paillier=True))


# ------------------------------------------------------------------------------------ selection
def test_kubefate_inventory_selects_this_engine(site: Site, tmp_path: Path) -> None:
    from harness.cli import make_engine
    from harness.study.config import load_config

    config = load_config(engine="cluster", inventory=site.inventory, work_dir=tmp_path / "w")
    engine = make_engine(config, progress=False)
    assert isinstance(engine, KubeFate18Engine) and engine.name == "fate-1.8-kubefate"
    assert engine.options == Fate18Options()

    # Paillier with the study's RMSProp is refused before any host is contacted.
    with pytest.raises(ConfigError, match="needs optimizer 'sgd'"):
        make_engine(load_config(engine="cluster", inventory=site.inventory, paillier=True), progress=False)
    # ... and on FATE 2.2 inventories or the embedded engine it does not exist.
    raw = yaml.safe_load(site.inventory.read_text())
    raw["all"]["vars"]["fate_deployment"] = "fate22"
    fate22 = tmp_path / "fate22.yml"
    fate22.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="FATE 1.8 option"):
        make_engine(load_config(engine="cluster", inventory=fate22, paillier=True), progress=False)
    with pytest.raises(ConfigError, match="FATE 1.8 option"):
        load_config(paillier=True)


def test_example_centos7_inventory_is_a_kubefate_one() -> None:
    assert load_inventory(REPO / "ansible" / "inventory" / "example-centos7.yml").deployment == "kubefate"


def test_engine_defaults_match_the_kubefate_role() -> None:
    defaults = yaml.safe_load((REPO / "ansible" / "roles" / "kubefate" / "defaults" / "main.yml").read_text())
    assert (defaults["kubefate_deploy_dir"], defaults["kubefate_compose_command"]) == (
        DEFAULT_DEPLOY_DIR,
        DEFAULT_COMPOSE,
    )
    # And the directory the engine writes into is the one the rendered compose file mounts in the client.
    template = (REPO / "ansible" / "roles" / "kubefate" / "templates" / "bundle" / "docker-compose.yml.j2").read_text()
    client = template.split("\n  client:\n", 1)[1].split("\n\n", 1)[0]
    assert "- shared_dir_examples:/data/projects/fate/examples" in client
    assert "device: {{ shared }}/{{ name }}" in template and "'/shared_dir'" in template


def test_experiment_help_names_the_kubefate_engine() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "experiment", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 0
    assert "kubefate" in out.stdout and "FATE 1.8" in out.stdout and "--paillier" in out.stdout
