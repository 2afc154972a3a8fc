"""The study report: ``reports/<run_id>/{results.json, report.md, *.png}`` and ``reports/latest``.

The orchestrator hands over one results dict (schema in docs / the lead's orchestrator); this module
only formats it. Everything shown in ``report.md`` is rendered from the same JSON-normalised dict that
is written to ``results.json``, so every number in the report is a number in that file, rounded.

Writing is all-or-nothing: the run directory is built under a hidden temporary name beside its final
place and renamed into place only when every file is written, then ``latest`` is swapped to it with
``os.replace`` of a fresh symlink. A failure at any point leaves no run directory and the previous
``latest`` untouched.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.report import figures as plots
from harness.report import html as report_html

LATEST = "latest"
RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"

#: Columns of the arms and sweep tables, as (metric key, header).
METRIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("auc", "AUC"),
    ("ks", "KS"),
    ("specificity", "Specificity"),
    ("recall", "Recall"),
    ("precision", "Precision"),
    ("f1", "F1"),
    ("accuracy", "Accuracy"),
)
PER_CLASS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
)

FEDERATED = "federated"
CENTRALIZED = "centralized"
LOCAL_PREFIX = "local:"

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DASH = "—"


# --------------------------------------------------------------------------------------------------
# JSON normalisation


def to_jsonable(value: Any, where: str = "results") -> Any:
    """Return ``value`` as plain JSON types: str keys, lists, finite floats (NaN/inf become None).

    numpy scalars/arrays and paths are converted; anything else unknown is a bug in the caller and
    raises TypeError naming where in the dict it sits.
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
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        return to_jsonable(value.tolist(), where)
    raise TypeError(f"{where} is a {type(value).__name__}, which cannot be written to {RESULTS_FILE}")


# --------------------------------------------------------------------------------------------------
# Small formatting helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt3(value: Any) -> str:
    """A metric with 3 decimals; None (NaN in the run) is 'n/a', absent/non-numeric is a dash."""
    if value is None:
        return "n/a"
    if not _is_number(value):
        return _DASH
    return f"{value:.3f}"


def _signed(value: float, minus: str = "−") -> str:
    text = f"{value:+.3f}"
    if text in ("+0.000", "-0.000"):
        return "±0.000"
    return text.replace("-", minus)


def _secs(value: Any) -> str:
    return f"{value:.1f} s" if _is_number(value) else _DASH


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _DASH


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def _inline(value: Any) -> str:
    """Text safe on one Markdown line outside tables."""
    return " ".join(str(value).split())


def _plain(value: Any) -> str:
    """A setting or info value exactly as stored (no rounding), compact."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _code(value: Any) -> str:
    text = _plain(value).replace("`", "'")
    return f"`{text}`"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None) -> list[str]:
    """``align`` has one char per column: 'l' or 'r' (numbers right-aligned)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _kv_table(mapping: Mapping[str, Any], key_header: str = "Key", value_header: str = "Value") -> list[str]:
    return _table([key_header, value_header], ([k, _plain(v)] for k, v in mapping.items()), align="ll")


def split_label(ratio: Sequence[Any]) -> str:
    """[0.1, 0.9] -> '10/90'."""
    parts = []
    for r in ratio:
        if not _is_number(r):
            return "/".join(str(x) for x in ratio)
        pct = r * 100
        parts.append(f"{pct:.0f}" if abs(pct - round(pct)) < 1e-6 else f"{pct:.1f}")
    return "/".join(parts)


# --------------------------------------------------------------------------------------------------
# Reading the results dict


def is_ok(metrics: Any) -> bool:
    return isinstance(metrics, Mapping) and "error" not in metrics


def _error_text(metrics: Any) -> str:
    if isinstance(metrics, Mapping) and "error" in metrics:
        return str(metrics["error"])
    return f"no metrics recorded (got {_plain(metrics)})"


def _party_order(results: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in (results.get("parties") or {})]


def arm_order(results: Mapping[str, Any]) -> list[str]:
    """Arms present in results: federated, centralised, local-only in party order, then anything else."""
    arms = list((results.get("arms") or {}).keys())
    parties = _party_order(results)

    def key(arm: str) -> tuple[int, int, str]:
        if arm == FEDERATED:
            return (0, 0, arm)
        if arm == CENTRALIZED:
            return (1, 0, arm)
        if arm.startswith(LOCAL_PREFIX):
            party = arm[len(LOCAL_PREFIX):]
            return (2, parties.index(party) if party in parties else len(parties), arm)
        return (3, 0, arm)

    return sorted(arms, key=key)


