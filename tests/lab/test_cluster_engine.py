"""ClusterEngine on the local lab: verified SSH placement, per-party FATE-Flows, faults.

Needs the lab (`make lab`) and, for everything past the SSH checks, FATE 2.2 deployed on it
(`make cluster`); skipped with the reason otherwise. What landed where is checked with the system ssh
client (lab/.state/ssh_config), independently of the paramiko code under test. About 5-8 minutes.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from labkit import REPO, Lab, LabHost, flow_code, request_spec, run_probe

from harness.engines.base import FitJob, Roles, Table, UploadRequest
from harness.engines.fate22.client import FlowRestClient
from harness.engines.fate22.hosts import ClusterEngine, endpoints_from_cluster, site_party_id
from harness.errors import EngineError, HostError
from harness.hosts.inventory import load_inventory
from harness.model.logreg import HomoLRSettings
from harness.model.metrics import binary_metrics

pytestmark = pytest.mark.lab

INVENTORY = REPO / "ansible" / "inventory" / "lab.yml"
CREDIT = REPO.parent / "shared" / "data" / "fate_default_credit"
GUEST, HOSTS, ARBITER = "9999", ("9998", "10000"), "10000"
VICTIM = "9998"  # the host party whose FATE-Flow the fault test stops
ROWS = 300


# ------------------------------------------------------------------------------------------ helpers
def host_of(lab: Lab, party: str | int) -> LabHost:
    return next(h for h in lab.hosts if h.party_id == int(party))


def data_dir_listing(lab: Lab, host: LabHost, data_dir: str) -> dict[str, str]:
    """{file name: sha256} of every file in the host's data dir, read with the system ssh client."""
    out = lab.ssh(
        host, f"[ -d {data_dir} ] && find {data_dir} -maxdepth 1 -type f -exec sha256sum {{}} + || true"
    )
    listing = {}
    for line in out.stdout.splitlines():
        digest, path = line.split(maxsplit=1)
        listing[Path(path).name] = digest
    return listing


def inventory_copy(tmp_path: Path, **changes: object) -> Path:
    """A copy of the lab inventory with group vars or per-host ansible_host overrides."""
    doc = yaml.safe_load(INVENTORY.read_text())
    group = doc["all"]["children"]["fate_parties"]
    for key, value in changes.items():
        if key.startswith("address_"):
            group["hosts"][key.removeprefix("address_")]["ansible_host"] = value
        else:
            group["vars"][key] = value
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def unique_requests(tmp_path: Path) -> list[UploadRequest]:
    """One small file per party whose content (and so sha256) no earlier run can have placed."""
    requests = []
    for party in (GUEST, *HOSTS):
        path = tmp_path / f"pytest_nocopy_{party}_{uuid.uuid4().hex[:8]}.csv"
        path.write_text(f"sample_id,x0,loan_status\n1,{uuid.uuid4().int % 1000},0\n")
        requests.append(UploadRequest(party, path, path.stem, 1))
    return requests


def assert_nothing_arrived(lab: Lab, requests: list[UploadRequest], data_dir: str) -> None:
    digests = {r.path.name: hashlib.sha256(r.path.read_bytes()).hexdigest() for r in requests}
    for host in lab.hosts:
        listing = data_dir_listing(lab, host, data_dir)
        assert not set(digests) & set(
            listing
        ), f"{host.name} received a file although a host failed the check"
        assert not set(digests.values()) & set(listing.values())
        parts = lab.ssh(host, f"ls -a {data_dir} 2>/dev/null | grep -c '\\.part$' || true").stdout.strip()
        assert parts in ("0", ""), f"{host.name} has temporary files"


def credit_frame(name: str, rows: int = ROWS) -> pd.DataFrame:
    path = CREDIT / f"default_credit_homo_{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} not present (the shared data folder is beside the checkout)")
    return pd.read_csv(path, nrows=rows).rename(columns={"id": "sample_id", "y": "loan_status"})


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def data_dir() -> str:
    endpoints = endpoints_from_cluster(load_inventory(INVENTORY), INVENTORY)
    return next(iter(endpoints.values())).data_dir


