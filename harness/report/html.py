"""``report.html``: the study report as one self-contained page beside ``report.md``.

Everything shown comes from the same JSON-normalised results dict and the same helpers that render
``report.md``: the headline sentence (harness.report.claims), the number formatting
(harness.report.format), arm order and labels (harness.report.results), the figure plans. This
module only lays them out for a browser. The page needs nothing but itself: figures are embedded
as ``data:`` URIs, the CSS is inline, there is no JavaScript and no network reference. Every
string taken from the results is escaped, so a hostile error message or party name shows as text.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.report import results as rv  # rv: the results as the report reads them
from harness.report import seeds
from harness.report.claims import gap_paragraphs, headline
from harness.report.figures import FigurePlan
from harness.report.format import (
    BINARY,
    DASH,
    PER_CLASS_COLUMNS,
    count,
    fmt3,
    is_number,
    metric_columns,
    metric_word,
    plain,
    signed,
    timing,
)
from harness.report.markup import esc as esc
from harness.report.markup import html_table as _table
from harness.report.markup import paragraphs as _paragraphs
from harness.report.markup import section_html, table_html
from harness.report.placement import NOTE as PLACEMENT_NOTE
from harness.report.placement import TITLE as PLACEMENT_TITLE
from harness.report.placement import placement_table
from harness.report.sections import scenario_sections

HTML_FILE = "report.html"
_NUM = ' class="num"'
_FOCUS = ' class="focus"'

#: Metrics of a binary study's headline table (its claims are about AUC and specificity); a run shows
#: those of its own metric set that its arms record (harness.report.results.headline_columns).
HEADLINE_COLUMNS = metric_columns(*BINARY.headline)

_CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d9dee5; --band:#f5f7fa; --accent:#1f5fa8; --bad:#a3261b; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.5rem 0 .75rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
p.meta, p.note, figcaption { color: var(--muted); font-size: .9rem; }
code { font: .88em/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: var(--band);
  padding: .05em .3em; border-radius: 3px; overflow-wrap: anywhere; }
.headline { border-left: 5px solid var(--accent); background: #eef4fb; padding: 1rem 1.25rem;
  margin: 1.25rem 0; border-radius: 0 6px 6px 0; }
.headline p.claim { font-size: 1.15rem; font-weight: 600; margin: 0 0 .5rem; }
.headline p { margin: .35rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { padding: .4rem .7rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--band); border-bottom: 2px solid var(--line); font-weight: 600; white-space: nowrap; }
tbody td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.focus td { font-weight: 600; background: #eef4fb; }
td.failed { color: var(--bad); }
.headline table { background: #fff; }
ul.issues li { color: var(--bad); }
figure { margin: 1.5rem 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { margin-top: .4rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: .5rem 0 1rem; }
dt { color: var(--muted); } dd { margin: 0; }
"""


# --------------------------------------------------------------------------------------------------
# Escaped building blocks


def _td(text: str, cls: str = "", span: int = 1) -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' colspan="{span}"' if span > 1 else "")
    return f"<td{attrs}>{esc(text)}</td>"


def _row(label: str, cells: Sequence[str], focus: bool = False) -> str:
    """A row of a metrics table: a label, then cells already rendered by ``_td``."""
    return f"<tr{_FOCUS if focus else ''}>{_td(label)}{''.join(cells)}</tr>"


def _metric_tds(m: Any, keys: Sequence[tuple[str, str]]) -> list[str]:
    """One arm's metrics, numbers right-aligned; a failed arm is one cell saying why."""
    if rv.is_ok(m):
        return [_td(fmt3(m.get(k)), "num") for k, _ in keys]
    return [_td(f"failed: {rv.error_text(m)}", "failed", len(keys))]


def _kv_table(mapping: Mapping[str, Any], key_header: str, value_header: str) -> str:
    rows = (f"<tr>{_td(str(k))}<td><code>{esc(v)}</code></td></tr>" for k, v in mapping.items())
    return _table([key_header, value_header], "ll", rows)


# --------------------------------------------------------------------------------------------------
# Headline: the claims first, then the numbers behind them


def _headline_rows(results: Mapping[str, Any], columns: Sequence[tuple[str, str]]) -> list[str]:
    """Federated, centralised and the best local-only arm, each with its primary metric minus the centralised one."""
    key = rv.metric_set(results).primary
    cen = rv.arm_metrics(results, rv.CENTRALIZED)
    ref = cen.get(key) if rv.is_ok(cen) and is_number(cen.get(key)) else None
    shown: list[tuple[str, str, Any]] = [
        (rv.FEDERATED, rv.arm_label(rv.FEDERATED, results), rv.arm_metrics(results, rv.FEDERATED)),
        (rv.CENTRALIZED, rv.arm_label(rv.CENTRALIZED, results), cen)]
    best = rv.best_local(results)
    if best is not None:
        # "Local only, party 9998 (host)" -> "Best local-only, party 9998 (host)"
        label = rv.arm_label(best[0], results).replace("Local only", "Best local-only", 1)
        shown.append((best[0], label, best[1]))
    rows = []
    for arm, label, m in shown:
        if m is None:
            rows.append(_row(label, [_td("missing from this run", "failed", len(columns) + 1)]))
            continue
        value = m.get(key) if rv.is_ok(m) else None
        delta = signed(value - ref) if is_number(value) and ref is not None and arm != rv.CENTRALIZED \
            else DASH
        cells = _metric_tds(m, columns) + ([_td(delta, "num")] if rv.is_ok(m) else [_td(DASH)])
        rows.append(_row(label, cells, focus=arm == rv.FEDERATED))
    return rows


