"""What a SecureBoost fit spends its time on, measured inside a launcher party process (issue 14 item 4).

FATE's own methods are wrapped for the length of one fit (and put back afterwards; FATE's files are not
edited): each wrapper adds its wall seconds and a call to a clock. What is timed, per party:

- guest: ``HeteroDecisionTreeGuest.booster_fit`` (one call per tree: the tree's whole federated growth),
  ``_g_h_process`` (the Paillier encryption of the packed gradients and hessians sent to the host, once
  per tree; ``fate/ml/ensemble/learner/decision_tree/hetero/guest.py``) and ``SBTSplitter.split`` (the
  guest's split finding, which decrypts the host's encrypted split statistics);
- host: ``HeteroDecisionTreeHost.booster_fit`` and ``SBTHistogramBuilder.compute_hist`` (the host's
  histograms, sums of the guest's encrypted gradients per bin: homomorphic additions).

Seconds are wall seconds of the party's main process; work FATE hands to its computing backend counts
where the call waits for it. Shares are of the party's training seconds (``HeteroSecureBoost*.fit``).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Clock = dict[str, dict[str, float]]


@contextlib.contextmanager
def timed(targets: Mapping[str, tuple[type, str]]) -> Iterator[Clock]:
    """Wrap each ``(class, method)`` of ``targets`` while the block runs; the clock holds seconds and calls."""
    clock: Clock = {name: {"seconds": 0.0, "calls": 0} for name in targets}
    restore: list[tuple[type, str, Any]] = []
    try:
        for name, (owner, attr) in targets.items():
            original = owner.__dict__[attr]
            setattr(owner, attr, _timing(original, clock[name]))
            restore.append((owner, attr, original))
        yield clock
    finally:
        for owner, attr, original in reversed(restore):
            setattr(owner, attr, original)


def _timing(method: Callable[..., Any], record: dict[str, float]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            record["seconds"] += time.perf_counter() - started
            record["calls"] += 1

    return wrapper


def targets(role: str) -> dict[str, tuple[type, str]]:
    """The FATE methods timed in a ``role`` process (module doc)."""
    from fate.ml.ensemble.learner.decision_tree.tree_core.hist import SBTHistogramBuilder

    if role == "guest":
        from fate.ml.ensemble.learner.decision_tree.hetero.guest import HeteroDecisionTreeGuest
        from fate.ml.ensemble.learner.decision_tree.tree_core.splitter import SBTSplitter

        return {
            "tree": (HeteroDecisionTreeGuest, "booster_fit"),
            "encrypt_gh": (HeteroDecisionTreeGuest, "_g_h_process"),
            "split_decrypt": (SBTSplitter, "split"),
        }
    from fate.ml.ensemble.learner.decision_tree.hetero.host import HeteroDecisionTreeHost

    return {"tree": (HeteroDecisionTreeHost, "booster_fit"), "histogram": (SBTHistogramBuilder, "compute_hist")}


def party_cost(clock: Clock, train_s: float, predict_s: float) -> dict[str, Any]:
    """One party's cost block: its training and predicting seconds, per tree, and each timed part's share."""
    trees = int(clock["tree"]["calls"])
    out: dict[str, Any] = {
        "train_s": round(train_s, 3),
        "predict_s": round(predict_s, 3),
        "trees": trees,
        "seconds_per_tree": round(clock["tree"]["seconds"] / trees, 3) if trees else None,
    }
    for name, record in clock.items():
        if name == "tree":
            continue
        out[f"{name}_s"] = round(record["seconds"], 3)
        out[f"{name}_calls"] = int(record["calls"])
        out[f"{name}_share"] = round(record["seconds"] / train_s, 4) if train_s > 0 else None
    return out


def fit_cost(parties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The fit's cost: every party's block ("guest:9999" -> ...) and the headline numbers from them."""
    guest = next((c for p, c in parties.items() if p.startswith("guest:")), {})
    host = next((c for p, c in parties.items() if p.startswith("host:")), {})
    return {
        "seconds_per_tree": guest.get("seconds_per_tree"),
        "encrypt_share": guest.get("encrypt_gh_share"),
        "host_histogram_share": host.get("histogram_share"),
        "parties": {p: dict(c) for p, c in parties.items()},
        "timed": "wall seconds of FATE's methods, wrapped in the party process (harness/engines/fate22/sbt_cost.py)",
    }
