"""Tables and text as Markdown and as escaped HTML: the building blocks every report section lays out with.

Below the section modules (markdown.py, html.py, seeds.py, nn.py, vertical.py), so each of them can use
them without importing another section module. A section built once as plain text (``Section`` of
``Table``, ``Text`` and ``Heading`` parts) is laid out twice, by ``section_md`` and ``section_html``, so
report.md and report.html cannot disagree.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.report.format import inline, is_number, plain

# --------------------------------------------------------------------------------------------------
# Plain-text parts of a section


@dataclass
class Table:
    """One table as plain text: ``align`` has 'l'/'r' per column; ``strong`` marks cells to emphasise
    (a verdict), ``bad`` cells that report a failure, ``focus`` the federated rows."""

    table_id: str
    headers: list[str]
    align: str
    rows: list[list[str]] = field(default_factory=list)
    focus: set[int] = field(default_factory=set)
    strong: set[tuple[int, int]] = field(default_factory=set)
    bad: set[tuple[int, int]] = field(default_factory=set)


@dataclass(frozen=True)
class Text:
    """Paragraphs, or one bulleted list; a `backticked` span is code in both formats."""

    lines: tuple[str, ...]
    bullets: bool = False


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section (### in report.md, h3 in report.html)."""

    title: str


Part = Table | Text | Heading


@dataclass(frozen=True)
class Section:
    """One titled section of the report, e.g. a scenario's own (harness/report/sections.py)."""

    title: str
    parts: tuple[Part, ...]
    section_id: str = ""


# --------------------------------------------------------------------------------------------------
# Markdown


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None) -> list[str]:
    """``align`` has one char per column: 'l' or 'r' (numbers right-aligned)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def md_kv_table(mapping: Mapping[str, Any], key_header: str = "Key", value_header: str = "Value") -> list[str]:
    return md_table([key_header, value_header], ([k, plain(v)] for k, v in mapping.items()), align="ll")


def md_titled(title: str, body: list[str]) -> list[str]:
    return [f"## {title}", "", *body]


def md_details(summary: str, body: list[str]) -> list[str]:
    """A collapsed block: long lists the reader opens only when wanted."""
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def table_md(t: Table) -> list[str]:
    """A ``Table`` in Markdown: strong cells and the first cell of focus rows in bold; a blank line after."""
    rows = [[f"**{c}**" if ((i, j) in t.strong and c) or (j == 0 and i in t.focus) else c
             for j, c in enumerate(r)] for i, r in enumerate(t.rows)]
    return [*md_table(t.headers, rows, align=t.align), ""]


def section_md(section: Section) -> list[str]:
    out = md_titled(section.title, [])
    for part in section.parts:
        if isinstance(part, Table):
            out += table_md(part)
        elif isinstance(part, Heading):
            out += [f"### {part.title}", ""]
        elif part.bullets:
            out += [*(f"- {inline(line)}" for line in part.lines), ""]
        else:
            out += [line for text in part.lines for line in (inline(text), "")]
    return out


# --------------------------------------------------------------------------------------------------
# HTML


def esc(value: Any) -> str:
    """Any value from the results as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape(value if isinstance(value, str) else plain(value), quote=True)


def esc_code(text: str) -> str:
    """``esc``, then `backticked` spans as <code>: the backticks survive escaping, their content is escaped."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def html_table(headers: Sequence[str], align: str, rows: Iterable[str], table_id: str = "") -> str:
    """``rows`` are finished ``<tr>`` strings; ``align`` is 'l' or 'r' per column (r: numbers)."""
    num = ' class="num"'
    ths = "".join(f"<th{num if a == 'r' else ''}>{esc(h)}</th>" for h, a in zip(headers, align, strict=True))
    id_attr = f' id="{table_id}"' if table_id else ""
    return (f'<div class="scroll"><table{id_attr}><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def table_html(t: Table) -> str:
    """A ``Table`` in HTML: every cell escaped, numbers right-aligned, strong/bad/focus as classes."""
    def cell(i: int, j: int, text: str) -> str:
        cls = "failed" if (i, j) in t.bad else ("num" if t.align[j] == "r" else "")
        attrs = f' class="{cls}"' if cls else ""
        inner = f"<strong>{esc(text)}</strong>" if (i, j) in t.strong else esc(text)
        return f"<td{attrs}>{inner}</td>"

    focus = ' class="focus"'
    rows = (f"<tr{focus if i in t.focus else ''}>{''.join(cell(i, j, c) for j, c in enumerate(r))}</tr>"
            for i, r in enumerate(t.rows))
    return html_table(t.headers, t.align, rows, table_id=t.table_id)


def paragraphs(lines: Iterable[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "".join(f"<p{attr}>{esc(line)}</p>" for line in lines if line.strip())


def section_html(section: Section) -> str:
    id_attr = f' id="{esc(section.section_id)}"' if section.section_id else ""
    out = [f"<h2{id_attr}>{esc(section.title)}</h2>"]
    for part in section.parts:
        if isinstance(part, Table):
            out.append(table_html(part))
        elif isinstance(part, Heading):
            out.append(f"<h3>{esc(part.title)}</h3>")
        elif part.bullets:
            out.append("<ul>" + "".join(f"<li>{esc_code(line)}</li>" for line in part.lines) + "</ul>")
        else:
            out += [f"<p>{esc_code(line)}</p>" for line in part.lines if line.strip()]
    return "".join(out)


def p_value(p: Any) -> str:
    """A test's p-value: 3 decimals, '< 0.001' below that, a dash when there is none."""
    if not is_number(p):
        return "—"
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"
