"""Tables and text as Markdown and as escaped HTML: the building blocks every report section lays out with.

Below the section modules (markdown.py, html.py, seeds.py), so each of them can use them without
importing another section module.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from harness.report.format import is_number, plain

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


# --------------------------------------------------------------------------------------------------
# HTML


def esc(value: Any) -> str:
    """Any value from the results as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape(value if isinstance(value, str) else plain(value), quote=True)


def html_table(headers: Sequence[str], align: str, rows: Iterable[str], table_id: str = "") -> str:
    """``rows`` are finished ``<tr>`` strings; ``align`` is 'l' or 'r' per column (r: numbers)."""
    num = ' class="num"'
    ths = "".join(f"<th{num if a == 'r' else ''}>{esc(h)}</th>" for h, a in zip(headers, align, strict=True))
    id_attr = f' id="{table_id}"' if table_id else ""
    return (f'<div class="scroll"><table{id_attr}><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def paragraphs(lines: Iterable[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "".join(f"<p{attr}>{esc(line)}</p>" for line in lines if line.strip())


def p_value(p: Any) -> str:
    """A test's p-value: 3 decimals, '< 0.001' below that, a dash when there is none."""
    if not is_number(p):
        return "—"
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"
