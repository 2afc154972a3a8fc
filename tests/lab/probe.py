"""Attacker-side probe, run on a lab host with the host's own python3 (stdlib only).

Reads a JSON plan on stdin: {"requests": [{"id", "address", "port", "method", "path", "headers", "body"}],
"connects": [{"id", "address", "port"}]}, sends every request raw (http.client: the path goes out exactly
as given, '..' and '%2e' included), tries every TCP connect, and prints one JSON document
{"requests": {id: {"status", "body"}}, "connects": {id: "connected" | error}}.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys

TIMEOUT = 10.0


def send(spec: dict) -> dict:
    connection = http.client.HTTPConnection(spec["address"], spec["port"], timeout=TIMEOUT)
    try:
        body = spec.get("body")
        connection.request(spec["method"], spec["path"], body=body, headers=spec.get("headers") or {})
        response = connection.getresponse()
        return {"status": response.status, "body": response.read(4096).decode("utf-8", "replace")}
    except OSError as exc:
        return {"status": None, "body": f"{type(exc).__name__}: {exc}"}
    finally:
        connection.close()


def connects(spec: dict) -> str:
    try:
        with socket.create_connection((spec["address"], spec["port"]), timeout=3.0):
            return "connected"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def main() -> None:
    # Run as `python3 -c RUNNER` with the plan on stdin's first line and this file after it.
    plan = json.loads(globals()["PLAN"]) if "PLAN" in globals() else json.load(sys.stdin)
    out = {
        "requests": {r["id"]: send(r) for r in plan.get("requests", [])},
        "connects": {c["id"]: connects(c) for c in plan.get("connects", [])},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()


# What the controller runs on the host: reads the plan (line 1) and this file (the rest) from stdin.
RUNNER = (
    "import sys; plan = sys.stdin.readline(); "
    "exec(compile(sys.stdin.read(), 'probe', 'exec'), {'__name__': '__main__', 'PLAN': plan})"
)
