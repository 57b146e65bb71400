"""A title above the header or a note below the data, padded to the table's width, and
a row of units below the header.

Excel, LibreOffice and report tools write ``Sales report 2024,,`` above the header and
``Source: company data,,`` below the data: one text cell, then empty cells up to the table's
width. Unpadded, such a line has the wrong number of cells and the row-length error names
it; padded, the title became a header with empty names (an error about an unnamed column)
and the note a row of missing values (an error about a missing target, or, when its text sat
in a column of numbers, a column left out as ``mixed``). Data loggers and lab instruments
write the units below the header (``kg,cm,``; Campbell's TOA5 files a units and a
processing line): read as data, that row was a missing target or a typo in a column of
numbers. Each is an error naming the line."""

from __future__ import annotations

import numpy as np

from chainrule.data.numbers import ABSENT, NUMBER, TEXT, _is_float
from chainrule.errors import DataError

__all__ = ["check_notes_below", "check_title", "check_units_rows"]

#: How many lines above the header may be titles (a title, a date, a filter line ...).
TITLE_LINES = 5
#: How many rows at the bottom are looked at.
LAST_ROWS = 5


def _alone(row: list[str]) -> bool:
    """Whether a row is one text cell, the first, with every other cell empty."""
    return (
        len(row) > 1
        and bool(row[0].strip())
        and not _is_float(row[0].strip())
        and not "".join(row[1:]).strip()
    )


def check_title(rows: list[tuple[int, list[str]]], source: str) -> None:
    """Raise when the first rows are lone text cells above a row that names every column
    (``Sales report 2024,,`` / ``A,B,label``): a title read as the header."""
    k = 0
    while k < min(TITLE_LINES, len(rows) - 1) and _alone(rows[k][1]):
        k += 1
    if not k:
        return
    line, names = rows[k]
    cells = [cell.strip() for cell in names]
    if len(cells) != len(rows[0][1]) or not all(c and not _is_float(c) for c in cells):
        return
    shown = ", ".join(repr(c) for c in cells[:4]) + (", ..." if len(cells) > 4 else "")
    raise DataError(
        f"{source}: line {rows[0][0]}: {rows[0][1][0].strip()[:40]!r} stands alone above the "
        f"header on line {line} ({shown}): a title, not column names; delete the line(s) "
        f"above the header"
    )


def check_notes_below(table) -> None:
    """Raise when the last rows are lone text cells in the first column (``Source: ...,,``),
    a text found nowhere else in that column: a note below the data, not a row."""
    columns = [c for c in table.columns if c is not None]
    first = table.columns[0] if table.columns else None
    n = len(table.lines)
    if first is None or first.codes is None or len(columns) < 2 or n < 2:
        return
    present = sum((c.kinds[-LAST_ROWS:] != ABSENT).astype(np.int64) for c in columns)
    notes = []
    for i in range(n - 1, max(n - LAST_ROWS, 0) - 1, -1):
        if present[i - n] != 1 or first.kinds[i] != TEXT:
            break
        code = first.codes[i]
        if int(np.count_nonzero(first.codes == code)) != 1 or not _note_like(first, code):
            break
        notes.append(i)
    if notes:
        i, more = notes[-1], len(notes) - 1
        also = f" (and the {more} line(s) below it)" if more else ""
        raise DataError(
            f"{table.source}: line {int(table.lines[i])}: {first.levels[first.codes[i]][:40]!r} "
            f"stands alone in its row below the data (every other cell empty): a note (a "
            f"source, a footnote), not a row of data; delete it{also}"
        )


def _note_like(column, code: int) -> bool:
    """A note is a phrase (``Source: company data``), or any text in a column of numbers."""
    text = column.levels[code]
    return len(text.split()) > 1 or ":" in text or (column.codes < 0).mean() > 0.5


def check_units_rows(table) -> None:
    """Raise when the first rows hold no number but text over at least two columns of
    numbers, text found nowhere else in those columns (``kg,cm,``): units, not data."""
    if not table.has_header:
        return
    columns = [c for c in table.columns if c is not None]
    n = len(table.lines)
    rows = []
    for i in range(min(TITLE_LINES, n - 1)):
        if any(c.kinds[i] == NUMBER for c in columns):
            break
        units = [c.levels[c.codes[i]] for c in columns if _unit_over_numbers(c, i)]
        if len(units) < 2:
            break
        rows.append(units)
    if rows:
        shown = ", ".join(repr(u) for u in rows[0][:4]) + (", ..." if len(rows[0]) > 4 else "")
        also = f" (and the {len(rows) - 1} line(s) below it)" if len(rows) > 1 else ""
        raise DataError(
            f"{table.source}: line {int(table.lines[0])}: {shown} sit below the header over "
            f"columns of numbers: a row of units (or a second header line), not data; delete "
            f"it{also}"
        )


def _unit_over_numbers(column, i: int) -> bool:
    """Whether row ``i`` of a column is its only text, above numbers (90 % of its rows)."""
    if column.kinds[i] != TEXT:
        return False
    code = column.codes[i]
    return (
        int(np.count_nonzero(column.codes == code)) == 1
        and int(np.count_nonzero(column.codes >= 0)) <= TITLE_LINES
        and (column.kinds == NUMBER).mean() >= 0.9
    )
