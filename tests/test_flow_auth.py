"""FATE-Flow request signing (harness/engines/fate22/auth.py) and the embedded engine's authentication.

The unit tests check the scheme; the ``fate`` tests start the embedded FATE-Flow (under the machine-wide
FATE lock, see docs/testing) and show an unsigned request refused while the harness's signed one works.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.engines.fate22 import auth as flow_auth
from harness.engines.fate22.auth import HEADER, Verifier, sign

KEY = "k" * 64


def test_a_signature_verifies_once_for_its_method_and_path() -> None:
    verifier = Verifier(KEY, "client")
    header = sign(KEY, "client", method="get", path="/v2/job/query")
    assert verifier.check(header, method="GET", path="/v2/job/query") is None
    assert verifier.check(header, method="GET", path="/v2/job/query") == "replayed signature"


def test_site_signatures_survive_fate_flows_retry() -> None:
    # ofx's remote_on_http resends a failed call with the very same headers.
    verifier = Verifier(KEY, "site", single_use=False)
    header = sign(KEY, "site")
    assert verifier.check(header) is None and verifier.check(header) is None


@pytest.mark.parametrize(
    ("key", "scope", "method", "path", "why"),
    [
        ("x" * 64, "client", "GET", "/v2/job/query", "bad signature"),  # another key
        (KEY, "site", "GET", "/v2/job/query", "bad signature"),  # a site signature on a client route
        (KEY, "client", "POST", "/v2/job/query", "bad signature"),  # another method
        (KEY, "client", "GET", "/v2/data/download", "bad signature"),  # another path
    ],
)
def test_a_signature_binds_key_scope_method_and_path(key: str, scope: str, method: str, path: str, why: str) -> None:
    header = sign(key, scope, method=method, path=path)
    assert Verifier(KEY, "client").check(header, method="GET", path="/v2/job/query") == why


@pytest.mark.parametrize("header", [None, "", "v1:abc:n:m", "v0:1:n:m", "nonsense"])
def test_missing_or_malformed_headers_are_refused(header: str | None) -> None:
    assert Verifier(KEY, "client").check(header, method="GET", path="/") is not None


def test_an_old_or_future_signature_is_refused() -> None:
    now = 1_800_000_000.0
    verifier = Verifier(KEY, "site", clock=lambda: now)
    assert (
        verifier.check(sign(KEY, "site", now=now - 61)) == "signature expired (or clocks differ by more than a minute)"
    )
    assert verifier.check(sign(KEY, "site", now=now + 61)) is not None
    assert verifier.check(sign(KEY, "site", now=now - 30)) is None


def test_without_a_key_everything_is_refused() -> None:
    assert Verifier("", "client").check(sign("", "client"), method="GET", path="/") is not None


def test_keys_file_is_created_0600_and_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    flow_auth.write_keys(path, "9999", "c1", {"9999": "s1"})
    flow_auth.write_keys(path, "9999", "c2", {"9999": "s2", "9998": "s3"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert flow_auth.read_keys(path)["client"] == "c2"
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temp file left


# ------------------------------------------------------------------ the embedded FATE-Flow (real)
ROOT = Path(__file__).resolve().parents[1]
FLOW_HOME = ROOT / ".fatelab" / "flow"


def _get(url: str, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read().decode())


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    from harness.engines.fate22.standalone import StandaloneEngine

    engine = StandaloneEngine(FLOW_HOME, progress=False)
    engine.start()
    return engine.server


@pytest.mark.fate
def test_embedded_flow_refuses_unsigned_and_wrongly_signed_requests(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = f"http://{server.endpoint}"
    secret = tmp_path / "secret.csv"
    secret.write_text("id,y\n1,0\n")
    attempts = {
        "job list": ("GET", "/v2/job/query", ""),
        "table list": ("GET", "/v2/table/query", "?namespace=fatelab&name=x"),
        "data download": ("GET", "/v2/data/download", "?namespace=fatelab&name=x"),
    }
    for what, (method, path, query) in attempts.items():
        unsigned = _get(base + path + query)
        assert unsigned["code"] != 0 and "fatelab auth" in unsigned["message"], (what, unsigned)
        forged = _get(base + path + query, {HEADER: sign("0" * 64, "client", method=method, path=path)})
        assert forged["code"] != 0 and "bad signature" in forged["message"], (what, forged)
    # An upload of a file of the harness's user, asked for without a key, is refused and creates nothing.
    body = json.dumps(
        {
            "file": str(secret),
            "head": True,
            "partitions": 1,
            "namespace": "fatelab",
            "name": "pytest_stolen",
            "meta": {"sample_id_name": "id"},
        }
    ).encode()
    request = urllib.request.Request(
        base + "/v2/data/component/upload", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        answer = json.loads(response.read().decode())
    assert answer["code"] != 0 and "fatelab auth" in answer["message"], answer
    # The readiness probe stays open (it tells only the party id, or that the server is standalone).
    assert "fatelab auth" not in _get(base + "/v2/site/info/query")["message"]
    from harness.engines.fate22.client import FlowRestClient

    signed = FlowRestClient(server.host, server.http_port, server.client_key())
    assert signed.table_rows("fatelab", "pytest_stolen") is None
    answer = signed._client.job.query(job_id="1")
    assert isinstance(answer, dict) and "fatelab auth" not in str(answer.get("message")), answer


@pytest.mark.fate
def test_embedded_flow_keys_and_home_are_private(server) -> None:  # type: ignore[no-untyped-def]
    assert stat.S_IMODE(server.keys_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    assert os.stat(server.keys_file).st_uid == os.getuid()


# ------------------------------------------------- the hook wiring, against a stand-in of FATE-Flow's API
class _Return:
    def __init__(self, code: int = 0, message: str = "success", signature: dict | None = None) -> None:
        self.code, self.message, self.signature = code, message, signature


class _Parm:
    def __init__(self, method: str = "", path: str = "", headers: dict | None = None, party_id: str = "") -> None:
        self.method, self.path, self.headers, self.party_id = method, path, headers or {}, party_id


@pytest.fixture
def hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """flow_auth's hooks as FATE-Flow's HookManager would hold them (stand-in modules, same names)."""
    import types

    registered: dict[str, object] = {}
    manager = types.SimpleNamespace(
        register_client_authentication_hook=lambda f: registered.setdefault("client", f),
        register_site_authentication_hook=lambda f: registered.setdefault("site", f),
        register_site_signature_hook=lambda f: registered.setdefault("signature", f),
    )
    modules = {
        "fate_flow": types.ModuleType("fate_flow"),
        "fate_flow.hook": types.SimpleNamespace(HookManager=manager),
        "fate_flow.entity.code": types.SimpleNamespace(ReturnCode=types.SimpleNamespace(
            API=types.SimpleNamespace(VERIFY_FAILED=1003))),
        "fate_flow.hook.common.parameters": types.SimpleNamespace(
            AuthenticationReturn=_Return, SignatureReturn=_Return),
        "fate_flow.runtime.system_settings": types.SimpleNamespace(
            FATE_FLOW_CONF_PATH=str(tmp_path), LOCAL_PARTY_ID="0", PARTY_ID="9999"),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    flow_auth.write_keys(tmp_path / flow_auth.KEYS_FILE, "9999", "c" * 64, {"9999": "s" * 64, "9998": "t" * 64})
    flow_auth._register_hooks()
    return registered


def test_client_hook_refuses_unsigned_and_accepts_the_client_key(hooks) -> None:  # type: ignore[no-untyped-def]
    client = hooks["client"]
    assert client(_Parm("GET", "/v2/job/list/query")).code == 1003
    header = sign("c" * 64, "client", method="GET", path="/v2/job/list/query")
    assert client(_Parm("GET", "/v2/job/list/query", {HEADER: header})).code == 0
    site_header = sign("s" * 64, "site")  # a peer's site key opens no client route
    assert client(_Parm("GET", "/v2/job/list/query", {HEADER: site_header})).code == 1003
    assert client(_Parm("GET", "/v2/site/info/query")).code == 0  # the readiness probe


def test_site_hooks_sign_for_the_destination_and_verify_their_own_key(hooks) -> None:  # type: ignore[no-untyped-def]
    to_self = hooks["signature"](_Parm(party_id="0")).signature  # "0": FATE's name for the local party
    to_peer = hooks["signature"](_Parm(party_id="9998")).signature
    assert hooks["site"](_Parm(headers=to_self)).code == 0
    assert hooks["site"](_Parm(headers=to_peer)).code == 1003  # signed for 9998: not valid here
    assert hooks["signature"](_Parm(party_id="4242")).code == 1003  # no key for an unknown party
