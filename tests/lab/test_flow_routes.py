"""nginx's inter-site allow-list equals FATE-Flow's partner and scheduler routes (no lab needed).

The list lives in ansible/roles/nginx_proxy/defaults/main.yml; the routes are read from the installed
FATE-Flow's source (flow_routes.py). A FATE upgrade that adds or renames an inter-site route fails here
instead of failing jobs on a cluster.
"""

from __future__ import annotations

import yaml
from flow_routes import INTERSITE_GROUPS, routes
from labkit import REPO

NGINX_DEFAULTS = REPO / "ansible" / "roles" / "nginx_proxy" / "defaults" / "main.yml"


def test_nginx_allows_exactly_the_intersite_routes() -> None:
    defaults = yaml.safe_load(NGINX_DEFAULTS.read_text())
    version = defaults["nginx_proxy_api_version"]
    allowed = {("POST", f"/{version}/{r}") for r in defaults["nginx_proxy_intersite_routes"]}
    intersite = {(r.method, r.path) for r in routes() if r.intersite}
    assert allowed == intersite


def test_route_groups_are_the_four_fate_flow_registers() -> None:
    found = routes()
    assert {r.group for r in found} == {"client", "worker", *INTERSITE_GROUPS}
    # Spot checks against the source: the client routes the attacker used.
    paths = {(r.method, r.path) for r in found if r.group == "client"}
    assert {("GET", "/v2/job/list/query"), ("GET", "/v2/data/download"), ("POST", "/v2/data/component/upload")} <= paths
