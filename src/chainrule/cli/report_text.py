"""An explanation report as text that fits the terminal (``demo`` and ``explain`` print it).

The report folds itself (``Report.text(width=...)``, :mod:`chainrule.explain.fold`): paragraphs
wrap at spaces; an equation too long for a line breaks after an operator (``=``, ``+``, ``×``,
``·``) with a hanging indent; a table too wide wraps its cells or is printed one row per block.
Numbers and names are never split. Here each line is made safe to print (control characters
in a class name shown escaped).
"""

from __future__ import annotations

import os

from chainrule.cli.output import literal, width, wrap


def show(report) -> None:
    """Print ``report``: in colour through rich on a colour terminal (rich fits it to the
    terminal), else as plain text fitted to the width."""
    from chainrule.cli.output import is_terminal

    if is_terminal() and not os.environ.get("NO_COLOR") and hasattr(report, "terminal"):
        report.terminal()
    else:
        print(render(report), end="")


def render(report, columns: int | None = None) -> str:
    """``report`` as plain text at most ``columns`` wide (the terminal's width by default):
    the report's own ``text(width=...)``, each line made safe to print."""
    columns = columns or width()
    if getattr(report, "blocks", None) is None:  # a report without blocks: wrap its own text
        return wrap(str(report), columns)
    return "\n".join(literal(line) for line in report.text(width=columns).split("\n"))
