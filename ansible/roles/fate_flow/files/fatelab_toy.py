#!/opt/fate/venv/bin/python
"""Run FATE's toy job from this party's FATE-Flow (guest) against each given host party; wait for all.

All jobs are submitted before waiting: each costs about a minute of process start-up, which runs side
by side on the parties instead of one after another. Prints one JSON line per job
{"job_id", "guest", "host", "status", "elapsed_s"}; exit status 0 only when every job succeeded.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fate_client.flow_sdk import FlowClient
from fatelab_flow_auth import read_keys, signed_flow_client

_FINAL = {"success", "failed", "canceled", "timeout"}
_DONE = _FINAL | {"submit_failed"}  # nothing left to poll


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
    parser.add_argument("--host", required=True, nargs="+", help="one or more host party ids")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--keys-file", default="/opt/fate/flow/conf/fatelab_auth.json", help="client key source")
    args = parser.parse_args(argv)

    client = signed_flow_client(args.ip, args.port, read_keys(Path(args.keys_file))["client"])
    started = time.monotonic()
    jobs = []
    for host in args.host:
        response = client.test.toy(guest_party_id=args.guest, host_party_id=host)
        job_id = response.get("job_id")
        status = "submit_failed" if response.get("code") != 0 or not job_id else "waiting"
        jobs.append({"job_id": job_id, "guest": args.guest, "host": host, "status": status, "response": response})
    while any(j["status"] not in _DONE for j in jobs) and time.monotonic() - started < args.timeout:
        time.sleep(2)
        for job in jobs:
            if job["status"] not in _DONE:
                job["status"] = _job_status(client, job["job_id"], args.guest)
                if job["status"] in _FINAL:
                    job["elapsed_s"] = round(time.monotonic() - started, 1)
    for job in jobs:
        job.setdefault("elapsed_s", round(time.monotonic() - started, 1))
        if job["status"] != "submit_failed":
            del job["response"]
        print(json.dumps(job))
    return 0 if all(j["status"] == "success" for j in jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
