"""Inside a launcher party process: one vertical fit, PSI -> HeteroSecureBoost or PSI -> coordinated LR.

Called by :func:`harness.engines.fate22.launcher_party.run_fit` for a fit whose parameters name a
hetero family (:mod:`harness.engines.fate22.mapping_hetero` builds them). It does what FATE 2.2's
``psi``, ``hetero_secureboost`` and ``coordinated_lr`` components do under FATE-Flow
(``fate/components/components/{psi,hetero_secureboost,coordinated_lr}.py``), with FATE's own classes:

1. each data party reads its own train and test CSVs (only the guest's has a label);
2. ``psi_run`` (ECDH over curve25519) intersects the train ids, then the test ids, between guest and host;
3. SecureBoost: the guest sets the Paillier key (``ctx.cipher.set_phe``) and ``HeteroSecureBoostGuest``
   and ``HeteroSecureBoostHost`` fit on the intersected train rows, then predict the intersected test rows;
   coordinated LR: every role sets the cipher (the arbiter holds the key) and the guest, host and arbiter
   modules fit, then guest and host predict.

Outputs under the fit's folder: the guest's ``scores.csv`` (id, label, score of the intersected test rows)
and ``model.json`` (family, per-phase seconds, PSI counts and bytes, loss history); every party's
``psi_<role>_<party>.json`` with its PSI input and intersection sizes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engines.base import JobResult
from harness.engines.fate22.launcher_party import MATCH_ID, write_json

SECUREBOOST = "hetero_secureboost"
COORDINATED_LR = "coordinated_lr"
if TYPE_CHECKING:
    import pandas as pd

    from harness.engines.base import FitJob

PSI_ONLY = "psi"  # the PSI benchmark (harness/benchmarks/psi_bench.py): intersect, train nothing
FAMILIES = (SECUREBOOST, COORDINATED_LR, PSI_ONLY)
# HeteroSecureBoostGuest._check_label reads the class from "<label>_<class>" dummies with split("_")[1]:
# a label called loan_status fails ("status" is no int). Every hetero fit calls it "label".
FATE_LABEL = "label"


def run_hetero(ctx: Any, fit: Mapping[str, Any], me: tuple[str, str], out: Path, counter: Any) -> None:
    """This party's share of one vertical fit; ``counter`` is the fit's WireCounter (PSI bytes are read off it)."""
    params = fit["params"]
    role, party = me
    phases: dict[str, float] = {}
    if role == "arbiter":
        if params["family"] == COORDINATED_LR:
            arbiter_lr(ctx, params)
        return
    started = time.monotonic()
    train = read_party_frame(ctx, fit["train"][party], fit, labelled=role == "guest")
    test = read_party_frame(ctx, fit["test"][party], fit, labelled=role == "guest")
    phases["read_s"] = time.monotonic() - started
    psi: dict[str, Any] = {"train_in": train.shape[0], "test_in": test.shape[0]}
    before = dict(counter.total.as_dict())
    started = time.monotonic()
    train = intersect(ctx.sub_ctx("psi_train"), train, params)
    test = intersect(ctx.sub_ctx("psi_test"), test, params)
    phases["psi_s"] = time.monotonic() - started
    sent = {k: v - before[k] for k, v in counter.total.as_dict().items()}
    psi |= {"train_found": train.shape[0], "test_found": test.shape[0], "sent": sent}
    write_json(out / f"psi_{role}_{party}.json", psi)
    if params["family"] == PSI_ONLY:
        if role == "guest":
            write_json(out / "model.json", {"family": PSI_ONLY, "phases": phases, "psi": psi})
        return
    started = time.monotonic()
    cost: dict[str, Any] = {}
    if params["family"] == SECUREBOOST:
        model, scores, losses = secureboost(ctx, params, role, train, test, cost)
    else:
        model, scores, losses = coordinated_lr(ctx, params, role, train, test)
    phases["fit_predict_s"] = time.monotonic() - started
    if cost:
        write_json(out / f"cost_{role}_{party}.json", cost)
    if role != "guest":
        return
    write_scores(scores, fit["id_column"], out)
    write_json(
        out / "model.json",
        {"family": params["family"], "phases": phases, "psi": psi, "loss_history": losses, "model": model},
    )


def intersect(ctx: Any, frame: Any, params: Mapping[str, Any]) -> Any:
    from fate.arch.protocol.psi import psi_run

    return psi_run(ctx, frame, params["psi"]["protocol"], params["psi"]["curve_type"])


def secureboost(
    ctx: Any, params: Mapping[str, Any], role: str, train: Any, test: Any, cost: dict[str, Any]
) -> tuple[Any, Any, list]:
    """FATE's ``hetero_secureboost`` train then predict, as the component calls the classes; ``cost`` gets this
    party's seconds per tree and the share of encryption / histograms (harness/engines/fate22/sbt_cost.py)."""
    from fate.ml.ensemble import HeteroSecureBoostGuest, HeteroSecureBoostHost

    from harness.engines.fate22.sbt_cost import party_cost, targets, timed

    tree = params["tree"]
    if role == "guest":
        ctx.cipher.set_phe(ctx.device, params["he_param"])
        booster = HeteroSecureBoostGuest(**tree)
    else:
        host_keys = ("num_trees", "max_depth", "complete_secure", "max_bin", "hist_sub")
        booster = HeteroSecureBoostHost(**{k: tree[k] for k in host_keys})
    with timed(targets(role)) as clock:
        started = time.monotonic()
        booster.fit(ctx.sub_ctx("train"), train)
        train_s = time.monotonic() - started
    started = time.monotonic()
    scores = booster.predict(ctx.sub_ctx("predict"), test)
    cost.update(party_cost(clock, train_s, time.monotonic() - started))
    if role == "guest":
        return booster.get_model(), scores, [float(x) for x in booster._loss_history]
    return None, None, []