@pytest.fixture(scope="module")
def fate(lab: Lab) -> None:
    """Skip unless every lab party's FATE-Flow answers with its own party id."""
    for endpoint in endpoints_from_cluster(load_inventory(INVENTORY), INVENTORY).values():
        try:
            answered = site_party_id(endpoint, timeout=3)
        except EngineError as exc:
            pytest.skip(f"FATE 2.2 is not deployed on the lab ({exc.message}); run `make cluster`")
        if answered != str(endpoint.party.party_id):
            pytest.skip(
                f"{endpoint.url} answers as party {answered}; the lab deployment is not the inventory's"
            )


@pytest.fixture(scope="module")
def engine(lab: Lab, fate: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterEngine]:
    engine = ClusterEngine.from_inventory(INVENTORY, work_dir=tmp_path_factory.mktemp("work"), progress=False)
    engine.start()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def credit(engine: ClusterEngine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Train tables for the three parties and the test table for each, uploaded through the engine."""
    directory = tmp_path_factory.mktemp("credit")
    requests = []
    for party, name in ((GUEST, "guest"), (HOSTS[0], "host_1"), (HOSTS[1], "host_2")):
        path = directory / f"pytest_cluster_{name}_{ROWS}.csv"
        credit_frame(name).to_csv(path, index=False)
        requests.append(UploadRequest(party, path, path.stem, ROWS))
    test_path = directory / f"pytest_cluster_test_{ROWS}.csv"
    credit_frame("test").to_csv(test_path, index=False)
    requests += [UploadRequest(p, test_path, test_path.stem, ROWS) for p in (GUEST, *HOSTS)]
    started = time.monotonic()
    tables = engine.upload_many(requests)
    return {"requests": requests, "tables": tables, "upload_s": time.monotonic() - started}


def homo_lr_job(credit: dict[str, object], epochs: int) -> FitJob:
    tables: list[Table] = credit["tables"]  # type: ignore[assignment]
    train = {t.party_id: t for t in tables[:3]}
    test = {t.party_id: t for t in tables[3:]}
    settings = HomoLRSettings(epochs=epochs, learning_rate=0.05, alpha=0.01)
    return FitJob(
        roles=Roles(guest=GUEST, hosts=HOSTS, arbiter=ARBITER),
        train=train,
        test=test,
        model=settings,
    )


# ------------------------------------------------------------------------------------------ SSH checks
def test_wrong_host_key_for_one_host_is_refused_before_anything_is_copied(
    lab: Lab, tmp_path: Path, data_dir: str
) -> None:
    victim = host_of(lab, VICTIM)
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    wrong_key = impostor.with_suffix(".pub").read_text().split()[:2]
    lines = [
        ln
        for ln in lab.known_hosts.read_text().splitlines()
        if victim.address not in ln.split()[0].split(",")
    ]
    lines.append(f"{victim.address},{victim.name},{victim.alias} {' '.join(wrong_key)}")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("\n".join(lines) + "\n")
    engine = ClusterEngine.from_inventory(
        inventory_copy(tmp_path, fatelab_known_hosts=str(known_hosts)), work_dir=tmp_path, progress=False
    )
    requests = unique_requests(tmp_path)
    with pytest.raises(HostError) as failure:
        engine.upload_many(requests)
    message = str(failure.value)
    assert victim.alias in message and f"party {VICTIM}" in message and "does not match" in message
    with pytest.raises(HostError, match=victim.alias):
        engine.start()
    assert_nothing_arrived(lab, requests, data_dir)
    assert known_hosts.read_text() == "\n".join(lines) + "\n", "a refused key must never be written back"


def test_unreachable_host_fails_before_data_moves(lab: Lab, tmp_path: Path, data_dir: str) -> None:
    # On the lab bridge, but no host has this address: the connection attempt fails (no ARP answer).
    victim = host_of(lab, VICTIM)
    path = inventory_copy(tmp_path, **{f"address_{victim.alias}": "10.77.0.99"})
    engine = ClusterEngine.from_inventory(path, work_dir=tmp_path, progress=False)
    requests = unique_requests(tmp_path)
    # Bounded by the SSH connect timeout (CONNECT_TIMEOUT): the test cannot hang, and how long the
    # attempt took is not asserted (a busy machine stretches it).
    with pytest.raises(HostError) as failure:
        engine.upload_many(requests)
    message = str(failure.value)
    assert f"party {VICTIM}" in message and "10.77.0.99" in message and "unreachable" in message
    assert_nothing_arrived(lab, requests, data_dir)


# ------------------------------------------------------------------------------------------ placement
def test_each_partys_file_is_only_on_its_own_host(lab: Lab, engine: ClusterEngine, credit: dict) -> None:
    placement = engine.placement()
    train_requests = credit["requests"][:3]
    for request in train_requests:
        record = next(f for f in placement[request.party_id]["files"] if f["table"].endswith(request.name))
        sha = hashlib.sha256(request.path.read_bytes()).hexdigest()
        assert record["sha256"] == sha and record["rows"] == ROWS
        for host in lab.hosts:
            listing = data_dir_listing(lab, host, placement[request.party_id]["data_dir"])
            if host.party_id == int(request.party_id):
                assert listing.get(request.path.name) == sha, f"{host.name} lacks its own file"
                assert record["remote_path"].endswith(request.path.name)
                assert placement[request.party_id]["address"] == host.address
            else:
                assert request.path.name not in listing, f"{request.path.name} leaked to {host.name}"
                assert sha not in listing.values(), f"{request.path.name}'s content leaked to {host.name}"


def test_data_files_are_readable_only_by_fate_flows_group(
    lab: Lab, engine: ClusterEngine, credit: dict
) -> None:
    request = credit["requests"][0]
    record = engine.placement()[request.party_id]["files"][0]
    stat = lab.ssh(
        host_of(lab, request.party_id), f"stat -c '%a %U %G' {record['remote_path']}"
    ).stdout.split()
    # FATE-Flow runs as user fate (group fate) and must read the file; nobody else may.
    assert stat == ["640", "root", "fate"]


def test_re_uploading_moves_nothing_and_submits_no_upload(
    engine: ClusterEngine, credit: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_upload(*args: object, **kwargs: object) -> str:
        raise AssertionError("a table already in the party's FATE must not be uploaded again")

    monkeypatch.setattr(FlowRestClient, "upload", no_upload)
    started = time.monotonic()
    tables = engine.upload_many(credit["requests"])
    assert [t.rows for t in tables] == [ROWS] * len(tables)
    assert all(not f["transferred"] for p in engine.placement().values() for f in p["files"])
    again = time.monotonic() - started
    print(f"\nre-upload (nothing moved): {again:.1f} s; first upload {credit['upload_s']:.1f} s")


def test_the_guests_host_cannot_read_a_hosts_table(lab: Lab, engine: ClusterEngine, credit: dict) -> None:
    """The issue's attack on a real table: from the guest's host, through the host party's nginx and
    straight to its FATE-Flow. (Asking the guest's own FATE-Flow, as this test once did, cannot fail.)
    tests/lab/test_isolation.py runs the same attack on every route of every party."""
    host_table = credit["tables"][1]
    assert host_table.party_id == HOSTS[0]
    # The table is there for its own party's signed client: what follows is a refusal, not an absence.
    assert engine.client(HOSTS[0]).table_rows(host_table.namespace, host_table.name) == ROWS
    victim, attacker = host_of(lab, HOSTS[0]), host_of(lab, GUEST)
    query = f"namespace={host_table.namespace}&name={host_table.name}"
    plan = {
        "requests": [
            request_spec(what, victim.address, port, "GET", f"{path}?{query}", victim.party_id, None)
            for port in (9300, 9380)
            for what, path in ((f"download:{port}", "/v2/data/download"), (f"table:{port}", "/v2/table/query"))
        ]
    }
    answers = run_probe(lab, attacker, plan)["requests"]
    for what, answer in answers.items():
        code, message = flow_code(answer)
        if what.endswith(":9300"):
            assert answer["status"] == 403, (what, answer)
        else:  # the firewall drops the connection; were it open, client authentication would refuse
            assert answer["status"] is None or (code not in (None, 0) and "fatelab auth" in message), (what, answer)


# ------------------------------------------------------------------------------------------ jobs
def test_three_party_homo_lr_returns_scores(engine: ClusterEngine, credit: dict) -> None:
    started = time.monotonic()
    [result] = engine.run_many([("pytest cluster homo_lr", homo_lr_job(credit, epochs=3))])
    print(f"\ncluster HomoLR job: {time.monotonic() - started:.1f} s ({result.job_id})")
    test = credit_frame("test")
    assert sorted(result.scores["sample_id"]) == sorted(test["sample_id"])
    merged = test.merge(result.scores, on="sample_id")
    assert (merged["label"] == merged["loan_status"]).all()
    ours = binary_metrics(merged["loan_status"], merged["score"])
    assert ours["auc"] == pytest.approx(result.fate_metrics["auc"], abs=1e-6)
    # Task timings come from every party's own FATE-Flow.
    assert {key.rsplit(":", 1)[1] for key in result.task_seconds} == {GUEST, *HOSTS}


def test_stopping_a_hosts_flow_fails_the_job_naming_it_then_recovers(
    lab: Lab, engine: ClusterEngine, credit: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = host_of(lab, VICTIM)
    guest = engine.client(GUEST)
    submitted: list[str] = []
    real_submit = guest.submit

    def remember(dag: dict) -> str:
        submitted.append(real_submit(dag))
        return submitted[-1]

    monkeypatch.setattr(guest, "submit", remember)
    stopped = threading.Event()

    def stop_when_running() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # Stop the host once one of its own tasks runs (not after a fixed pause): the job is then
            # truly in flight on the victim, however slow the machine.
            if submitted and any(
                str(t.get("status")).lower() == "running"
                for t in engine.client(VICTIM).tasks(submitted[0], role="host", party_id=VICTIM)
            ):
                lab.ssh(victim, "systemctl stop fate-flow", timeout=60)
                stopped.set()
                return
            time.sleep(1)

    stopper = threading.Thread(target=stop_when_running, daemon=True)
    try:
        stopper.start()
        started = time.monotonic()
        with pytest.raises(EngineError) as failure:
            engine.run_many([("pytest fault", homo_lr_job(credit, epochs=30))])
        detected = time.monotonic() - started
        stopper.join(timeout=60)
        assert stopped.is_set(), "the job ended before the host's FATE-Flow could be stopped"
        message = str(failure.value)
        assert f"party {VICTIM}" in message and "is not answering" in message, message
        assert victim.address in message
        print(f"\nfault detected {detected:.1f} s after submission:\n{message[:600]}")
    finally:
        lab.ssh(victim, "systemctl start fate-flow", timeout=60, check=False)
    endpoint = engine.endpoint(VICTIM)
    deadline = time.monotonic() + 600
    while True:
        try:
            assert site_party_id(endpoint, timeout=3) == VICTIM
            break
        except EngineError:
            assert time.monotonic() < deadline, f"party {VICTIM}'s FATE-Flow did not come back"
            time.sleep(3)
    # The re-run reuses every placed file and uploaded table.
    monkeypatch.setattr(
        FlowRestClient, "upload", lambda *a, **k: pytest.fail("upload repeated after restart")
    )
    engine.upload_many(credit["requests"])
    assert all(not f["transferred"] for p in engine.placement().values() for f in p["files"])
    started = time.monotonic()
    [result] = engine.run_many([("pytest rerun", homo_lr_job(credit, epochs=3))])
    print(f"re-run after restart: {time.monotonic() - started:.1f} s")
    assert len(result.scores) == ROWS and result.scores["score"].between(0, 1).all()