def _headline_section(results: Mapping[str, Any]) -> str:
    # The same sentence as report.md's bold first line and the CLI summary, and report.md's gap text.
    claim = headline(results, minus="−")
    gap = [line for line in gap_paragraphs(results) if line.strip()]
    if gap and gap[0].startswith("No gap can be computed"):
        gap = gap[1:]  # it only repeats the headline sentence
    columns = rv.headline_columns(results)
    versus = f"{metric_word(rv.metric_set(results).primary)} vs centralised"
    table = _table(["Arm", *(h for _, h in columns), versus[:1].upper() + versus[1:]],
                   "l" + "r" * (len(columns) + 1), _headline_rows(results, columns), table_id="headline")
    return (f'<section class="headline" id="claims"><p class="claim">{esc(claim)}</p>{_paragraphs(gap)}'
            f"{table}</section>")


# --------------------------------------------------------------------------------------------------
# Result tables


def _bytes_cells(traffic: Sequence[Any]) -> tuple[list[str], list[str]]:
    """A "Bytes sent" header and cells when any fit counted its traffic (the launcher engine does)."""
    if not any(isinstance(t, Mapping) for t in traffic):
        return [], []
    return ["Bytes sent"], [_td(count(t.get("bytes")) if isinstance(t, Mapping) else DASH, "num")
                            for t in traffic]


def _arms_section(results: Mapping[str, Any]) -> str:
    arms = results.get("arms") or {}
    body = _arms_table(results, arms) if arms else "<p>No arm produced results.</p>"
    return '<h2 id="arms">Arms</h2>' + body


def _arms_table(results: Mapping[str, Any], arms: Mapping[str, Any]) -> str:
    order = rv.arm_order(results)
    details = results.get("arm_details") or {}
    bytes_header, bytes_tds = _bytes_cells([(details.get(a) or {}).get("bytes") for a in order])
    columns = rv.arm_columns(results)
    rows = (_row(rv.arm_label(a, results),
                 _metric_tds(arms[a], columns)
                 + [_td(count(rv.scored_rows(arms[a])) if rv.is_ok(arms[a]) else DASH, "num")]
                 + bytes_tds[i:i + 1],
                 focus=a == rv.FEDERATED) for i, a in enumerate(order))
    out = [_table(["Arm", *(h for _, h in columns), "Test rows", *bytes_header],
                  "l" + "r" * (len(columns) + 1 + len(bytes_header)), rows, table_id="arms-table")]
    thresholds = sorted({plain(m["threshold"]) for m in arms.values() if rv.is_ok(m) and "threshold" in m})
    if thresholds:
        out.append(f'<p class="note">Threshold-dependent metrics (all but AUC and KS) at threshold '
                   f"{esc(', '.join(thresholds))}. All metrics on the held-out test set.</p>")
    out.append(f'<p class="note">{esc(rv.engines_line(results))}</p>')
    missing = rv.missing_arms(results)
    if missing:
        out.append(f'<ul class="issues"><li>Missing (no result recorded): {esc(", ".join(missing))}</li></ul>')
    return "".join(out)


def _sweep_section(results: Mapping[str, Any]) -> str:
    sweep = results.get("sweep") or []
    body = _sweep_table(results, sweep) if sweep else '<p class="note">The sweep was skipped in this run.</p>'
    return '<h2 id="sweep">Split sweep (federated)</h2>' + body


def _sweep_table(results: Mapping[str, Any], sweep: list[Mapping[str, Any]]) -> str:
    common = rv.common_parties(sweep)
    bytes_header, bytes_tds = _bytes_cells([e.get("bytes") for e in sweep])
    columns = rv.recorded_columns(e.get(rv.FEDERATED) for e in sweep)
    rows = [f"<tr>{_td(rv.sweep_label(e, common), 'num')}{''.join(_metric_tds(e.get(rv.FEDERATED), columns))}"
            f"{''.join(bytes_tds[i:i + 1])}{_td(rv.jobs_text(e))}</tr>" for i, e in enumerate(sweep)]
    split_header = f"Split {'/'.join(common)} (%)" if common else "Split (%)"
    out = [_table([split_header, *(h for _, h in columns), *bytes_header, "FATE jobs"],
                  "r" * (len(columns) + 1 + len(bytes_header)) + "l", rows, table_id="sweep-table")]
    cen, key = rv.arm_metrics(results, rv.CENTRALIZED), rv.metric_set(results).primary
    if rv.is_ok(cen):
        out.append(f'<p class="note">Centralised {esc(metric_word(key))} for reference: {esc(fmt3(cen.get(key)))}.</p>')
    return "".join(out)


