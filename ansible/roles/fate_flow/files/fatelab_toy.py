#!/opt/fate/venv/bin/python
"""Run FATE's toy job from this party's FATE-Flow (guest) against one host party and wait for the end.

Prints one JSON line {"job_id", "guest", "host", "status", "elapsed_s"}; exit status 0 only on success.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from fate_client.flow_sdk import FlowClient

_FINAL = {"success", "failed", "canceled", "timeout"}


def _job_status(client: FlowClient, job_id: str, guest: str) -> str:
    response = client.job.query(job_id=job_id, role="guest", party_id=guest)
    if response.get("code") != 0 or not response.get("data"):
        return "unknown"
    return str(response["data"][0].get("status", "unknown"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=9380)
    parser.add_argument("--guest", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    client = FlowClient(ip=args.ip, port=args.port, version="v2")
    started = time.monotonic()
    response = client.test.toy(guest_party_id=args.guest, host_party_id=args.host)
    job_id = response.get("job_id")
    status = "submit_failed" if response.get("code") != 0 or not job_id else "waiting"
    while job_id and status not in _FINAL and time.monotonic() - started < args.timeout:
        time.sleep(2)
        status = _job_status(client, job_id, args.guest)
    result = {"job_id": job_id, "guest": args.guest, "host": args.host, "status": status,
              "elapsed_s": round(time.monotonic() - started, 1)}
    if status == "submit_failed":
        result["response"] = response
    print(json.dumps(result))
    return 0 if status == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
