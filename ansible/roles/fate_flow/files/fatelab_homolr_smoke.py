#!/opt/fate/venv/bin/python
"""Three-party HomoLR smoke test helpers, run on each party's host against its own FATE-Flow.

  upload: write this party's slice of a small public data set (scikit-learn's breast cancer table, shipped
          inside scikit-learn) as CSV and upload it to the local FATE-Flow as a dataframe table.
  fit:    (guest only) submit Reader + HomoLR + Evaluation over all parties and wait for the end.

Prints one JSON line; exit status 0 only on success.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import time
from pathlib import Path

NAMESPACE = "fatelab_verify"
META = {"delimiter": ",", "dtype": "float64", "input_format": "dense", "label_type": "int64",
        "label_name": "y", "match_id_name": "id"}


def table_name(party_id: str) -> str:
    return f"breast_homo_{party_id}"


def party_slice(part: int, parts: int):
    """Rows of the standardised data set that belong to one party (interleaved, so every slice has both
    classes)."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    x = StandardScaler().fit_transform(data.data)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame.insert(0, "y", data.target.astype(int))
    frame.insert(0, "id", range(len(frame)))
    return frame.iloc[part::parts].reset_index(drop=True)


def _use_flow(ip: str, port: int, keys_file: str) -> None:
    from fate_client.pipeline.conf.env_config import FlowConfig
    from fate_client.pipeline.utils.fateflow import fate_flow_job_invoker
    from fatelab_flow_auth import read_keys, signed_flow_client

    # Class attributes read whenever a job invoker is built: targets this flow without `pipeline init`.
    FlowConfig.IP, FlowConfig.PORT, FlowConfig.VERSION = ip, port, "v2"
    # The invoker builds its FlowClient from that module's global: swap in one that signs every request.
    key = read_keys(Path(keys_file))["client"]
    fate_flow_job_invoker.FlowClient = lambda ip, port, version: signed_flow_client(ip, port, key)


def upload(args: argparse.Namespace) -> dict:
    from fate_client.pipeline import FateFlowPipeline

    _use_flow(args.ip, args.port, args.keys_file)
    path = Path(args.workdir) / f"{table_name(args.party)}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = party_slice(args.part, args.parts)
    frame.to_csv(path, index=False)
    with contextlib.redirect_stdout(io.StringIO()):
        FateFlowPipeline().set_parties(local="0").transform_local_file_to_dataframe(
            file=str(path), namespace=NAMESPACE, name=table_name(args.party), meta=META, head=True,
            extend_sid=True)
    return {"party": args.party, "rows": len(frame), "namespace": NAMESPACE, "name": table_name(args.party),
            "status": "success"}


def fit(args: argparse.Namespace) -> dict:
    from fate_client.pipeline import FateFlowPipeline
    from fate_client.pipeline.components.fate import Evaluation, HomoLR, Reader

    _use_flow(args.ip, args.port, args.keys_file)
    hosts = args.hosts.split(",")
    pipeline = FateFlowPipeline().set_parties(guest=args.guest, host=hosts, arbiter=args.arbiter)
    reader = Reader("reader_0", runtime_parties=dict(guest=args.guest, host=hosts))
    reader.guest.task_parameters(namespace=NAMESPACE, name=table_name(args.guest))
    for i, host in enumerate(hosts):
        reader.hosts[i].task_parameters(namespace=NAMESPACE, name=table_name(host))
    homo_lr = HomoLR("homo_lr_0", epochs=args.epochs, batch_size=64,
                     optimizer={"method": "sgd", "optimizer_params": {"lr": 0.1}, "penalty": "l2",
                                "alpha": 0.01},
                     init_param={"fit_intercept": True, "method": "zeros"},
                     train_data=reader.outputs["output_data"])
    evaluation = Evaluation("evaluation_0", runtime_parties=dict(guest=args.guest, host=hosts),
                            default_eval_setting="binary", input_datas=[homo_lr.outputs["train_output_data"]])
    pipeline.add_tasks([reader, homo_lr, evaluation])
    pipeline.compile()
    started = time.monotonic()
    printed = io.StringIO()
    status, error = "success", None
    try:
        with contextlib.redirect_stdout(printed):
            pipeline.fit()
    except Exception as exc:  # the SDK raises ValueError("Job is failed ...") among others
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    match = re.search(r"Job id is (\S+)", printed.getvalue())
    result = {"job_id": match.group(1) if match else None, "guest": args.guest, "hosts": hosts,
              "arbiter": args.arbiter, "status": status, "elapsed_s": round(time.monotonic() - started, 1)}
    if error:
        result["error"] = error
    else:
        result["metrics"] = _scalar_metrics(pipeline.get_task_info("evaluation_0").get_output_metric())
    return result


def _scalar_metrics(payload) -> dict:
    found: dict = {}

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metric"), str) and isinstance(node.get("val"), int | float):
                found[node["metric"]] = node["val"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=9380)
    parser.add_argument("--keys-file", default="/opt/fate/flow/conf/fatelab_auth.json", help="client key source")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upload")
    up.add_argument("--party", required=True)
    up.add_argument("--part", type=int, required=True)
    up.add_argument("--parts", type=int, required=True)
    up.add_argument("--workdir", required=True)
    ft = sub.add_parser("fit")
    ft.add_argument("--guest", required=True)
    ft.add_argument("--hosts", required=True, help="comma-separated host party ids")
    ft.add_argument("--arbiter", required=True)
    ft.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        result = upload(args) if args.command == "upload" else fit(args)
    except Exception as exc:
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result))
    return 0 if result.get("status") == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
