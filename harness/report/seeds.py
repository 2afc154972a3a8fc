"""The multi-seed sections of the report: claims with verdicts first, then intervals per arm and
metric, the paired comparisons with p-values, the sweep with interval bands, excluded seeds and the
method. Rendered as Markdown lines for report.md and as an HTML fragment for report.html.

Input: the results dict with the blocks of ``harness.stats.aggregate.aggregate`` merged in (``seeds``,
``claims``, ``intervals``, ``comparisons``, ``sweep_intervals``, ``excluded_seeds``, ``stats_method``).
Each table is built once as plain text (``Table``) and laid out twice, so report.md and report.html
cannot disagree. Arm labels come from harness.report.results, number formats from harness.report.format,
``Table`` and the other building blocks from harness.report.markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report import format as rf
from harness.report import markup as mk
from harness.report import results as rr
from harness.report.markup import Table

SHOWN, REFUTED = "shown", "refuted"
_SPLIT = re.compile(r"[\d.]+(/[\d.]+)+")


def has_seeds(results: Mapping[str, Any]) -> bool:
    """True when the run carries the multi-seed blocks (a single-seed run renders nothing here)."""
    return isinstance(results.get("intervals"), Mapping) and bool(results.get("seeds"))


# --------------------------------------------------------------------------------------------------
# Number formats


def _diff(value: Any) -> str:
    """A difference of two metrics: 4 decimals, since the effects compared are a few thousandths."""
    if not rf.is_number(value):
        return rf.DASH
    text = f"{value:+.4f}"
    return "±0.0000" if text in ("+0.0000", "-0.0000") else text.replace("-", "−")


def _interval_cell(cell: Any, with_std: bool = True) -> str:
    """'mean ± sd [low, high]'; with one seed only the mean and why there is no interval."""
    if not isinstance(cell, Mapping) or not rf.is_number(cell.get("mean")):
        return "no seed" if isinstance(cell, Mapping) else rf.DASH
    if not rf.is_number(cell.get("low")):
        return f"{rf.fmt3(cell['mean'])} (n = {cell.get('n', 1)}, no interval)"
    spread = f" ± {rf.fmt3(cell.get('std'))}" if with_std else ""
    return f"{rf.fmt3(cell['mean'])}{spread} [{rf.fmt3(cell['low'])}, {rf.fmt3(cell['high'])}]"


def _n_text(cells: Sequence[Any]) -> str:
    ns = sorted({c.get("n") for c in cells if isinstance(c, Mapping) and isinstance(c.get("n"), int)})
    if not ns:
        return rf.DASH
    return str(ns[0]) if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"


def _p_text(p: Any) -> str:
    return mk.p_value(p) if rf.is_number(p) else "n/a"


def _label(arm: str, results: Mapping[str, Any]) -> str:
    """An arm's label; a sweep arm named "<arm> <split>" by the aggregate reads "Federated, split 50/50"."""
    name, _, split = arm.partition(" ")
    # Only a split ("50/50"): an arm's own name may have spaces ("centralized tf-idf + logistic regression").
    if _SPLIT.fullmatch(split) and (name in (rr.FEDERATED, rr.CENTRALIZED) or name.startswith(rr.LOCAL_PREFIX)):
        return f"{rr.arm_label(name, results)}, split {split}"
    return rr.arm_label(arm, results)


def _pair_label(c: Mapping[str, Any], results: Mapping[str, Any]) -> str:
    return f"{_label(str(c.get('a')), results)} − {_label(str(c.get('b')), results)}"


# --------------------------------------------------------------------------------------------------
# The tables


def claims_table(results: Mapping[str, Any]) -> Table:
    """Verdict first (short, so the table stays narrow), then the claim and the numbers deciding it;
    the sentences saying why are ``claim_reasons``."""
    t = Table("seed-claims", ["Verdict", "Claim", "Comparison", "Difference [95% interval]", "p (rule's test)",
                              "Seeds"], "lllrrr")
    for claim in results.get("claims") or []:
        for j, e in enumerate(claim.get("evidence") or [{}]):
            row = len(t.rows)
            p = e.get("p_non_inferiority", e.get("p_equivalence", e.get("p_value")))
            head = [str(claim.get("verdict", "")), str(claim.get("claim", ""))] if j == 0 else ["", ""]
            t.rows.append([*head, _pair_label(e, results) if e else str(claim.get("summary", rf.DASH)),
                           _claim_numbers(e) if e else rf.DASH, _p_text(p) if e else rf.DASH,
                           str(e.get("n", rf.DASH))])
            if j == 0:
                t.strong.add((row, 0))
                if claim.get("verdict") == REFUTED:
                    t.bad.add((row, 0))
    return t


def claim_reasons(results: Mapping[str, Any]) -> list[str]:
    """For every comparison behind a claim, the sentence saying how the rule decided it."""
    return [f"{_pair_label(e, results)}: {e.get('why', '')} ({e.get('verdict', '')})"
            for claim in results.get("claims") or [] for e in claim.get("evidence") or []]


