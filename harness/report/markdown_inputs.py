"""report.md's sections on what went into the run: the data card, the parties, the model and its FATE mapping.

Markdown only (report.html links to report.md for these); rendered from the same JSON-normalised results
as the rest of report.md (:mod:`harness.report.markdown`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.format import DASH, count, is_number, plain
from harness.report.markup import md_details, md_kv_table, md_table, md_titled


def data_section(results: Mapping[str, Any]) -> list[str]:
    data = results.get("data") or {}
    card = data.get("card") or {}
    out = md_titled("Data", [
        f"- Input: `{data.get('input', DASH)}`",
        f"- sha256: `{data.get('sha256', DASH)}`",
        f"- Rows: {count(card.get('rows_in'))} read, {count(card.get('rows_out'))} after preparation",
    ])
    balance = card.get("class_balance") or {}
    total = sum(v for v in balance.values() if is_number(v))
    if balance and total:
        shown = ", ".join(f"class {c}: {count(v)} ({v / total:.1%})" for c, v in sorted(balance.items()))
        out.append(f"- Class balance: {shown}")
    features = card.get("features") or []
    out += [f"- Features: {len(features)}", ""]
    steps = card.get("steps") or []
    out += _steps_lines(steps) if steps else ["No preparation steps recorded.", ""]
    if features:
        out += md_details("Features used", [", ".join(f"`{f}`" for f in features)])
    return out


def _steps_lines(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """The preparation steps with their row counts, then the dropped columns grouped by reason."""
    # (step, reason) -> columns, so a card that drops dozens of columns for a few reasons stays short.
    dropped: dict[tuple[str, str], list[str]] = {}
    rows = []
    for s in steps:
        cols = s.get("dropped_columns") or {}
        for c, r in cols.items():
            dropped.setdefault((str(s.get("name", DASH)), plain(r)), []).append(str(c))
        rin, rout = s.get("rows_in"), s.get("rows_out")
        gone = count(rin - rout) if is_number(rin) and is_number(rout) else DASH
        rows.append([str(s.get("name", DASH)), count(rin), count(rout), gone, str(len(cols))])
    out = md_table(["Step", "Rows in", "Rows out", "Rows dropped", "Columns dropped"], rows) + [""]
    if dropped:
        out += md_details("Dropped columns and why", md_table(
            ["Step", "Reason", "Columns"],
            ([s, r, ", ".join(f"`{c}`" for c in cs)] for (s, r), cs in dropped.items()), align="lll"))
    return out


def parties_section(results: Mapping[str, Any]) -> list[str]:
    parties = results.get("parties") or {}
    return md_titled("Parties", _party_lines(results, parties) if parties else ["No party information recorded.", ""])


def _party_lines(results: Mapping[str, Any], parties: Mapping[str, Any]) -> list[str]:
    rows = [[pid, ", ".join(p.get("roles") or []) or DASH, count(p.get("train_rows")),
             count(p.get("train_rows_balanced")), count(p.get("test_rows")), _smote_text(p.get("smote")) or DASH]
            for pid, p in parties.items()]
    out = [*md_table(["Party", "Roles", "Train rows", "Train rows after SMOTE", "Test rows", "SMOTE"], rows,
                   align="llrrrl"), ""]
    part = results.get("partitioner") or {}
    if part:
        ratios = part.get("ratios")
        ratio_text = ", ".join(f"{k}: {plain(v)}" for k, v in ratios.items()) if isinstance(ratios, Mapping) \
            else plain(ratios)
        out += [f"Partitioner: `{part.get('kind', DASH)}`" + (f", ratios {ratio_text}" if ratios else ""), ""]
    return out


def _smote_text(smote: Any) -> str:
    if isinstance(smote, Mapping):
        return ", ".join(f"{k}={plain(v)}" for k, v in smote.items())
    return plain(smote) if smote is not None else DASH


def model_section(results: Mapping[str, Any]) -> list[str]:
    model = results.get("model") or {}
    return md_titled("Model", _model_lines(model) if model else ["No model description recorded.", ""])


def _model_lines(model: Mapping[str, Any]) -> list[str]:
    out = [f"Family: {model.get('family', DASH)}", ""]
    if model.get("settings"):
        out += ["Settings (shared by every arm):", "", *md_kv_table(model["settings"], "Setting"), ""]
    # Results written before engines named their FATE version have no fate_target.
    target = plain(model.get("fate_target") or "FATE HomoLR")
    if model.get("fate_mapping"):
        out += [f"How the settings map onto {target}:", "",
                *md_kv_table(model["fate_mapping"], "Setting", "FATE parameter"), ""]
    if model.get("not_expressible"):
        out += [f"What {target} cannot express, and how it compares with the in-process baselines:", ""]
        out += [f"- {plain(x)}" for x in model["not_expressible"]] + [""]
    return out
