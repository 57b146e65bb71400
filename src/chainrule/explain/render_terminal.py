"""The terminal: rich tables and colour (rich is imported here, only when asked for)."""

from __future__ import annotations

import io

from chainrule.explain.blocks import D, Eq, F, Heading, Num, Para, Sym, Table


def _eq_text(eq: Eq):
    from rich.text import Text

    text = Text("  ")
    for token in eq.tokens:
        if isinstance(token, Num):
            text.append(token.text(), style="bold cyan")
        elif isinstance(token, (Sym, D)):
            text.append(token.text(), style="green")
        elif isinstance(token, F):
            text.append(token.text(), style="magenta")
        else:
            text.append(token)
    return text


def _renderables(report):
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
            yield _eq_text(block)
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
    for item in _renderables(report):
        console.print(item)
    return buffer.getvalue()


def print_report(report, console=None) -> None:
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover
        print(report.text())
        return
    console = console or Console()
    for item in _renderables(report):
        console.print(item)
