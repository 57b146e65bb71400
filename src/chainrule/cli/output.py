"""Printing for the command line: rich when stdout is a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import sys


def is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def console():
    """A rich Console that honours NO_COLOR and prints plain text when piped."""
    from rich.console import Console

    return Console(
        no_color=bool(os.environ.get("NO_COLOR")) or not is_terminal(),
        highlight=False,
        soft_wrap=True,
    )


def heading(text: str) -> None:
    if is_terminal():
        console().rule(f"[bold]{text}")
    else:
        print(f"\n== {text} ==")


def table(title: str, columns: list[str], rows: list[list]) -> None:
    """A table: rich's box drawing on a terminal, aligned plain columns otherwise."""
    rows = [[_fmt(v) for v in row] for row in rows]
    if is_terminal():
        from rich.table import Table

        t = Table(title=title)
        for c in columns:
            t.add_column(c)
        for row in rows:
            t.add_row(*row)
        console().print(t)
        return
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)
    ]
    if title:
        print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value or abs(value) >= 1e5 or (0 < abs(value) < 1e-4):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)
