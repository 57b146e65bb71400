"""The terminal: rich tables and colour (rich is imported here, only when asked for)."""

from __future__ import annotations

import io

from chainrule.explain.blocks import D, Eq, F, Heading, Num, Para, Sym, Table
from chainrule.explain.fold import fold_eq


def _style(token) -> str | None:
    if isinstance(token, Num):
        return "bold cyan"
    if isinstance(token, (Sym, D)):
        return "green"
    return "magenta" if isinstance(token, F) else None


def _eq_text(eq: Eq, width: int):
    """The equation in colour, folded as the plain text folds it (after an operator, with a
    hanging indent, never inside a name or number), not wherever rich would wrap it."""
    from rich.text import Text

    whole, styles = "  ", [None, None]
    for token in eq.tokens:
        piece = token if isinstance(token, str) else token.text()
        whole += piece
        styles += [_style(token)] * len(piece)
    text, pos = Text(), 0
    for n, line in enumerate(fold_eq(eq, width)):
        content = line.lstrip(" ")
        start = whole.index(content, pos)  # each line is the equation's next stretch
        if n:
            text.append("\n")
        text.append(line[: len(line) - len(content)])
        run = 0  # append runs of one style: one colour code per token, not per character
        for k in range(1, len(content) + 1):
            if k == len(content) or styles[start + k] != styles[start + run]:
                text.append(content[run:k], style=styles[start + run])
                run = k
        pos = start + len(content)
    return text


def _renderables(report, width: int):
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    for block in report.blocks:
        if isinstance(block, Heading):
            style = {1: "bold reverse", 2: "bold underline yellow"}.get(block.level, "bold")
            yield Text("")
            yield Text(block.text, style=style)
        elif isinstance(block, Para):
            yield Text(block.text, style="dim")
        elif isinstance(block, Eq):
            yield _eq_text(block, width)
        elif isinstance(block, Table):
            table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for name, right in zip(block.header, block.align()):
                table.add_column(name, justify="right" if right else "left", overflow="fold")
            for row in block.rows:
                table.add_row(*[str(c) for c in row])
            yield table


def render(report, width: int = 120, color: bool = True) -> str:
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is an optional extra
        return report.text()
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, color_system="standard" if color else None
    )
    for item in _renderables(report, width):
        console.print(item)
    return buffer.getvalue()


def print_report(report, console=None) -> None:
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover
        print(report.text())
        return
    console = console or Console()
    for item in _renderables(report, console.width):
        console.print(item)
