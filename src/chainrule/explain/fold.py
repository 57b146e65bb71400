"""Fitting a report's plain text to a width: an equation breaks between its tokens (after an
operator where it can) with a hanging indent, a table wraps its cells at spaces (never inside a
number, a name or a bracket where it can help it) or, when even that is too wide, prints each
row as a block of ``column: value`` lines. Nothing is cut off."""

from __future__ import annotations

import unicodedata

from chainrule.explain.blocks import Eq, F, Table

OPERATORS = ("=", "+", "−", "-", "×", "·", "→", "≈", ",", ";", ":")
HANGING = 4  # continuation lines of an equation or a stacked cell, beyond the line's indent


def width(text: str) -> int:
    """Display width (combining marks take no column)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def pad(text: str, n: int, right: bool = False) -> str:
    gap = " " * max(0, n - width(text))
    return gap + text if right else text + gap


# ---- words: the pieces a line may break between ------------------------------------------------
def _depth_zero_spaces(text: str) -> list:
    """Indices of the spaces of ``text`` outside (), [] and {}."""
    depth, spaces = 0, []
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == " " and depth == 0:
            spaces.append(i)
    return spaces


def breaks_of(text: str, brackets: bool = True) -> list:
    """Where ``text`` may break: its spaces (only those outside brackets with ``brackets``)."""
    if brackets:
        return _depth_zero_spaces(text)
    return [i for i, ch in enumerate(text) if ch == " "]


def words(text: str, brackets: bool = True) -> list:
    """``text`` cut at its spaces (only those outside brackets with ``brackets``) and after the
    ``/`` of a ``∂a/∂b``, as ``(glue, word)`` pairs: ``glue`` is what joined the word to the one
    before (" " or "")."""
    depth, out, glue, start = 0, [], "", 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if depth and brackets:
            continue
        if ch == " ":
            if i > start:
                out.append((glue, text[start:i]))
            glue, start = " ", i + 1
        elif ch == "/" and text[i + 1 : i + 2] == "∂":
            out.append((glue, text[start : i + 1]))
            glue, start = "", i + 1
    if len(text) > start:
        out.append((glue, text[start:]))
    return out


# ---- one long line ------------------------------------------------------------------------------
def fold_line(line: str, columns: int, breaks: list, hanging: int | None = None) -> list:
    """``line`` broken at the spaces listed in ``breaks`` into lines of at most ``columns``
    (preferably after an operator), continuation lines indented ``hanging`` columns (default:
    ``HANGING`` more than the line's own indent). A piece with no break point in reach stays
    whole, however long."""
    if width(line) <= columns:
        return [line]
    if hanging is None:
        hanging = len(line) - len(line.lstrip(" ")) + HANGING
    hanging = " " * min(hanging, columns // 2)
    allowed = sorted(i for i in set(breaks) if line[:i].strip())
    out, start, prefix = [], 0, ""
    while width(prefix + line[start:]) > columns:
        room = columns - width(prefix)
        reach = [i for i in allowed if start < i and width(line[start:i].rstrip()) <= room]
        reach = [i for i in reach if line[start:i].strip()]
        if not reach:
            later = [i for i in allowed if i > start and line[start:i].strip()]
            if not later:
                break
            reach = later[:1]  # the first piece is too long: it overflows, unbroken
        after_op = [i for i in reach if line[start:i].rstrip().endswith(OPERATORS)]
        cut = after_op[-1] if after_op and after_op[-1] - start > room // 2 else None
        cut = reach[-1] if cut is None else cut
        out.append((prefix + line[start:cut]).rstrip())
        start = cut
        while start < len(line) and line[start] == " ":
            start += 1
        prefix = hanging
    out.append(prefix + line[start:])
    return out


def fold_eq(eq: Eq, columns: int, indent: str = "  ") -> list:
    """An equation as lines of at most ``columns``: breaks only at the spaces of its plain-text
    tokens and of its formulas (outside brackets), never inside a name or a number."""
    text, breaks = indent, []
    for token in eq.tokens:
        piece = token if isinstance(token, str) else token.text()
        if isinstance(token, (str, F)):
            breaks += [len(text) + i for i in breaks_of(piece, brackets=not isinstance(token, str))]
        text += piece
    return fold_line(text, columns, breaks)


# ---- tables -------------------------------------------------------------------------------------
def wrap_cell(cell: str, columns: int, brackets: bool) -> list:
    """``cell`` in lines of at most ``columns``, broken after a comma or a ``+`` where that
    leaves the line at least half full (``mean 0.29, std 0.32`` keeps each pair, a sum each
    term); a word longer than ``columns`` stays whole."""
    lines, line = [], []  # line: its (glue, word) pairs
    for glue, word in words(cell, brackets):
        # a loop: what follows the comma cut may itself be too long for the new word
        while line and width(_join(line)) + len(glue) + width(word) > columns:
            commas = [k for k, (_, w) in enumerate(line) if w.endswith((",", ";", "+"))]
            k = commas[-1] + 1 if commas else len(line)
            if width(_join(line[:k])) < columns // 2:
                k = len(line)
            lines.append(_join(line[:k]))
            line = line[k:]
        line.append((glue, word) if line else ("", word))
    return [*lines, _join(line)]


def _join(pairs: list) -> str:
    return "".join(glue + word for glue, word in pairs).lstrip(" ")


def table_lines(table: Table, columns: int | None) -> list:
    """The table's lines: aligned columns as wide as their cells when ``columns`` is None;
    else fitted to ``columns`` (cells wrapped, or one block per row when that cannot fit)."""
    header = [str(h) for h in table.header]
    rows = [[str(c) for c in r] for r in table.rows]
    if columns is None:
        return _aligned(header, rows, _natural(header, rows), table.align())
    fitted = _fitted(header, rows, columns)
    if fitted is None:
        return _stacked(header, rows, columns)
    widths, brackets = fitted
    return _aligned(header, rows, widths, table.align(), brackets)


def _natural(header, rows) -> list:
    return [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]


def _floor(cells: list, brackets: bool) -> int:
    return max(width(w) for cell in cells for _, w in words(cell, brackets) or [("", "")])


def _fitted(header, rows, columns: int):
    """(column widths that fit ``columns`` with the gaps, and per column whether its cells keep
    their brackets whole), or None when even each column's longest word does not fit. Brackets
    are opened in the columns where that gains most, the widest columns shrunk first."""
    cells = [[r[i] for r in [header, *rows]] for i in range(len(header))]
    widths = _natural(header, rows)
    brackets = [True] * len(widths)
    floors = [_floor(c, True) for c in cells]
    loose = [_floor(c, False) for c in cells]
    gaps = 2 * (len(widths) - 1)
    while sum(floors) + gaps > columns:
        gain, i = max((floors[k] - loose[k], k) for k in range(len(widths)))
        if gain <= 0:
            return None
        floors[i], brackets[i] = loose[i], False
    while sum(widths) + gaps > columns:
        i = max((k for k in range(len(widths)) if widths[k] > floors[k]), key=lambda k: widths[k])
        widths[i] -= 1
    return widths, brackets


def _aligned(header, rows, widths, align, brackets=None) -> list:
    brackets = brackets or [True] * len(widths)

    def lines_of(cells, right):
        wrapped = [
            wrap_cell(c, w, b) if width(c) > w else [c] for c, w, b in zip(cells, widths, brackets)
        ]
        height = max(len(w) for w in wrapped)
        right = [r and len(cell) == 1 for r, cell in zip(right, wrapped)]  # a wrapped one: left
        out = []
        for k in range(height):
            parts = [
                pad(cell[k] if k < len(cell) else "", w, r)
                for cell, w, r in zip(wrapped, widths, right)
            ]
            out.append("  ".join(parts).rstrip())
        return out

    lines = lines_of(header, [False] * len(header))
    lines.append("  ".join("─" * w for w in widths))
    for row in rows:
        lines += lines_of(row, align)
    return lines


def _stacked(header, rows, columns: int) -> list:
    """Each row as ``column: value`` lines, the names right-aligned, long values folded."""
    name_width = max(width(h) for h in header)
    lines = []
    for row in rows:
        for name, cell in zip(header, row):
            line = f"{pad(name, name_width, right=True)}: {cell}"
            start = name_width + 2
            # after "name:" too, for a value that does not fit beside its name
            breaks = [start - 1] + [start + i for i in breaks_of(cell, False)]
            lines += fold_line(line, columns, breaks, hanging=start)
        lines.append("")
    return lines[:-1]