def _claim_numbers(e: Mapping[str, Any]) -> str:
    if not rf.is_number(e.get("mean_diff")):
        return "no paired seed"
    if not rf.is_number(e.get("low")):
        return f"{_diff(e['mean_diff'])} (no interval)"
    return f"{_diff(e['mean_diff'])} [{_diff(e.get('low'))}, {_diff(e.get('high'))}]"


def intervals_table(results: Mapping[str, Any]) -> Table:
    intervals = results.get("intervals") or {}
    # The metrics the aggregate summarised (the scenario's plan): AUC and co. for Lending Club, accuracy
    # and the macro averages for the deep-learning scenarios.
    cols = [(k, h) for k, h in rf.METRIC_NAMES.items() if any(k in (v or {}) for v in intervals.values())]
    t = Table("seed-intervals", ["Arm", *(h for _, h in cols), "Seeds"], "l" + "r" * (len(cols) + 1))
    for arm in rr.arm_order({**results, "arms": intervals}):
        cells = intervals[arm] or {}
        if arm == rr.FEDERATED:
            t.focus.add(len(t.rows))
        t.rows.append([_label(arm, results), *(_interval_cell(cells.get(k)) for k, _ in cols),
                       _n_text([cells.get(k) for k, _ in cols])])
    return t


def comparisons_table(results: Mapping[str, Any]) -> Table:
    t = Table("seed-comparisons", ["Paired comparison", "Metric", "Mean difference", "95% interval",
                                   "Wilcoxon p", "Seeds", "Test", "Note"], "llrrrrll")
    names = rf.METRIC_NAMES
    for c in results.get("comparisons") or []:
        if not isinstance(c, Mapping):
            continue
        bounds = (f"[{_diff(c.get('low'))}, {_diff(c.get('high'))}]" if rf.is_number(c.get("low"))
                  else "no interval")
        t.rows.append([_pair_label(c, results), names.get(str(c.get("metric")), str(c.get("metric"))),
                       _diff(c.get("mean_diff")), bounds, _p_text(c.get("p_value")), str(c.get("n", rf.DASH)),
                       str(c.get("p_method", rf.DASH)), str(c.get("note", ""))])
    return t


def _sweep_arms(row: Mapping[str, Any]) -> list[str]:
    return [k for k, v in row.items() if isinstance(v, Mapping)
            and (k in (rr.FEDERATED, rr.CENTRALIZED) or str(k).startswith(rr.LOCAL_PREFIX))]


