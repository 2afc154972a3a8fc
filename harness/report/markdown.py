"""report.md: the study report as Markdown, one function per section.

Everything shown is rendered from the JSON-normalised results dict that is also written to
``results.json`` (:mod:`harness.report.results`), with the number formatting of
:mod:`harness.report.format`, so every number in the report is a number in that file, rounded.
The data, parties and model sections are :mod:`harness.report.markdown_inputs`; a scenario's own sections
come from :mod:`harness.report.sections`. Writing the run directory is :mod:`harness.report.write`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report import markdown_inputs as inputs
from harness.report import seeds
from harness.report.claims import gap_paragraphs, headline
from harness.report.claims import render_summary_line as render_summary_line
from harness.report.figures import FigurePlan
from harness.report.format import (
    DASH,
    PER_CLASS_COLUMNS,
    count,
    fmt3,
    inline,
    is_number,
    metric_word,
    plain,
    seconds,
    signed,
    split_label,
    timing,
)
from harness.report.markup import md_kv_table, md_titled, section_md, table_md
from harness.report.markup import md_table as _table
from harness.report.placement import NOTE as PLACEMENT_NOTE
from harness.report.placement import TITLE as PLACEMENT_TITLE
from harness.report.placement import placement_table
from harness.report.results import (
    CENTRALIZED,
    FEDERATED,
    RESULTS_FILE,
    arm_columns,
    arm_label,
    arm_metrics,
    arm_order,
    common_parties,
    engines_line,
    error_text,
    is_ok,
    jobs_text,
    metric_set,
    missing_arms,
    no_per_class_text,
    recorded_columns,
    scored_rows,
    sweep_label,
)
from harness.report.results import to_jsonable as to_jsonable
from harness.report.sections import scenario_sections


def render_markdown(results: Mapping[str, Any], figures: Sequence[FigurePlan]) -> str:
    """The whole report.md, from the JSON-normalised results and the figure plans actually drawn."""
    run_id = results.get("run_id", "?")
    engine = (results.get("engine") or {}).get("name", "unknown engine")
    family = (results.get("model") or {}).get("family", "model")
    multi = seeds.has_seeds(results)
    first = seeds.claims_line(results) if multi else headline(results, minus="−")
    lines = [
        f"# fatelab study report: {run_id}",
        "",
        f"**{first}**",
        "",
        f"Run {run_id}, created {results.get('created', DASH)}, seed {plain(results.get('seed', DASH))}, "
        f"{family} on {engine}. All metrics on the held-out test set; raw numbers in "
        f"[`{RESULTS_FILE}`]({RESULTS_FILE}).",
        "",
        *seeds.markdown_sections(results),
    ]
    if multi:
        lines += [f"## First seed ({plain(results.get('seed', DASH))}) in detail", "",
                  f"**{headline(results, minus='−')}**", ""]
    for section in (_arms_section(results), _sweep_section(results), _per_class_section(results),
                    _figures_section(figures), _what_ran_section(results), inputs.data_section(results),
                    inputs.parties_section(results), inputs.model_section(results), _run_section(results),
                    _gap_section(results)):
        lines += section
    for extra in scenario_sections(results):  # the scenario's own (deep-learning, vertical), also in report.html
        lines += section_md(extra)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------------
# Markdown building blocks


def _metric_cells(m: Any, keys: Sequence[tuple[str, str]]) -> list[str]:
    if is_ok(m):
        return [fmt3(m.get(k)) for k, _ in keys]
    return [f"failed: {error_text(m)}"] + [DASH] * (len(keys) - 1)


# --------------------------------------------------------------------------------------------------
# Results


def _arms_section(results: Mapping[str, Any]) -> list[str]:
    arms = results.get("arms") or {}
    out = md_titled("Arms", _arms_table(results, arms) if arms else ["No arm produced results.", ""])
    failed = [a for a in arm_order(results) if not is_ok(arms[a])]
    for a in failed:
        out.append(f"- **Failed:** `{a}`: {inline(error_text(arms[a]))}")
    missing = missing_arms(results)
    if missing:
        names = ", ".join(f"`{a}`" for a in missing)
        out.append(f"- **Missing:** {names} (no result recorded for this run).")
    if failed or missing:
        out.append("")
    return out


def _arms_table(results: Mapping[str, Any], arms: Mapping[str, Any]) -> list[str]:
    rows, columns = [], arm_columns(results)
    for a in arm_order(results):
        m = arms[a]
        name = arm_label(a, results)
        if a == FEDERATED:
            name = f"**{name}**"
        rows.append([name, *_metric_cells(m, columns), count(scored_rows(m)) if is_ok(m) else DASH])
    out = _table(["Arm", *(h for _, h in columns), "Test rows"], rows)
    ok_metrics = [m for m in arms.values() if is_ok(m)]
    thresholds = sorted({plain(m["threshold"]) for m in ok_metrics if "threshold" in m})
    out.append("")
    notes = []
    if thresholds:
        notes.append(f"Threshold-dependent metrics (all but AUC and KS) at threshold {', '.join(thresholds)}.")
    if len({scored_rows(m) for m in ok_metrics}) > 1:
        notes.append("Arms were scored on test sets of different sizes, see the last column.")
    notes.append(engines_line(results))
    return [*out, " ".join(notes), ""]


def _sweep_section(results: Mapping[str, Any]) -> list[str]:
    sweep = results.get("sweep") or []
    if not sweep:
        return md_titled("Split sweep (federated)",
                       ["The sweep was skipped in this run (no entries in `results[\"sweep\"]`).", ""])
    common = common_parties(sweep)
    split_header = f"Split {'/'.join(common)} (%)" if common else "Split (%)"
    columns = recorded_columns(e.get(FEDERATED) for e in sweep)
    rows = [[sweep_label(e, common), *_metric_cells(e.get(FEDERATED), columns), jobs_text(e)]
            for e in sweep]
    out = md_titled("Split sweep (federated)",
                  _table([split_header, *(h for _, h in columns), "FATE jobs"], rows,
                         align="l" + "r" * len(columns) + "l"))
    out.append("")
    counted = [e for e in sweep if isinstance(e.get("bytes"), Mapping)]
    if counted:
        out += ["Bytes on the wire per split: " + "; ".join(
            f"{split_label(e.get('ratio') or [])}: {bytes_text(e['bytes'], per_party=False)}" for e in counted)
            + " (per party in results.json).", ""]
    cen = arm_metrics(results, CENTRALIZED)
    if is_ok(cen):
        key = metric_set(results).primary
        out += [f"Centralised {metric_word(key)} for reference: {fmt3(cen.get(key))}.", ""]
    return out


def bytes_text(traffic: Mapping[str, Any], per_party: bool = True) -> str:
    """One fit's traffic: the total, then what each party sent (harness/engines/fate22/wire.py counts it)."""
    parties = (traffic.get("parties") or {}) if per_party else {}
    each = ", ".join(f"{p} {count(t.get('bytes'))} B in {count(t.get('messages'))} messages"
                     for p, t in parties.items() if isinstance(t, Mapping))
    text = f"{count(traffic.get('bytes'))} B in {count(traffic.get('messages'))} messages"
    return f"{text} ({each})" if each else text


