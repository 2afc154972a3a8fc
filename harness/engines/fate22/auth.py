"""HMAC request signing for FATE-Flow 2.2: the harness's client side and FATE-Flow's auth hooks.

FATE-Flow 2.2 checks requests through pluggable hooks (``hook_module`` in service_conf.yaml) when
``authentication.client`` / ``authentication.site`` are on. Its stock hooks sign with MD5 over the app id
and a timestamp only, and create an ``admin`` app whose token is the constant ``fate_flow_admin`` in its
``settings.py``: anyone can sign as admin. This module replaces them:

- client routes (``/v2/job``, ``/v2/data``, ``/v2/output``, ...) need an HMAC-SHA256 over the method,
  the path, a timestamp and a nonce, keyed with the party's *client key* (known to the party's host and
  the controller only);
- partner/scheduler routes (what parties call on each other) need an HMAC keyed with the destination
  party's *site key* (FATE-Flow's signature hook is not told the method or path, so the key is what
  binds a signature to its destination; ``"*"`` in a keys file stands for every party, which the
  embedded engine uses since it serves all parties itself);
- a signature is valid for ``WINDOW_S`` seconds; a client signature once (replays are refused). Site
  signatures are not single-use: FATE-Flow retries a failed inter-site call with the same headers
  (``ofx`` ``remote_on_http``), and refusing the retry would fail jobs on a slow network.

One file, stdlib only, used in two places: the harness imports it to sign, and FATE-Flow imports it as
its hook module (as ``harness.engines.fate22.auth`` for the embedded engine, as ``fatelab_flow_auth`` on a
cluster host, where Ansible installs this same file). It registers the hooks only when imported by
FATE-Flow's HookManager, so importing it anywhere else has no side effect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HEADER = "X-Fatelab-Auth"
VERSION = "v1"
WINDOW_S = 60.0
KEYS_FILE = "fatelab_auth.json"
# Answers only "which party am I": readiness probes (Ansible, harness, tests) use it without a key.
UNSIGNED_CLIENT_ROUTES = frozenset({("GET", "/v2/site/info/query")})


def new_key() -> str:
    return secrets.token_hex(32)


def _mac(key: str, scope: str, method: str, path: str, stamp: str, nonce: str) -> str:
    message = "\n".join((VERSION, scope, method.upper(), path, stamp, nonce)).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign(key: str, scope: str, *, method: str = "", path: str = "", now: float | None = None) -> str:
    """The header value for one request: ``v1:<ms>:<nonce>:<hmac>``."""
    stamp = str(int((time.time() if now is None else now) * 1000))
    nonce = secrets.token_hex(12)
    return ":".join((VERSION, stamp, nonce, _mac(key, scope, method, path, stamp, nonce)))


class Verifier:
    """Checks header values for one key; with ``single_use``, remembers nonces so a header is not reused."""

    def __init__(
        self, key: str, scope: str, *, single_use: bool = True, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self._scope = scope
        self._single_use = single_use
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, header: str | None, *, method: str = "", path: str = "") -> str | None:
        """None when the header is valid, else why not (safe to return to the caller)."""
        if not self._key:
            return "no key configured on this FATE-Flow: every request is refused"
        if not header:
            return f"missing {HEADER} header"
        parts = header.split(":")
        if len(parts) != 4 or parts[0] != VERSION or not parts[1].isdigit():
            return f"malformed {HEADER} header"
        _, stamp, nonce, mac = parts
        now = self._clock()
        if abs(now - int(stamp) / 1000) > WINDOW_S:
            return "signature expired (or clocks differ by more than a minute)"
        if not hmac.compare_digest(mac, _mac(self._key, self._scope, method, path, stamp, nonce)):
            return "bad signature"
        if not self._single_use:
            return None
        with self._lock:
            self._seen = {n: t for n, t in self._seen.items() if now - t <= 2 * WINDOW_S}
            if nonce in self._seen:
                return "replayed signature"
            self._seen[nonce] = now
        return None


# --------------------------------------------------------------------------------- key files
def write_keys(path: Path, party_id: str, client_key: str, site_keys: Mapping[str, str]) -> None:
    """Write a keys file created 0600 (never chmod-ed after the fact); replaces an older one atomically."""
    body = json.dumps({"party_id": str(party_id), "client": client_key, "site": dict(site_keys)}, indent=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_keys(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("client"), str) or not isinstance(doc.get("site"), dict):
        raise ValueError(f"{path}: expected {{'party_id', 'client', 'site': {{party: key}}}}")
    return doc


# ------------------------------------------------------------------------------ client side
def signed_flow_client(host: str, port: int, key: str) -> Any:
    """fate_client's FlowClient whose every request carries a client signature for its method and path."""
    from urllib.parse import urlsplit

    from fate_client.flow_sdk import FlowClient

    class SignedFlowClient(FlowClient):  # type: ignore[misc, valid-type]
        def _request(self, method: str, uri: str, **kwargs: Any) -> Any:
            path = urlsplit(self.API_BASE_URL + uri).path
            headers = dict(kwargs.pop("headers", None) or {})
            headers[HEADER] = sign(key, "client", method=method, path=path)
            return super()._request(method, uri, headers=headers, **kwargs)

    return SignedFlowClient(ip=host, port=port, version="v2")


# ------------------------------------------------------------------- FATE-Flow's hook module
def _register_hooks() -> None:
    """Register with FATE-Flow's HookManager; a no-op unless FATE-Flow itself is importing us."""
    hook_pkg = sys.modules.get("fate_flow.hook")
    if hook_pkg is None:
        return
    from fate_flow.entity.code import ReturnCode
    from fate_flow.hook.common.parameters import AuthenticationReturn, SignatureReturn
    from fate_flow.runtime.system_settings import FATE_FLOW_CONF_PATH, LOCAL_PARTY_ID, PARTY_ID

    manager = hook_pkg.HookManager
    party = str(PARTY_ID)
    try:
        keys = read_keys(Path(FATE_FLOW_CONF_PATH) / KEYS_FILE)
    except (OSError, ValueError):
        keys = {"client": "", "site": {}}  # fail closed: Verifier refuses everything without a key
    client = Verifier(keys["client"], "client")
    site_keys: dict[str, str] = {str(p): str(k) for p, k in keys["site"].items()}
    site = Verifier(site_keys.get(party) or site_keys.get("*", ""), "site", single_use=False)

    def refused(why: str) -> Any:
        return AuthenticationReturn(code=ReturnCode.API.VERIFY_FAILED, message=f"fatelab auth: {why}")

    def client_auth(parm: Any) -> Any:
        if (str(parm.method).upper(), parm.path) in UNSIGNED_CLIENT_ROUTES:
            return AuthenticationReturn()
        why = client.check(parm.headers.get(HEADER), method=parm.method, path=parm.path)
        return refused(why) if why else AuthenticationReturn()

    def site_auth(parm: Any) -> Any:
        why = site.check(parm.headers.get(HEADER))
        return refused(why) if why else AuthenticationReturn()

    def site_signature(parm: Any) -> Any:
        dest = party if str(parm.party_id) in (LOCAL_PARTY_ID, party) else str(parm.party_id)
        key = site_keys.get(dest) or site_keys.get("*")
        if not key:
            return SignatureReturn(code=ReturnCode.API.VERIFY_FAILED, message=f"no site key for party {dest}")
        return SignatureReturn(signature={HEADER: sign(key, "site")})

    manager.register_client_authentication_hook(client_auth)
    manager.register_site_authentication_hook(site_auth)
    manager.register_site_signature_hook(site_signature)


_register_hooks()