def expected_arms(results: Mapping[str, Any]) -> list[str]:
    return [FEDERATED, CENTRALIZED] + [f"{LOCAL_PREFIX}{p}" for p in _party_order(results)]


def missing_arms(results: Mapping[str, Any]) -> list[str]:
    present = set((results.get("arms") or {}).keys())
    return [a for a in expected_arms(results) if a not in present]


def arm_label(arm: str, results: Mapping[str, Any]) -> str:
    if arm == FEDERATED:
        return "Federated"
    if arm == CENTRALIZED:
        return "Centralised"
    if arm.startswith(LOCAL_PREFIX):
        party = arm[len(LOCAL_PREFIX):]
        roles = ((results.get("parties") or {}).get(party) or {}).get("roles") or []
        role_text = f" ({', '.join(roles)})" if roles else ""
        return f"Local only, party {party}{role_text}"
    return arm


def _arm(results: Mapping[str, Any], name: str) -> Any:
    return (results.get("arms") or {}).get(name)


def _best_local(results: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    scored = [
        (arm, m) for arm, m in (results.get("arms") or {}).items()
        if arm.startswith(LOCAL_PREFIX) and is_ok(m) and _is_number(m.get("auc"))
    ]
    if not scored:
        return None
    return max(scored, key=lambda item: item[1]["auc"])


# --------------------------------------------------------------------------------------------------
# Headline


def _headline(results: Mapping[str, Any], minus: str) -> str:
    fed, cen = _arm(results, FEDERATED), _arm(results, CENTRALIZED)
    parts: list[str] = []
    if fed is None:
        parts.append("Federated arm missing")
    elif not is_ok(fed):
        parts.append(f"Federated arm failed ({_error_text(fed)})")
    if cen is not None and not is_ok(cen):
        parts.append(f"centralised arm failed ({_error_text(cen)})")
    elif cen is None:
        parts.append("centralised arm missing")

    fed_ok, cen_ok = is_ok(fed), is_ok(cen)
    if fed_ok and cen_ok:
        first = f"Federated AUC {fmt3(fed.get('auc'))} vs centralised {fmt3(cen.get('auc'))}"
        if _is_number(fed.get("auc")) and _is_number(cen.get("auc")):
            first += f" ({_signed(fed['auc'] - cen['auc'], minus)})"
        parts.insert(0, first)
        parts.insert(1, f"specificity {fmt3(fed.get('specificity'))} vs {fmt3(cen.get('specificity'))}")
    elif fed_ok:
        parts.insert(0, f"Federated AUC {fmt3(fed.get('auc'))}, specificity {fmt3(fed.get('specificity'))}")
    elif cen_ok:
        parts.append(f"centralised AUC {fmt3(cen.get('auc'))}")

    best = _best_local(results)
    if best is not None:
        arm, m = best
        parts.append(f"best local-only {fmt3(m['auc'])} (party {arm[len(LOCAL_PREFIX):]})")
    elif any(a.startswith(LOCAL_PREFIX) for a in (results.get("arms") or {})):
        parts.append("no local-only arm succeeded")
    # Federated/centralised problems are already spelled out above; count the rest so the top line
    # never hides that the comparison is incomplete.
    arms = results.get("arms") or {}
    others_failed = sum(1 for a, m in arms.items() if a not in (FEDERATED, CENTRALIZED) and not is_ok(m))
    others_missing = sum(1 for a in missing_arms(results) if a not in (FEDERATED, CENTRALIZED))
    gaps = [f"{n} {word}" for n, word in ((others_failed, "failed"), (others_missing, "missing")) if n]
    if gaps:
        parts.append(f"other arms: {', '.join(gaps)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def render_summary_line(results: Mapping[str, Any]) -> str:
    """One line for the CLI to print at the end of a run (ASCII, so any terminal shows it)."""
    return _headline(to_jsonable(results), minus="-")


# --------------------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True)
class FigurePlan:
    """One figure of the report: drawn by ``draw`` into ``file``, or skipped for ``skipped``."""

    file: str
    caption: str
    draw: Callable[[Path], Path] | None
    skipped: str | None = None


def plan_figures(results: Mapping[str, Any]) -> list[FigurePlan]:
    arms = results.get("arms") or {}
    order = arm_order(results)
    fed_label = arm_label(FEDERATED, results)
    plans: list[FigurePlan] = []

    ok_arms = {arm_label(a, results): arms[a] for a in order if is_ok(arms[a])}
    if ok_arms:
        plans.append(FigurePlan(
            "arms.png", "Figure 4-2: AUC, KS, specificity, recall and F1 per arm",
            lambda p: plots.plot_arms(ok_arms, p, highlight=fed_label)))
    else:
        plans.append(FigurePlan("arms.png", "Figure 4-2: metrics per arm", None, "no arm produced metrics"))

    sweep = results.get("sweep") or []
    cen = arms.get(CENTRALIZED)
    ref = cen.get("auc") if is_ok(cen) else None
    if not sweep:
        plans.append(FigurePlan("sweep.png", "Figure 4-3: split sweep", None, "the sweep was skipped"))
    elif not any(is_ok(e.get("federated")) for e in sweep):
        plans.append(FigurePlan("sweep.png", "Figure 4-3: split sweep", None, "every sweep run failed"))
    else:
        labels = [split_label(e.get("ratio") or []) for e in sweep]
        auc = [e["federated"].get("auc") if is_ok(e.get("federated")) else None for e in sweep]
        spec = [e["federated"].get("specificity") if is_ok(e.get("federated")) else None for e in sweep]
        sweep_parties = _common_parties(sweep)
        plans.append(FigurePlan(
            "sweep.png", "Figure 4-3: federated AUC and specificity vs split of training rows",
            lambda p: plots.plot_sweep(labels, auc, spec, p, reference_auc=ref, parties=sweep_parties)))

    roc = results.get("roc") or {}
    curves = {
        arm_label(a, results): (roc[a]["fpr"], roc[a]["tpr"], arms[a].get("auc") if is_ok(arms[a]) else None)
        for a in order
        if isinstance(roc.get(a), Mapping) and roc[a].get("fpr") and roc[a].get("tpr")
    }
    if curves:
        plans.append(FigurePlan("roc.png", "ROC curve per arm (test set)",
                                lambda p: plots.plot_roc(curves, p, highlight=fed_label)))
    else:
        plans.append(FigurePlan("roc.png", "ROC curves", None, "no ROC points were recorded"))
    return plans


def _common_parties(sweep: Sequence[Mapping[str, Any]]) -> list[str] | None:
    seen = {tuple(str(p) for p in (e.get("parties") or [])) for e in sweep}
    return list(next(iter(seen))) if len(seen) == 1 and next(iter(seen)) else None


def render_figures(results: Mapping[str, Any], out_dir: Path) -> list[FigurePlan]:
    """Draw every figure that has data into ``out_dir``; return the plans (drawn and skipped)."""
    plans = plan_figures(results)
    for plan in plans:
        if plan.draw is not None:
            plan.draw(Path(out_dir) / plan.file)
    return plans


# --------------------------------------------------------------------------------------------------
# Markdown sections


def _metric_cells(m: Any, keys: Sequence[tuple[str, str]]) -> list[str]:
    if is_ok(m):
        return [fmt3(m.get(k)) for k, _ in keys]
    return [f"failed: {_error_text(m)}"] + [_DASH] * (len(keys) - 1)


def _arms_section(results: Mapping[str, Any]) -> list[str]:
    arms = results.get("arms") or {}
    out = ["## Arms", ""]
    if not arms:
        out += ["No arm produced results.", ""]
    else:
        rows = []
        for a in arm_order(results):
            m = arms[a]
            name = arm_label(a, results)
            if a == FEDERATED:
                name = f"**{name}**"
            rows.append([name, *_metric_cells(m, METRIC_COLUMNS), _int(m.get("n")) if is_ok(m) else _DASH])
        out += _table(["Arm", *(h for _, h in METRIC_COLUMNS), "Test rows"], rows)
        ok_metrics = [m for m in arms.values() if is_ok(m)]
        thresholds = sorted({_plain(m["threshold"]) for m in ok_metrics if "threshold" in m})
        out.append("")
        sizes = {m.get("n") for m in ok_metrics}
        notes = []
        if thresholds:
            notes.append("Threshold-dependent metrics (all but AUC and KS) at threshold "
                         f"{', '.join(thresholds)}.")
        if len(sizes) > 1:
            notes.append("Arms were scored on test sets of different sizes, see the last column.")
        if notes:
            out += [" ".join(notes), ""]
    failed = [a for a in arm_order(results) if not is_ok(arms[a])]
    for a in failed:
        out.append(f"- **Failed:** `{a}`: {_inline(_error_text(arms[a]))}")
    missing = missing_arms(results)
    if missing:
        names = ", ".join(f"`{a}`" for a in missing)
        out.append(f"- **Missing:** {names} (no result recorded for this run).")
    if failed or missing:
        out.append("")
    return out


def _sweep_section(results: Mapping[str, Any]) -> list[str]:
    sweep = results.get("sweep") or []
    out = ["## Split sweep (federated)", ""]
    if not sweep:
        out += ["The sweep was skipped in this run (no entries in `results[\"sweep\"]`).", ""]
        return out
    common = _common_parties(sweep)
    split_header = f"Split {'/'.join(common)} (%)" if common else "Split (%)"
    rows = []
    for e in sweep:
        label = split_label(e.get("ratio") or [])
        if not common:
            label += f" ({'/'.join(str(p) for p in e.get('parties') or [])})"
        jobs = ", ".join(str(j) for j in e.get("job_ids") or []) or _DASH
        rows.append([label, *_metric_cells(e.get("federated"), METRIC_COLUMNS), jobs])
    out += _table([split_header, *(h for _, h in METRIC_COLUMNS), "FATE jobs"], rows,
                  align="l" + "r" * len(METRIC_COLUMNS) + "l")
    cen = _arm(results, CENTRALIZED)
    out.append("")
    counted = [e for e in sweep if isinstance(e.get("bytes"), Mapping)]
    if counted:
        out += ["Bytes on the wire per split: " + "; ".join(
            f"{split_label(e.get('ratio') or [])}: {bytes_text(e['bytes'], per_party=False)}" for e in counted)
            + " (per party in results.json).", ""]
    if is_ok(cen):
        out += [f"Centralised AUC for reference: {fmt3(cen.get('auc'))}.", ""]
    return out


def bytes_text(traffic: Mapping[str, Any], per_party: bool = True) -> str:
    """One fit's traffic: the total, then what each party sent (harness/engines/fate22/wire.py counts it)."""
    parties = (traffic.get("parties") or {}) if per_party else {}
    each = ", ".join(f"{p} {_int(t.get('bytes'))} B in {_int(t.get('messages'))} messages"
                     for p, t in parties.items() if isinstance(t, Mapping))
    text = f"{_int(traffic.get('bytes'))} B in {_int(traffic.get('messages'))} messages"
    return f"{text} ({each})" if each else text


def _per_class_section(results: Mapping[str, Any]) -> list[str]:
    out = ["## Per class", ""]
    for a in (FEDERATED, CENTRALIZED):
        m = _arm(results, a)
        out.append(f"### {arm_label(a, results)}")
        out.append("")
        if m is None:
            out += ["Arm missing from this run.", ""]
            continue
        if not is_ok(m):
            out += [f"Arm failed: {_inline(_error_text(m))}", ""]
            continue
        per_class = m.get("per_class") or {}
        if not per_class:
            out += ["No per-class metrics recorded.", ""]
            continue
        rows = [[str(c), *(fmt3(v.get(k)) for k, _ in PER_CLASS_COLUMNS), _int(v.get("support"))]
                for c, v in sorted(per_class.items())]
        out += _table(["Class", *(h for _, h in PER_CLASS_COLUMNS), "Support"], rows)
        out.append("")
    return out


def _figures_section(plans: Sequence[FigurePlan]) -> list[str]:
    out = ["## Figures", ""]
    for plan in plans:
        if plan.draw is not None:
            out += [f"![{plan.caption}]({plan.file})", ""]
        else:
            out += [f"*{plan.caption}: not drawn, {plan.skipped}.*", ""]
    return out


def _what_ran_section(results: Mapping[str, Any]) -> list[str]:
    details = results.get("arm_details") or {}
    out = ["## What ran", ""]
    names = arm_order(results) + [a for a in details if a not in (results.get("arms") or {})]
    if not names:
        return out + ["Nothing recorded.", ""]
    for a in names:
        d = details.get(a) or {}
        out += [f"### {arm_label(a, results)} · `{a}`", ""]
        if not d:
            out += ["No details recorded.", ""]
            continue
        out.append(f"- Ran: {d.get('ran', _DASH)}")
        if "job_ids" in d:
            jobs = d.get("job_ids") or []
            out.append(f"- FATE jobs: {', '.join(f'`{j}`' for j in jobs)}" if jobs else "- FATE jobs: none")
        out.append(f"- Wall time: {_secs(d.get('wall_s'))}")
        fm = d.get("fate_metrics")
        if isinstance(fm, Mapping) and fm:
            shown = ", ".join(f"{k} {fmt3(v) if _is_number(v) else _plain(v)}" for k, v in fm.items())
            out.append(f"- FATE's own evaluation: {shown}")
            ours = _arm(results, a)
            if is_ok(ours) and _is_number(fm.get("auc")) and _is_number(ours.get("auc")):
                out.append(f"- AUC recomputed from the predictions: {fmt3(ours['auc'])} "
                           f"(difference to FATE {_signed(ours['auc'] - fm['auc'])})")
        if isinstance(d.get("bytes"), Mapping):
            out.append(f"- Bytes on the wire: {bytes_text(d['bytes'])}")
        for k, v in d.items():
            if k not in ("ran", "job_ids", "wall_s", "fate_metrics", "bytes"):
                out.append(f"- {k}: {_plain(v)}")
        out.append("")
    return out


def _data_section(results: Mapping[str, Any]) -> list[str]:
    data = results.get("data") or {}
    card = data.get("card") or {}
    out = ["## Data", ""]
    out.append(f"- Input: `{data.get('input', _DASH)}`")
    out.append(f"- sha256: `{data.get('sha256', _DASH)}`")
    out.append(f"- Rows: {_int(card.get('rows_in'))} read, {_int(card.get('rows_out'))} after preparation")
    balance = card.get("class_balance") or {}
    total = sum(v for v in balance.values() if _is_number(v))
    if balance and total:
        shown = ", ".join(f"class {c}: {_int(v)} ({v / total:.1%})" for c, v in sorted(balance.items()))
        out.append(f"- Class balance: {shown}")
    features = card.get("features") or []
    out.append(f"- Features: {len(features)}")
    out.append("")
    steps = card.get("steps") or []
    # (step, reason) -> columns, so a card that drops dozens of columns for a few reasons stays short.
    dropped: dict[tuple[str, str], list[str]] = {}
    if steps:
        rows = []
        for s in steps:
            cols = s.get("dropped_columns") or {}
            for c, r in cols.items():
                dropped.setdefault((str(s.get("name", _DASH)), _plain(r)), []).append(str(c))
            rin, rout = s.get("rows_in"), s.get("rows_out")
            gone = _int(rin - rout) if _is_number(rin) and _is_number(rout) else _DASH
            rows.append([str(s.get("name", _DASH)), _int(rin), _int(rout), gone, str(len(cols))])
        out += _table(["Step", "Rows in", "Rows out", "Rows dropped", "Columns dropped"], rows)
        out.append("")
    else:
        out += ["No preparation steps recorded.", ""]
    if dropped:
        out += ["<details><summary>Dropped columns and why</summary>", ""]
        out += _table(["Step", "Reason", "Columns"],
                      ([s, r, ", ".join(f"`{c}`" for c in cs)] for (s, r), cs in dropped.items()),
                      align="lll")
        out += ["", "</details>", ""]
    if features:
        out += ["<details><summary>Features used</summary>", "", ", ".join(f"`{f}`" for f in features), "",
                "</details>", ""]
    return out


def _parties_section(results: Mapping[str, Any]) -> list[str]:
    parties = results.get("parties") or {}
    out = ["## Parties", ""]
    if not parties:
        return out + ["No party information recorded.", ""]
    rows = []
    for pid, p in parties.items():
        smote = p.get("smote")
        smote_text = ", ".join(f"{k}={_plain(v)}" for k, v in smote.items()) if isinstance(smote, Mapping) \
            else (_plain(smote) if smote is not None else _DASH)
        rows.append([pid, ", ".join(p.get("roles") or []) or _DASH, _int(p.get("train_rows")),
                     _int(p.get("train_rows_balanced")), _int(p.get("test_rows")), smote_text or _DASH])
    out += _table(["Party", "Roles", "Train rows", "Train rows after SMOTE", "Test rows", "SMOTE"], rows,
                  align="llrrrl")
    out.append("")
    part = results.get("partitioner") or {}
    if part:
        ratios = part.get("ratios")
        if isinstance(ratios, Mapping):
            ratio_text = ", ".join(f"{k}: {_plain(v)}" for k, v in ratios.items())
        else:
            ratio_text = _plain(ratios)
        kind = part.get("kind", _DASH)
        out += [f"Partitioner: `{kind}`" + (f", ratios {ratio_text}" if ratios else ""), ""]
    return out


def _model_section(results: Mapping[str, Any]) -> list[str]:
    model = results.get("model") or {}
    out = ["## Model", ""]
    if not model:
        return out + ["No model description recorded.", ""]
    out += [f"Family: {model.get('family', _DASH)}", ""]
    if model.get("settings"):
        out += ["Settings (shared by every arm):", ""] + _kv_table(model["settings"], "Setting") + [""]
    # Results written before engines named their FATE version have no fate_target.
    target = _plain(model.get("fate_target") or "FATE HomoLR")
    if model.get("fate_mapping"):
        out += [f"How the settings map onto {target}:", ""] + _kv_table(model["fate_mapping"], "Setting",
                                                                         "FATE parameter") + [""]
    if model.get("not_expressible"):
        out += [f"What {target} cannot express, and how it compares with the in-process baselines:", ""]
        out += [f"- {_plain(x)}" for x in model["not_expressible"]] + [""]
    return out


def validation_lines(block: Any) -> list[str]:
    """The launcher's fit against the same fit as a FATE-Flow job (harness/study/validation.py)."""
    if not isinstance(block, Mapping):
        return []
    verdict = "within" if block.get("within_bounds") else "**outside**"
    engines = " vs ".join(str(e) for e in block.get("engines") or [])
    bounds = block.get("bounds") or {}
    cells = [f"{k} {block.get(k, float('nan')):.2g} (bound {bounds.get(k, float('nan')):g})"
             for k in ("max_abs_coef_diff", "max_abs_score_diff", "auc_diff") if _is_number(block.get(k))]
    return [f"Validation ({engines}, {_plain(block.get('job', 'federated fit'))}): {verdict} the bounds; "
            + "; ".join(cells) + ".", ""]


def _run_section(results: Mapping[str, Any]) -> list[str]:
    out = ["## Run", ""]
    out.append(f"- Run id: `{results.get('run_id', _DASH)}`, created {results.get('created', _DASH)}")
    seed, test_size = _plain(results.get("seed", _DASH)), _plain(results.get("test_size", _DASH))
    out.append(f"- Seed: {seed}; test share: {test_size}")
    engine = results.get("engine") or {}
    if engine:
        out.append(f"- Engine: {engine.get('name', _DASH)}, FATE {engine.get('fate_version', _DASH)}, "
                   f"endpoint `{engine.get('endpoint', _DASH)}`")
        extra = {k: v for k, v in engine.items() if k not in ("name", "fate_version", "endpoint")}
        out += [f"  - {k}: {_plain(v)}" for k, v in extra.items()]
    out.append("")
    timings = results.get("timings") or {}
    if timings:
        rows = []
        for k, v in timings.items():
            if k.endswith("_share") and _is_number(v):
                rows.append([k, f"{v:.1%}"])
            elif k.endswith("_s"):
                rows.append([k, _secs(v)])
            else:
                rows.append([k, _plain(v)])
        out += ["Timings:", ""] + _table(["Phase", "Value"], rows) + [""]
    versions = results.get("versions") or {}
    if versions:
        out += ["Versions:", ""] + _kv_table(versions, "Package", "Version") + [""]
    out += validation_lines(results.get("validation"))
    placement = results.get("placement")
    if placement:
        out += ["Placement (cluster mode):", ""]
        if isinstance(placement, Mapping):
            out += _kv_table(placement, "Item", "Where")
        else:
            out.append(_plain(placement))
        out.append("")
    return out


def _gap_section(results: Mapping[str, Any]) -> list[str]:
    out = ["## Gap", ""]
    fed, cen = _arm(results, FEDERATED), _arm(results, CENTRALIZED)
    if is_ok(fed) and is_ok(cen) and _is_number(fed.get("auc")) and _is_number(cen.get("auc")):
        gap = fed["auc"] - cen["auc"]
        if abs(gap) < 0.0005:
            text = (f"The federated model matches the centralised one on AUC "
                    f"({fmt3(fed['auc'])} vs {fmt3(cen['auc'])}).")
        else:
            word = "lower" if gap < 0 else "higher"
            rel = f", {abs(gap) / cen['auc']:.1%} of the centralised AUC" if cen["auc"] else ""
            text = (f"The federated AUC is {abs(gap):.3f} {word} than the centralised AUC "
                    f"({fmt3(fed['auc'])} vs {fmt3(cen['auc'])}{rel}).")
        best = _best_local(results)
        if best is not None:
            arm, m = best
            d = fed["auc"] - m["auc"]
            rel_word = "above" if d >= 0 else "below"
            text += (f" It is {abs(d):.3f} {rel_word} the best local-only model "
                     f"(party {arm[len(LOCAL_PREFIX):]}, AUC {fmt3(m['auc'])}).")
    else:
        text = "No gap can be computed: " + _headline(results, minus="−") + "."
    out += [text, ""]
    if results.get("gap_note"):
        out += [str(results["gap_note"]), ""]
    return out


def render_markdown(results: Mapping[str, Any], figures: Sequence[FigurePlan]) -> str:
    """The whole report.md, from the JSON-normalised results and the figure plans actually drawn."""
    run_id = results.get("run_id", "?")
    engine = (results.get("engine") or {}).get("name", "unknown engine")
    family = (results.get("model") or {}).get("family", "model")
    lines = [
        f"# fatelab study report: {run_id}",
        "",
        f"**{_headline(results, minus='−')}**",
        "",
        f"Run {run_id}, created {results.get('created', _DASH)}, seed {_plain(results.get('seed', _DASH))}, "
        f"{family} on {engine}. All metrics on the held-out test set; raw numbers in "
        f"[`{RESULTS_FILE}`]({RESULTS_FILE}).",
        "",
    ]
    for section in (_arms_section(results), _sweep_section(results), _per_class_section(results),
                    _figures_section(figures), _what_ran_section(results), _data_section(results),
                    _parties_section(results), _model_section(results), _run_section(results),
                    _gap_section(results)):
        lines += section
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------------
# Writing


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or run_id == LATEST:
        raise ConfigError(
            f"run_id {run_id!r} cannot be used as a report directory name",
            hint="use letters, digits, '.', '_' or '-' (e.g. 20261126-051500-ab12cd), not 'latest'",
        )
    return run_id


def _point_latest(reports_dir: Path, run_id: str) -> None:
    tmp_link = reports_dir / f".{LATEST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    os.symlink(run_id, tmp_link)  # relative, so the reports tree can be moved or copied whole
    try:
        os.replace(tmp_link, reports_dir / LATEST)
    except BaseException:
        tmp_link.unlink(missing_ok=True)
        raise


def write_report(results: Mapping[str, Any], reports_dir: Path) -> Path:
    """Write ``reports_dir/<run_id>/`` (results.json, report.md, PNGs), point ``latest`` at it.

    Returns the run directory. Nothing is left behind if any step fails.
    """
    reports_dir = Path(reports_dir)
    data = to_jsonable(results)
    run_id = _check_run_id(data.get("run_id"))
    final = reports_dir / run_id
    latest = reports_dir / LATEST
    if final.exists() or final.is_symlink():
        raise ConfigError(f"report directory {final} already exists",
                          hint="every run needs a new run_id; remove the old directory to re-render it")
    if latest.exists() and not latest.is_symlink():
        raise ConfigError(f"{latest} exists and is not a symlink, so it cannot be pointed at the new run",
                          hint=f"move {latest} out of the way")
    reports_dir.mkdir(parents=True, exist_ok=True)

    # A hidden, unique sibling (same filesystem, so the rename is atomic). Plain mkdir rather than
    # mkdtemp so the finished directory gets the user's umask, not mkdtemp's 0700.
    tmp = reports_dir / f".{run_id}.{secrets.token_hex(6)}.partial"
    tmp.mkdir()
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
        (tmp / RESULTS_FILE).write_text(text + "\n", encoding="utf-8")
        plans = render_figures(data, tmp)
        (tmp / REPORT_FILE).write_text(render_markdown(data, plans), encoding="utf-8")
        report_html.write_html(data, plans, tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_latest(reports_dir, run_id)
    return final