def _per_class_section(results: Mapping[str, Any]) -> str:
    out = ['<h2 id="per-class">Per class</h2>']
    for a in (rv.FEDERATED, rv.CENTRALIZED):
        m = rv.arm_metrics(results, a)
        out.append(f"<h3>{esc(rv.arm_label(a, results))}</h3>")
        per_class = (m.get("per_class") or {}) if rv.is_ok(m) else {}
        if not per_class:
            why = "Arm missing from this run." if m is None else (
                f"Arm failed: {rv.error_text(m)}" if not rv.is_ok(m) else rv.no_per_class_text(m))
            out.append(_paragraphs([why], "note"))
            continue
        rows = (_row(str(c), _metric_tds(v, PER_CLASS_COLUMNS) + [_td(count(v.get("support")), "num")])
                for c, v in sorted(per_class.items()))
        out.append(_table(["Class", *(h for _, h in PER_CLASS_COLUMNS), "Support"],
                          "l" + "r" * (len(PER_CLASS_COLUMNS) + 1), rows))
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Figures and run details


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figures_section(plans: Sequence[FigurePlan], run_dir: Path) -> str:
    out = ['<h2 id="figures">Figures</h2>']
    for plan in plans:
        if plan.draw is None:
            out.append(_paragraphs([f"{plan.caption}: not drawn, {plan.skipped}."], "note"))
            continue
        out.append(f'<figure><img src="{png_data_uri(run_dir / plan.file)}" alt="{esc(plan.caption)}">'
                   f"<figcaption>{esc(plan.caption)} <code>{esc(plan.file)}</code></figcaption></figure>")
    return "".join(out)


def _run_section(results: Mapping[str, Any]) -> str:
    out = ['<h2 id="run">Run, engine and versions</h2>']
    facts = {"Run id": results.get("run_id", DASH), "Created": results.get("created", DASH),
             "Seed": results.get("seed", DASH), "Test share": results.get("test_size", DASH)}
    facts.update({f"Engine {k}": v for k, v in (results.get("engine") or {}).items()})
    out.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items()) + "</dl>")
    timings = results.get("timings") or {}
    if timings:
        rows = (f"<tr>{_td(str(k))}{_td(timing(str(k), v), 'num')}</tr>" for k, v in timings.items())
        out += ["<h3>Timings</h3>", _table(["Phase", "Value"], "lr", rows)]
    table = placement_table(results.get("placement"))
    # A placement in the host engines' shape gets its own table below; any other shape is shown as is.
    as_is = (("versions", "Versions", ("Package", "Version")),
             ("validation", "Validation against FATE-Flow", ("Check", "Value")),
             *((("placement", PLACEMENT_TITLE, ("Item", "Where")),) if table is None else ()))
    for key, title, headers in as_is:
        value = results.get(key)
        if isinstance(value, Mapping) and value:
            out += [f"<h3>{title}</h3>", _kv_table(value, *headers)]
        elif value:
            out += [f"<h3>{title}</h3>", _paragraphs([plain(value)])]
    if table is not None:
        out += [f"<h3>{PLACEMENT_TITLE}</h3>", _paragraphs([PLACEMENT_NOTE]), table_html(table)]
    return "".join(out)


def render_html(results: Mapping[str, Any], plans: Sequence[FigurePlan], run_dir: Path) -> str:
    """The whole page, from the JSON-normalised results and the figures already drawn in ``run_dir``."""
    run_id = results.get("run_id", "?")
    engine = (results.get("engine") or {}).get("name", "unknown engine")
    family = (results.get("model") or {}).get("family", "model")
    meta = (f"Run {run_id}, created {results.get('created', DASH)}, seed "
            f"{plain(results.get('seed', DASH))}, {family} on {engine}.")
    body = "".join((
        f"<h1>fatelab study report: {esc(run_id)}</h1>",
        f'<p class="meta">{esc(meta)} Raw numbers in <a href="{rv.RESULTS_FILE}">{rv.RESULTS_FILE}</a>; '
        f'data card, parties, model mapping and job details in <a href="{rv.REPORT_FILE}">{rv.REPORT_FILE}</a>.</p>',
        seeds.html_sections(results), _headline_section(results), _arms_section(results),
        _sweep_section(results), _per_class_section(results),
        *(section_html(extra) for extra in scenario_sections(results)),  # the scenario's own, as in report.md
        _figures_section(plans, Path(run_dir)),
        _run_section(results)))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>fatelab report {esc(run_id)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def write_html(results: Mapping[str, Any], plans: Sequence[FigurePlan], run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (the figures in ``plans`` must already be drawn there)."""
    path = Path(run_dir) / HTML_FILE
    path.write_text(render_html(results, plans, run_dir), encoding="utf-8")
    return path
