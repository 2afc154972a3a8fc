"""A curious peer against the deployed FATE 2.2 cluster: what one party's host can get from another's.

Run the way an attacker would, from a peer's host (the system ssh client runs tests/lab/probe.py there
with the host's own python3): every FATE-Flow route of every other party, read from the installed
FATE-Flow's source, through that party's nginx (9300, open to peers) and straight to its FATE-Flow (9380,
firewalled). Only the inter-site routes pass nginx, and those need a site signature; the rest is 403.
On the party's own host a local user other than root or fate gets nothing from the client routes
without the client key. The harness's signed client is the positive control: same routes, answered.

Needs `make lab` and `make cluster` (marker ``lab``); about half a minute.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from flow_routes import Route, routes
from labkit import REPO, Lab, flow_code, request_spec, run_probe

from harness.engines.fate22.auth import HEADER, sign
from harness.engines.fate22.hosts import flow_client_key
from harness.hosts.inventory import load_inventory

pytestmark = pytest.mark.lab

INVENTORY = REPO / "ansible" / "inventory" / "lab.yml"
PROXY_PORT, FLOW_PORT = 9300, 9380
# A file only the fate user (and root) may read, holding the RabbitMQ admin password: the classic loot.
SERVER_FILE = "/opt/fate/flow/conf/service_conf.yaml"
# Paths that a lax proxy would normalise into a client route after checking the prefix.
TRICK_PATHS = (
    "/v2/partner/../job/list/query",
    "/v2/partner/%2e%2e/job/list/query",
    "/v2/partner/..%2fjob/list/query",
    "/v2/partner/job/create/../../../data/download?namespace=fatelab&name=x",
    "//v2/job/list/query",
    "/v2/partner/job/create?x=/v2/job/list/query",
)


def body_for(route: Route) -> str | None:
    if route.path.endswith("/data/component/upload"):
        # The component upload reads a file on the server as the fate user.
        return json.dumps({"file": SERVER_FILE, "head": True, "partitions": 1, "meta": {}, "namespace": "x",
                           "name": "stolen"})
    return "{}" if route.method in ("POST", "PUT") else None


@pytest.fixture(scope="module")
def deployed(lab: Lab) -> None:
    for host in lab.hosts:
        state = lab.ssh(host, "systemctl is-active fate-flow nginx", check=False).stdout.split()
        if state != ["active", "active"]:
            pytest.skip(f"FATE 2.2 is not deployed on {host.name} (fate-flow, nginx: {state}); run `make cluster`")


@pytest.fixture(scope="module")
def peer_answers(lab: Lab, deployed: None) -> dict[str, dict]:
    """For each attacker host: its probe's answers about every other party."""
    every = routes()
    assert len(every) > 80 and any(r.intersite for r in every), "could not read FATE-Flow's routes"
    out = {}
    for attacker in lab.hosts:
        plan: dict = {"requests": [], "connects": []}
        for victim in (h for h in lab.hosts if h is not attacker):
            tag = f"{victim.party_id}"
            for i, route in enumerate(every):
                plan["requests"].append(
                    request_spec(f"{tag} {i}", victim.address, PROXY_PORT, route.method, route.concrete_path(),
                                 victim.party_id, body_for(route))
                )
            for j, path in enumerate(TRICK_PATHS):
                plan["requests"].append(
                    request_spec(f"{tag} trick{j}", victim.address, PROXY_PORT, "POST", path, victim.party_id, "{}")
                )
            plan["connects"].append({"id": f"{tag} flow", "address": victim.address, "port": FLOW_PORT})
        out[attacker.name] = run_probe(lab, attacker, plan)
    return out


def test_through_nginx_only_intersite_routes_pass_and_they_need_a_site_signature(
    lab: Lab, peer_answers: dict[str, dict]
) -> None:
    every = routes()
    leaks = []
    for attacker, answers in peer_answers.items():
        for rid, answer in answers["requests"].items():
            victim, key = rid.split()
            what = f"{attacker} -> party {victim} :{PROXY_PORT}"
            if key.startswith("trick"):
                path = TRICK_PATHS[int(key[5:])]
                if answer["status"] != 403:
                    leaks.append(f"{what} POST {path}: {answer['status']} {answer['body'][:120]}")
                continue
            route = every[int(key)]
            if not route.intersite:
                if answer["status"] != 403:
                    leaks.append(f"{what} {route.method} {route.path}: {answer['status']} {answer['body'][:120]}")
                continue
            # Inter-site: reaches FATE-Flow, whose site authentication refuses the unsigned call.
            code, message = flow_code(answer)
            if answer["status"] != 200 or code in (None, 0) or "fatelab auth" not in message:
                leaks.append(f"{what} {route.method} {route.path} unsigned: {answer['status']} {answer['body'][:120]}")
    assert not leaks, f"{len(leaks)} requests were not refused:\n" + "\n".join(leaks[:40])


def test_peers_cannot_connect_to_another_partys_flow(peer_answers: dict[str, dict]) -> None:
    reached = {
        f"{attacker} -> party {rid.split()[0]} :{FLOW_PORT}": state
        for attacker, answers in peer_answers.items()
        for rid, state in answers["connects"].items()
        if state == "connected"
    }
    assert not reached, f"FATE-Flow's own port is open to peers: {reached}"


def test_a_forged_site_signature_is_refused_through_nginx(lab: Lab, deployed: None) -> None:
    attacker, victim = lab.hosts[1], lab.hosts[2]
    header = sign("0" * 64, "site")
    spec = request_spec("forged", victim.address, PROXY_PORT, "POST", "/v2/partner/job/stop", victim.party_id, "{}")
    spec["headers"][HEADER] = header
    answer = run_probe(lab, attacker, {"requests": [spec]})["requests"]["forged"]
    code, message = flow_code(answer)
    assert code not in (None, 0) and "bad signature" in message, answer


def test_a_local_user_gets_nothing_from_the_partys_own_flow(lab: Lab, deployed: None) -> None:
    client_routes = [
        ("GET", "/v2/job/list/query?limit=20", None),
        ("GET", "/v2/data/download?namespace=fatelab&name=x", None),
        ("GET", "/v2/table/query?namespace=fatelab&name=x", None),
        ("POST", "/v2/data/component/upload", json.dumps({"file": SERVER_FILE, "head": True, "partitions": 1,
                                                          "meta": {}, "namespace": "x", "name": "stolen"})),
        ("POST", "/v2/table/bind/path", json.dumps({"path": "/etc", "namespace": "x", "name": "etc"})),
    ]
    for host in lab.hosts:
        plan = {"requests": [request_spec(str(i), host.address, FLOW_PORT, m, p, host.party_id, b)
                             for i, (m, p, b) in enumerate(client_routes)]}
        answers = run_probe(lab, host, plan, as_user="nobody")["requests"]
        for i, (method, path, _) in enumerate(client_routes):
            code, message = flow_code(answers[str(i)])
            assert code not in (None, 0) and "fatelab auth" in message, (host.name, method, path, answers[str(i)])


def test_the_harness_signed_client_is_answered(lab: Lab, deployed: None) -> None:
    """Positive control: the same client route, signed with the party's key from the controller."""
    cluster = load_inventory(INVENTORY)
    for party in cluster.parties:
        key = flow_client_key(cluster, INVENTORY, party)
        path = "/v2/job/list/query"
        request = urllib.request.Request(
            f"http://{party.address}:{FLOW_PORT}{path}?limit=1",
            headers={HEADER: sign(key, "client", method="GET", path=path)},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (lab host)
            answer = json.loads(response.read().decode())
        assert answer.get("code") == 0, (party.host, answer)