def sweep_columns(results: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Metrics of the sweep table: the two its figure draws (the run's primary and second metric), then
    the rest of its headline: AUC, specificity, KS, recall, F1 for Lending Club; accuracy, macro F1,
    macro precision, macro recall for the deep-learning scenarios."""
    ms = rr.metric_set(results)
    return rf.metric_columns(*dict.fromkeys((ms.primary, ms.second, *ms.headline)))


def sweep_table(results: Mapping[str, Any]) -> Table:
    rows = results.get("sweep_intervals") or []
    columns = sweep_columns(results)
    parties = {tuple(r.get("parties") or ()) for r in rows}
    who = "/".join(next(iter(parties))) if len(parties) == 1 and next(iter(parties)) else ""
    t = Table("seed-sweep", [f"Split {who} (%)".replace("  ", " "), "Arm",
                             *(f"{h} [95%]" for _, h in columns), "Seeds"],
              "rl" + "r" * (len(columns) + 1))
    for r in rows:
        for arm in _sweep_arms(r):
            cells = r[arm]
            t.rows.append([str(r.get("split", rf.split_label(r.get("ratio") or []))), _label(arm, results),
                           *(_interval_cell(cells.get(k), with_std=False) for k, _ in columns),
                           _n_text([cells.get(k) for k, _ in columns])])
    return t


def excluded_lines(results: Mapping[str, Any]) -> list[str]:
    """One sentence per excluded seed/arm, or one saying that every seed counted."""
    out = []
    for e in results.get("excluded_seeds") or []:
        where = _label(str(e.get("arm", "?")), results)
        if e.get("split"):
            where += f", sweep split {e['split']}"
        if e.get("metric"):
            where += f", {e['metric']}"
        out.append(f"Seed {e.get('seed')}, {where}: {e.get('reason', 'no reason recorded')}")
    return out


def method_lines(results: Mapping[str, Any]) -> list[str]:
    """How the numbers were computed and how the verdicts were decided (from ``stats_method``)."""
    m = results.get("stats_method") or {}
    rules = m.get("rules") or {}
    lines = [f"Intervals: {m['interval']}." if m.get("interval") else "",
             f"Paired test: {m['paired_test']}." if m.get("paired_test") else "",
             (f"Claims are decided on {_metric_word(m.get('claim_metric', 'auc'))} only (the primary endpoint); the "
              "other metrics are reported without verdicts.")]
    if rules.get("non_inferiority"):
        lines.append(f"Non-inferiority (margin {m.get('margin')}): {rules['non_inferiority']}.")
    if rules.get("equivalence"):
        lines.append(f"Equivalence (margin {m.get('margin')}): {rules['equivalence']}.")
    if rules.get("superiority"):
        lines.append(f"Superiority: {rules['superiority']}.")
    if rules.get("baseline"):
        lines.append(f"Against a baseline: {rules['baseline']}.")
    return [line for line in lines if line]


def _metric_word(key: Any) -> str:
    """'auc' -> 'AUC', 'accuracy' -> 'accuracy'; a metric the report does not know, as stored."""
    return rf.metric_word(key) if key in rf.METRIC_NAMES else str(key)


def redraws_text(results: Mapping[str, Any]) -> str:
    """What a seed redraws: the split (unless the test set is fixed), the partitions, SMOTE (unless the run
    balanced nothing) and, for the deep-learning scenarios (which record curves), the batch order: their
    initial weights are the same for every seed (``HomoNNSettings.init_seed``)."""
    fixed = "same for every seed" in str(results.get("test_split", ""))
    parts = [*([] if fixed else ["the split"]), "the partitions"]
    parts += [] if str(results.get("balance", "")).startswith("none") else ["SMOTE"]
    parts += ["the batch order"] if results.get("curves") else []
    text = "each redraws " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
    return text + (" (the test set is the same for every seed)" if fixed else "")


def claims_line(results: Mapping[str, Any]) -> str:
    """One line for the top of the report and the CLI: every claim with its verdict."""
    claims = results.get("claims") or []
    n = len(results.get("seeds") or [])
    body = "; ".join(f"{c.get('claim')}: {c.get('verdict')}" for c in claims) or "no claims evaluated"
    return f"Across {n} seed{'s' if n != 1 else ''}: {body}"


# --------------------------------------------------------------------------------------------------
# Markdown


def markdown_sections(results: Mapping[str, Any]) -> list[str]:
    """The multi-seed part of report.md, claims first; [] for a single-seed run."""
    if not has_seeds(results):
        return []
    seeds = results.get("seeds") or []
    # The claims line itself heads the whole report (markdown.render_markdown): not repeated here.
    out = [f"## Claims across {len(seeds)} seeds", ""]
    out += mk.table_md(claims_table(results)) + [f"- {rf.inline(line)}" for line in claim_reasons(results)] + [""]
    out += ["How the verdicts are decided:", ""] + [f"- {line}" for line in method_lines(results)] + [""]
    out += ["## Intervals across seeds", "",
            f"Seeds {', '.join(str(s) for s in seeds)}; {redraws_text(results)}. "
            "Mean ± standard deviation [95% interval]; the last column says on how many seeds each number rests.",
            "", rr.engines_line(results), ""]
    out += mk.table_md(intervals_table(results))
    out += ["## Paired comparisons", "", "Differences over the same seeds (first arm minus second).", ""]
    out += mk.table_md(comparisons_table(results))
    sweep = sweep_table(results)
    if sweep.rows:
        out += ["## Split sweep across seeds", "", "Mean [95% interval] per split.", ""] + mk.table_md(sweep)
    excluded = excluded_lines(results)
    out += ["### Excluded seeds", ""]
    out += [f"- {rf.inline(line)}" for line in excluded] if excluded else ["None: every seed counted."]
    return [*out, ""]


# --------------------------------------------------------------------------------------------------
# HTML


def html_sections(results: Mapping[str, Any]) -> str:
    """The multi-seed part of report.html as a fragment, claims first; '' for a single-seed run."""
    if not has_seeds(results):
        return ""
    seeds = results.get("seeds") or []
    out = [f'<section class="headline" id="seed-claims-section"><h2>Claims across {len(seeds)} seeds</h2>',
           f'<p class="claim">{mk.esc(claims_line(results))}</p>', mk.table_html(claims_table(results)),
           "<ul>" + "".join(f"<li>{mk.esc(line)}</li>" for line in claim_reasons(results)) + "</ul>",
           mk.paragraphs(method_lines(results), "note"), "</section>",
           '<h2 id="seed-intervals-section">Intervals across seeds</h2>',
           mk.paragraphs([f"Seeds {', '.join(str(s) for s in seeds)}; {redraws_text(results)}. Mean ± standard "
                          "deviation [95% interval].", rr.engines_line(results)], "meta"),
           mk.table_html(intervals_table(results)),
           '<h2 id="seed-comparisons-section">Paired comparisons</h2>', mk.table_html(comparisons_table(results))]
    sweep = sweep_table(results)
    if sweep.rows:
        out += ['<h2 id="seed-sweep-section">Split sweep across seeds</h2>', mk.table_html(sweep)]
    excluded = excluded_lines(results)
    out.append("<h3>Excluded seeds</h3>")
    out.append('<ul class="issues">' + "".join(f"<li>{mk.esc(line)}</li>" for line in excluded) + "</ul>"
               if excluded else mk.paragraphs(["None: every seed counted."], "note"))
    return "".join(out)
