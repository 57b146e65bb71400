"""Plain text: what ``str(report)`` prints, 80 columns wide (``report.text(width=None)``: each
equation and table row on one line however long). Tables aligned, equations one per line."""

from __future__ import annotations

import textwrap

from chainrule.explain.blocks import Eq, Heading, Para, Table
from chainrule.explain.fold import fold_eq, pad, table_lines, width

__all__ = ["WIDTH", "pad", "render", "table_lines", "width"]

WIDTH = 80  # a terminal's default width: print(report) fits one


def render(report, width: int | None = WIDTH) -> str:
    """``report`` as plain text at most ``width`` columns wide (None: no limit; paragraphs wrap
    at 100). A word, number or name longer than the width is never split, so it can overflow."""
    if width is not None and width < 20:
        raise ValueError(f"width={width} is too narrow for a report; give 20 or more, or None")
    out = []
    for block in report.blocks:
        if isinstance(block, Heading):
            out += _heading(block, width, bool(out))
        elif isinstance(block, Para):
            wrap = textwrap.wrap(
                block.text, width or 100, break_long_words=False, break_on_hyphens=False
            )
            out.extend(wrap or [""])
        elif isinstance(block, Eq):
            out += ["  " + block.text()] if width is None else fold_eq(block, width)
        elif isinstance(block, Table):
            out.append("")
            inner = None if width is None else width - 2
            out.extend(("  " + line).rstrip() for line in table_lines(block, inner))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _heading(block: Heading, columns: int | None, after_text: bool) -> list:
    lines = [""] if after_text else []
    text = block.text
    wrapped = textwrap.wrap(text, columns, break_long_words=False) if columns else [text]
    lines += wrapped or [""]
    rule = {1: "═", 2: "─"}.get(block.level)
    if rule:
        lines.append(rule * max(width(line) for line in wrapped or [""]))
    return lines