def _per_class_section(results: Mapping[str, Any]) -> list[str]:
    out = md_titled("Per class", [])
    for a in (FEDERATED, CENTRALIZED):
        out += [f"### {arm_label(a, results)}", "", *_per_class_lines(arm_metrics(results, a)), ""]
    return out


def _per_class_lines(m: Any) -> list[str]:
    if m is None:
        return ["Arm missing from this run."]
    if not is_ok(m):
        return [f"Arm failed: {inline(error_text(m))}"]
    per_class = m.get("per_class") or {}
    if not per_class:
        return [no_per_class_text(m)]
    rows = [[str(c), *(fmt3(v.get(k)) for k, _ in PER_CLASS_COLUMNS), count(v.get("support"))]
            for c, v in sorted(per_class.items())]
    return _table(["Class", *(h for _, h in PER_CLASS_COLUMNS), "Support"], rows)


def _figures_section(plans: Sequence[FigurePlan]) -> list[str]:
    out = md_titled("Figures", [])
    for plan in plans:
        if plan.draw is not None:
            out += [f"![{plan.caption}]({plan.file})", ""]
        else:
            out += [f"*{plan.caption}: not drawn, {plan.skipped}.*", ""]
    return out


# --------------------------------------------------------------------------------------------------
# How the numbers came about


def _what_ran_section(results: Mapping[str, Any]) -> list[str]:
    details = results.get("arm_details") or {}
    names = arm_order(results) + [a for a in details if a not in (results.get("arms") or {})]
    if not names:
        return md_titled("What ran", ["Nothing recorded.", ""])
    out = md_titled("What ran", [])
    for a in names:
        d = details.get(a) or {}
        out += [f"### {arm_label(a, results)} · `{a}`", ""]
        out += _arm_detail_lines(results, a, d) if d else ["No details recorded.", ""]
    return out