def lr_module_args(params: Mapping[str, Any]) -> dict[str, Any]:
    lr = params["lr"]
    return {
        "epochs": lr["epochs"],
        "batch_size": lr["batch_size"],
        "optimizer_param": lr["optimizer"],
        "learning_rate_param": lr["learning_rate_scheduler"],
    }


def coordinated_lr(ctx: Any, params: Mapping[str, Any], role: str, train: Any, test: Any) -> tuple[Any, Any, list]:
    """FATE's ``coordinated_lr`` train then predict for guest or host (``train_guest``/``train_host``)."""
    from fate.ml.glm import CoordinatedLRModuleGuest, CoordinatedLRModuleHost

    ctx.cipher.set_phe(ctx.device, params["he_param"])
    lr = params["lr"]
    common = lr_module_args(params) | {
        "init_param": lr["init_param"],
        "floating_point_precision": lr["floating_point_precision"],
    }
    if role == "guest":
        module = CoordinatedLRModuleGuest(**common, threshold=lr["threshold"])
    else:
        module = CoordinatedLRModuleHost(**common)
    module.fit(ctx.sub_ctx("train"), train)
    scores = module.predict(ctx.sub_ctx("predict"), test)
    return (module.get_model(), scores, []) if role == "guest" else (None, None, [])


def arbiter_lr(ctx: Any, params: Mapping[str, Any]) -> None:
    from fate.ml.glm import CoordinatedLRModuleArbiter

    ctx.cipher.set_phe(ctx.device, params["he_param"])
    lr = params["lr"]
    module = CoordinatedLRModuleArbiter(**lr_module_args(params), early_stop=lr["early_stop"], tol=lr["tol"])
    module.fit(ctx.sub_ctx("train"))


def read_party_frame(ctx: Any, path: str, fit: Mapping[str, Any], *, labelled: bool) -> Any:
    """A party's CSV as a FATE DataFrame: float64 features, the label only on the guest."""
    import pandas as pd
    from fate.arch.dataframe import PandasReader

    frame = pd.read_csv(path).rename(columns={fit["id_column"]: MATCH_ID, fit["label"]: FATE_LABEL})
    frame[MATCH_ID] = frame[MATCH_ID].astype(str)
    label = FATE_LABEL if labelled else None
    reader = PandasReader(
        match_id_name=MATCH_ID, label_name=label, label_type="int64", dtype="float64", partition=1
    )
    return reader.to_frame(ctx, frame)


def write_scores(scores: Any, id_column: str, out: Path) -> None:
    import pandas as pd

    frame = scores.as_pd_df()[[MATCH_ID, "label", "predict_score"]]
    frame = frame.rename(columns={MATCH_ID: id_column, "predict_score": "score"})
    frame[id_column] = pd.to_numeric(frame[id_column]).round().astype("int64")
    frame = frame.astype({"label": "int64", "score": "float64"})
    frame.to_csv(out / "scores.tmp", index=False)
    (out / "scores.tmp").replace(out / "scores.csv")


# ---------------------------------------------------------------------------------- engine side
def hetero_result(
    fit_dir: Path, job_id: str, job: FitJob, scores: pd.DataFrame, model: Mapping[str, Any], wires: list[dict]
) -> JobResult:
    """One vertical fit's JobResult: the guest's scores, each party's PSI counts, phases, traffic."""
    from harness.engines.fate22.sbt_cost import fit_cost
    from harness.engines.fate22.wire import fit_traffic

    psi = {
        f"{role}:{party}": json.loads((fit_dir / f"psi_{role}_{party}.json").read_text())
        for role, party in job.roles.party_roles()
        if role != "arbiter"
    }
    guest_wire = next(w for w in wires if w["party"] == f"guest:{job.roles.guest}")
    costs = {f"{role}:{party}": json.loads(path.read_text())
             for role, party in job.roles.party_roles()
             if (path := fit_dir / f"cost_{role}_{party}.json").is_file()}
    return JobResult(
        job_id=job_id,
        scores=scores.astype({job.id_column: "int64", "label": "int64", "score": "float64"}),
        fate_metrics={},
        wall_s=float(guest_wire["wall_s"]),
        task_seconds={k: round(float(v), 3) for k, v in model["phases"].items()},
        loss_history=[float(x) for x in model.get("loss_history", [])],
        traffic=fit_traffic([{k: v for k, v in w.items() if k != "wall_s"} for w in wires]),
        extras={"family": model["family"], "psi": psi} | ({"cost": fit_cost(costs)} if costs else {}),
    )
