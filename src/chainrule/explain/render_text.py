"""Plain text: what ``str(report)`` prints. Tables aligned, equations one per line."""

from __future__ import annotations

import textwrap
import unicodedata

from chainrule.explain.blocks import Eq, Heading, Para, Table


def width(text: str) -> int:
    """Display width (combining marks take no column)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def pad(text: str, n: int, right: bool = False) -> str:
    gap = " " * max(0, n - width(text))
    return gap + text if right else text + gap


def table_lines(table: Table, max_cell: int = 60) -> list:
    def clip(cell):
        cell = str(cell)
        return cell if width(cell) <= max_cell else cell[: max_cell - 1] + "…"

    header = [clip(h) for h in table.header]
    rows = [[clip(c) for c in r] for r in table.rows]
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    align = table.align()
    lines = ["  ".join(pad(h, w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    for r in rows:
        lines.append("  ".join(pad(c, w, a) for c, w, a in zip(r, widths, align)).rstrip())
    return lines


def render(report) -> str:
    out = []
    for block in report.blocks:
        if isinstance(block, Heading):
            if out:
                out.append("")
            rule = "═" if block.level == 1 else ("─" if block.level == 2 else "")
            out.append(block.text)
            if rule:
                out.append(rule * width(block.text))
        elif isinstance(block, Para):
            out.extend(textwrap.wrap(block.text, 100) or [""])
        elif isinstance(block, Eq):
            out.append("  " + block.text())
        elif isinstance(block, Table):
            out.append("")
            out.extend("  " + line for line in table_lines(block))
            out.append("")
    return "\n".join(out).rstrip() + "\n"
