"""An explanation report as text that fits the terminal (``demo`` and ``explain`` print it).

Paragraphs wrap at spaces; an equation too long for a line breaks after an operator (``=``,
``+``, ``×``, ``·``) with a hanging indent; a table too wide shrinks its text columns or is
printed one row per block. Numbers and words are never split.
"""

from __future__ import annotations

import io
import os
import textwrap
from contextlib import redirect_stdout

from chainrule.cli.output import literal, table, width, wrap


def show(report) -> None:
    """Print ``report``: in colour through rich on a colour terminal (rich fits it to the
    terminal), else as plain text fitted to the width."""
    from chainrule.cli.output import is_terminal

    if is_terminal() and not os.environ.get("NO_COLOR") and hasattr(report, "terminal"):
        report.terminal()
    else:
        print(render(report), end="")


def render(report, columns: int | None = None) -> str:
    """``report`` as plain text at most ``columns`` wide (the terminal's width by default)."""
    columns = columns or width()
    blocks = getattr(report, "blocks", None)
    if blocks is None:  # a report without blocks: wrap its own text
        return wrap(str(report), columns)
    out: list[str] = []
    for block in blocks:
        kind = type(block).__name__
        if kind == "Heading":
            if out:
                out.append("")
            text = literal(block.text)
            out.append(wrap(text, columns))
            rule = {1: "═", 2: "─"}.get(block.level)
            if rule:
                out.append(rule * min(len(text), columns))
        elif kind == "Para":
            out.extend(textwrap.wrap(literal(block.text), columns) or [""])
        elif kind == "Eq":
            out.append(wrap("  " + literal(block.text()), columns, operators=True))
        elif kind == "Table":
            out.append("")
            out.append(_table(block, columns))
            out.append("")
        else:
            out.append(wrap(literal(str(block)), columns))
    return "\n".join(out).rstrip() + "\n"


def _table(block, columns: int) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        table(getattr(block, "caption", "") or "", list(block.header), block.rows, columns - 2)
    return textwrap.indent(buffer.getvalue().rstrip("\n"), "  ")