def _arm_detail_lines(results: Mapping[str, Any], name: str, d: Mapping[str, Any]) -> list[str]:
    out = [f"- Ran: {d.get('ran', DASH)}"]
    if "job_ids" in d:
        jobs = d.get("job_ids") or []
        out.append(f"- FATE jobs: {', '.join(f'`{j}`' for j in jobs)}" if jobs else "- FATE jobs: none")
    out.append(f"- Wall time: {seconds(d.get('wall_s'))}")
    fm = d.get("fate_metrics")
    if isinstance(fm, Mapping) and fm:
        shown = ", ".join(f"{k} {fmt3(v) if is_number(v) else plain(v)}" for k, v in fm.items())
        out.append(f"- FATE's own evaluation: {shown}")
        ours = arm_metrics(results, name)
        if is_ok(ours) and is_number(fm.get("auc")) and is_number(ours.get("auc")):
            out.append(f"- AUC recomputed from the predictions: {fmt3(ours['auc'])} "
                       f"(difference to FATE {signed(ours['auc'] - fm['auc'])})")
    if isinstance(d.get("bytes"), Mapping):
        out.append(f"- Bytes on the wire: {bytes_text(d['bytes'])}")
    for k, v in d.items():
        if k not in ("ran", "job_ids", "wall_s", "fate_metrics", "bytes"):
            out.append(f"- {k}: {plain(v)}")
    return [*out, ""]


def validation_lines(block: Any) -> list[str]:
    """The launcher's fit against the same fit as a FATE-Flow job (harness/engines/validation.py)."""
    if not isinstance(block, Mapping):
        return []
    engines = " vs ".join(str(e) for e in block.get("engines") or [])
    head = f"Validation ({engines}, {plain(block.get('job', 'federated fit'))})"
    when = f" The FATE-Flow job ran {block['ran']}." if block.get("ran") else ""
    if block.get("error"):
        first = str(block["error"]).splitlines()[0]
        return [f"{head}: **failed**, no comparison: {first} (the launcher's results above are kept).{when}", ""]
    verdict = "within" if block.get("within_bounds") else "**outside**"
    bounds = block.get("bounds") or {}
    cells = [f"{k} {block.get(k, float('nan')):.2g} (bound {bounds.get(k, float('nan')):g})"
             for k in ("max_abs_coef_diff", "max_abs_score_diff", "auc_diff") if is_number(block.get(k))]
    if "psi_equal" in block:  # a vertical fit: both engines' PSI must find the same intersection
        cells.append("PSI found the same ids on both engines" if block["psi_equal"] else "**PSI counts differ**")
    return [f"{head}: {verdict} the bounds; " + "; ".join(cells) + "." + when, ""]


def _run_section(results: Mapping[str, Any]) -> list[str]:
    seed, test_size = plain(results.get("seed", DASH)), plain(results.get("test_size", DASH))
    out = md_titled("Run", [f"- Run id: `{results.get('run_id', DASH)}`, created {results.get('created', DASH)}",
                          f"- Seed: {seed}; test share: {test_size}"])
    engine = results.get("engine") or {}
    if engine:
        out.append(f"- Engine: {engine.get('name', DASH)}, FATE {engine.get('fate_version', DASH)}, "
                   f"endpoint `{engine.get('endpoint', DASH)}`")
        out += [f"  - {k}: {plain(v)}" for k, v in engine.items() if k not in ("name", "fate_version", "endpoint")]
    out.append("")
    timings = results.get("timings") or {}
    if timings:
        out += ["Timings:", "", *_table(["Phase", "Value"], ([k, timing(k, v)] for k, v in timings.items())), ""]
    versions = results.get("versions") or {}
    if versions:
        out += ["Versions:", "", *md_kv_table(versions, "Package", "Version"), ""]
    out += validation_lines(results.get("validation"))
    placement = results.get("placement")
    table = placement_table(placement)
    if placement:
        out += [f"{PLACEMENT_TITLE}:", ""]
        if table is not None:
            out += [PLACEMENT_NOTE, "", *table_md(table)]
        else:
            out += md_kv_table(placement, "Item", "Where") if isinstance(placement, Mapping) else [plain(placement)]
            out.append("")
    return out


def _gap_section(results: Mapping[str, Any]) -> list[str]:
    out = md_titled("Gap", [])
    for paragraph in gap_paragraphs(results):
        out += [paragraph, ""]
    return out
