"""Printing for the command line: fitted to the terminal's width, data printed literally.

The width is ``COLUMNS`` when set, else the terminal's, else 100 (piped output). Tables
shrink their text columns, then stack one row per block; long lines wrap at spaces (after
an operator where there is one) with a hanging indent, so numbers and words are never split.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata

OPERATORS = ("=", "+", "−", "-", "×", "·", "*", "/", "→", "≈", ",")


def is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def width() -> int:
    """Columns available: ``COLUMNS``, else the terminal's, else 100; at least 40."""
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def console():
    """A rich Console that honours NO_COLOR and prints plain text when piped."""
    from rich.console import Console

    return Console(
        no_color=bool(os.environ.get("NO_COLOR")) or not is_terminal(),
        highlight=False,
        soft_wrap=True,
        width=width(),
    )


def literal(text, limit: int | None = None) -> str:
    """``text`` safe to print: control characters (escape sequences, bells, carriage
    returns) shown as ``\\x1b``-style escapes; cut to ``limit`` characters with ``…``."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != " ":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    text = "".join(out)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 1)] + "…"
    return text


def heading(text: str) -> None:
    text = literal(text)
    if is_terminal():
        from rich.markup import escape

        console().rule(f"[bold]{escape(text)}")
    else:
        say(f"\n== {text} ==")


def say(text: str = "") -> None:
    """Print ``text`` wrapped to the width."""
    print(wrap(text))


def wrap(text: str, columns: int | None = None, operators: bool = False) -> str:
    """Every line of ``text`` fitted to ``columns``: broken at spaces (with ``operators``,
    preferably after an operator such as ``=`` or ``×``), continuation lines indented four
    more than the line's own indent."""
    columns = columns or width()
    return "\n".join(_wrap_line(line, columns, operators) for line in str(text).split("\n"))


def _wrap_line(line: str, columns: int, operators: bool) -> str:
    if len(line) <= columns:
        return line
    indent = len(line) - len(line.lstrip(" "))
    hanging = " " * min(indent + 4, columns // 2)
    pieces, rest, first = [], line, True
    while len(rest) > columns:
        cut = _break_at(rest, columns, 0 if first else len(hanging), operators)
        if cut is None:
            break
        pieces.append(rest[:cut].rstrip())
        rest = hanging + rest[cut:].lstrip(" ")
        first = False
    pieces.append(rest)
    return "\n".join(pieces)


def _break_at(text: str, columns: int, floor: int, operators: bool) -> int | None:
    """Where to break: the last space before ``columns`` that follows an operator, else the
    last space; None when the first word alone is too long."""
    spaces = [i for i in range(floor + 1, min(columns + 1, len(text))) if text[i] == " "]
    spaces = [i for i in spaces if text[:i].strip()]
    if not spaces:
        return None
    after_operator = [i for i in spaces if text[:i].rstrip().endswith(OPERATORS)]
    if operators and after_operator and after_operator[-1] > columns // 2:
        return after_operator[-1] + 1
    return spaces[-1] + 1


def table(
    title: str,
    columns: list[str],
    rows: list[list],
    limit: int | None = None,
    shrink: tuple[str, ...] | None = None,
) -> None:
    """Aligned columns that fit the width: the ``shrink`` columns (default: those without
    digits) are cut with …, others never; when that is not enough, each row is printed as
    a block of ``name: value`` lines."""
    rows = [[literal(_fmt(v)) for v in row] for row in rows]
    columns = [literal(c) for c in columns]
    limit = limit or width()
    if title:
        print(wrap(literal(title), limit))
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    if shrink is None:
        can = [not any(ch.isdigit() for r in rows for ch in r[i]) for i in range(len(columns))]
    else:
        can = [c in shrink for c in columns]
    widths = _shrink(widths, can, columns, limit)
    if widths is None:
        _stacked(columns, rows, limit)
        return
    print(_row(columns, widths))
    for row in rows:
        print(_row(row, widths))


def _row(cells: list[str], widths: list[int]) -> str:
    parts = []
    for cell, w in zip(cells, widths):
        parts.append(_cut(cell, w).ljust(w))
    return "  ".join(parts).rstrip()


def _cut(cell: str, w: int) -> str:
    """``cell`` in ``w`` characters, cut at a space so no word or number is split."""
    if len(cell) <= w:
        return cell
    head = cell[: max(w - 1, 0)]
    head = head[: head.rfind(" ")].rstrip(" ,;") if " " in head else ""
    return head + "…"


def _shrink(widths, can, columns, limit):
    """Column widths summing (with gaps) to at most ``limit``, or None if impossible."""
    widths = list(widths)
    floor = [min(w, max(len(columns[i]), 8)) if can[i] else w for i, w in enumerate(widths)]
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        candidates = [i for i in range(len(widths)) if widths[i] > floor[i]]
        if not candidates:
            return None
        i = max(candidates, key=lambda k: widths[k])
        widths[i] -= 1
    return widths


def _stacked(columns, rows, limit) -> None:
    name_width = max(len(c) for c in columns)
    for row in rows:
        for c, v in zip(columns, row):
            print(wrap(f"{c.rjust(name_width)}: {v}", limit))
        print()


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value or abs(value) >= 1e5 or (0 < abs(value) < 1e-4):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)
