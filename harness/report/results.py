"""What a study's results dict holds, and how the report reads it.

The study hands over one results dict; :func:`to_jsonable` turns it into plain JSON types once, and
everything the report shows (report.md, report.html, the CLI's summary line) is read from that
normalised dict with the functions below, so every number in the report is a number in
``results.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.arm_names import CENTRALIZED as CENTRALIZED
from harness.arm_names import FEDERATED as FEDERATED
from harness.arm_names import LOCAL_PREFIX as LOCAL_PREFIX
from harness.report.format import (
    BINARY,
    DASH,
    METRIC_COLUMNS,
    METRIC_NAMES,
    METRIC_SETS,
    MetricSet,
    is_number,
    metric_columns,
    plain,
    split_label,
)

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"


def to_jsonable(value: Any, where: str = "results") -> Any:
    """Return ``value`` as plain JSON types: str keys, lists, finite floats (NaN/inf become None).

    numpy scalars/arrays and paths are converted, sets become sorted lists; anything else unknown is
    a bug in the caller and raises TypeError naming where in the dict it sits.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        # Strict JSON has no NaN; null is what other tools (jq, browsers) can read.
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        # A set has no order; sorted, the same set always writes the same results.json.
        return sorted(to_jsonable(v, where) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        return to_jsonable(value.tolist(), where)
    raise TypeError(f"{where} is a {type(value).__name__}, which cannot be written to {RESULTS_FILE}")


def is_ok(metrics: Any) -> bool:
    return isinstance(metrics, Mapping) and "error" not in metrics


def error_text(metrics: Any) -> str:
    if isinstance(metrics, Mapping) and "error" in metrics:
        return str(metrics["error"])
    return f"no metrics recorded (got {plain(metrics)})"


def arm_metrics(results: Mapping[str, Any], name: str) -> Any:
    """One arm's metrics (or its ``{"error": ...}``), None when the run has no such arm.

    A scenario whose arms have other names says which play federated/centralized in ``main_arms``.
    """
    name = (results.get("main_arms") or {}).get(name, name)
    return (results.get("arms") or {}).get(name)


def _party_order(results: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in (results.get("parties") or {})]


def local_party(arm_name: str) -> str:
    """'local:9999' -> '9999'."""
    return arm_name[len(LOCAL_PREFIX) :]


def arm_order(results: Mapping[str, Any]) -> list[str]:
    """Arms present in results: federated, centralised, local-only in party order, then anything else."""
    arms = list((results.get("arms") or {}).keys())
    parties = _party_order(results)

    def key(name: str) -> tuple[int, int, str]:
        if name == FEDERATED:
            return (0, 0, name)
        if name == CENTRALIZED:
            return (1, 0, name)
        if name.startswith(LOCAL_PREFIX):
            party = local_party(name)
            return (2, parties.index(party) if party in parties else len(parties), name)
        return (3, 0, name)

    return sorted(arms, key=key)


def expected_arms(results: Mapping[str, Any]) -> list[str]:
    if "expected_arms" in results:  # a scenario with its own arms (lending-club-vertical)
        return list(results["expected_arms"])
    return [FEDERATED, CENTRALIZED] + [f"{LOCAL_PREFIX}{p}" for p in _party_order(results)]


def missing_arms(results: Mapping[str, Any]) -> list[str]:
    present = set((results.get("arms") or {}).keys())
    return [a for a in expected_arms(results) if a not in present]


def arm_label(name: str, results: Mapping[str, Any]) -> str:
    if name == FEDERATED:
        return "Federated"
    if name == CENTRALIZED:
        return "Centralised"
    if name.startswith(LOCAL_PREFIX):
        party = local_party(name)
        roles = ((results.get("parties") or {}).get(party) or {}).get("roles") or []
        role_text = f" ({', '.join(roles)})" if roles else ""
        return f"Local only, party {party}{role_text}"
    return name


def engines_line(results: Mapping[str, Any]) -> str:
    """Which engine produced which numbers: the report says it beside every table of metrics."""
    engine = (results.get("engine") or {}).get("name") or "the run's FATE engine"
    # The deep-learning arms train the federated fit's own network in PyTorch (harness/model/nn_local.py).
    baseline = ("torch replica of FATE's HomoLR client" if metric_set(results) is BINARY
                else "PyTorch, the same network and settings as the federated fit")
    fate_part = ("the federated arm and the sweep are FATE fits" if results.get("sweep")
                 else "the federated arm is a FATE fit")
    text = (f"Engine behind the numbers: {fate_part} on {engine}; the "
            f"centralised and local-only arms are trained in-process ({baseline}).")
    if isinstance(results.get("vertical"), Mapping):  # lending-club-vertical's arms (harness/study/vertical_arms.py)
        text = (f"Engine behind the numbers: the federated_* arms are FATE fits (PSI, then SecureBoost or coordinated "
                f"LR) on {engine}; the centralised and guest-only arms are trained in-process (XGBoost with "
                "SecureBoost's settings; coordinated LR's update rule).")
    validation = results.get("validation")
    if isinstance(validation, Mapping) and validation.get("engines"):
        text += (f" The first federated fit was also run on {' and '.join(map(str, validation['engines']))} "
                 "and compared (Validation, in the Run section).")
    return text


def metric_set(results: Mapping[str, Any]) -> MetricSet:
    """What the run's arms are judged by: the first known set whose primary metric a successful arm
    records (AUC for Lending Club, accuracy for the deep-learning scenarios); binary when none does."""
    ok = [m for m in (results.get("arms") or {}).values() if is_ok(m)]
    return next((s for s in METRIC_SETS if any(s.primary in m for m in ok)), BINARY)


def recorded_columns(metrics: Iterable[Any], keys: Iterable[str] = METRIC_NAMES,
                     fallback: Sequence[tuple[str, str]] = METRIC_COLUMNS) -> tuple[tuple[str, str], ...]:
    """The (key, header) of those ``keys`` that a successful result among ``metrics`` records (NaN
    included), in ``keys``' order, so that no column is all dashes; ``fallback`` when none records any
    (every arm failed: the table still has its usual columns)."""
    ok = [m for m in metrics if is_ok(m)]
    found = [k for k in keys if any(k in m for m in ok)]
    return metric_columns(*found) if found else tuple(fallback)


def arm_columns(results: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The metric columns of the arms table: every known metric an arm of this run records."""
    return recorded_columns((results.get("arms") or {}).values())


def headline_columns(results: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The metric columns of the headline table: those of the run's metric set that its arms record."""
    keys = metric_set(results).headline
    return recorded_columns((results.get("arms") or {}).values(), keys, metric_columns(*keys))


def scored_rows(metrics: Mapping[str, Any]) -> Any:
    """How many test rows an arm was scored on (``n``; the multi-class metrics call it ``n_test``)."""
    return metrics["n"] if "n" in metrics else metrics.get("n_test")


def no_per_class_text(metrics: Mapping[str, Any]) -> str:
    """Why an arm that ran has no per-class table. The multi-class arms record recall per class only, which
    the deep-learning section shows (harness/report/nn.py)."""
    if metrics.get("per_class_recall"):
        return "Only recall per class is recorded for this arm: see Recall per class, under Convergence and cost."
    return "No per-class metrics recorded."


def best_local(results: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The local-only arm with the highest primary metric (:func:`metric_set`), and its metrics; None
    when none succeeded."""
    key = metric_set(results).primary
    scored = [
        (name, m)
        for name, m in (results.get("arms") or {}).items()
        if name.startswith(LOCAL_PREFIX) and is_ok(m) and is_number(m.get(key))
    ]
    if not scored:
        return None
    return max(scored, key=lambda item: item[1][key])


def common_parties(sweep: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """The parties every sweep entry shares, or None when they differ (then each row names its own)."""
    seen = {tuple(str(p) for p in (e.get("parties") or [])) for e in sweep}
    return list(next(iter(seen))) if len(seen) == 1 and next(iter(seen)) else None


def sweep_label(entry: Mapping[str, Any], common: list[str] | None) -> str:
    """A sweep row's split, e.g. '10/90', with its parties when the rows do not share them."""
    label = split_label(entry.get("ratio") or [])
    if not common:
        label += f" ({'/'.join(str(p) for p in entry.get('parties') or [])})"
    return label


def jobs_text(entry: Mapping[str, Any]) -> str:
    return ", ".join(str(j) for j in entry.get("job_ids") or []) or DASH
