#!/opt/fate/venv/bin/python
"""One signed GET to this party's FATE-Flow; prints the JSON answer (used by collect_job_logs.yml).

usage: fatelab_flow_query.py --ip IP --port PORT /v2/job/query job_id=123 [key=value ...]
The client key comes from the FATE-Flow home's keys file (readable by the fate user and root only), so
it never appears on a command line.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from fatelab_flow_auth import HEADER, read_keys, sign

KEYS_FILE = "/opt/fate/flow/conf/fatelab_auth.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=9380)
    parser.add_argument("--keys-file", default=KEYS_FILE)
    parser.add_argument("path", help="an API path such as /v2/job/query")
    parser.add_argument("params", nargs="*", help="key=value query parameters")
    args = parser.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.params)
    key = read_keys(Path(args.keys_file))["client"]
    url = f"http://{args.ip}:{args.port}{args.path}?{urllib.parse.urlencode(params)}"
    headers = {HEADER: sign(key, "client", method="GET", path=args.path)}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the URL is http:// built above
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (this party's FATE-Flow)
        print(json.dumps(json.loads(response.read().decode())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
