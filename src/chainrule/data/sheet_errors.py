"""Spreadsheet error values (``#DIV/0!``, ``#VALUE!``, ``#REF!``, ...) in exported files.

Excel and LibreOffice write a failed formula's error value into the CSV as text. In a
column of numbers it is no value, not a word: read as missing (so the usual rule for
missing cells applies: an error naming the cell, or the fill value with ``impute='mean'``),
never as a text cell that turns the column into categories or a typo error. A note counts
them per column, since a column full of failed formulas is worth looking at.
"""

from __future__ import annotations

import numpy as np

from chainrule.data.numbers import ABSENT, SHEET_ERRORS

__all__ = ["add_sheet_errors", "count_sheet_errors", "sheet_error_cell", "sheet_error_notes"]

_FIRST_ROWS = 5  # rows kept per column, to name the cell in a missing-value error


def count_sheet_errors(cells, kinds: np.ndarray, offset: int) -> dict:
    """``{"#DIV/0!": count, ..., "rows": {row: cell}}`` of one chunk's column (rows counted
    from ``offset``); empty when it holds none. Only missing cells are looked at."""
    found: dict = {}
    for i in np.flatnonzero(kinds == ABSENT).tolist():
        cell = cells[i].strip()
        if cell[:1] == "#" and cell.lower() in SHEET_ERRORS:
            cell = cell.upper()
            found[cell] = found.get(cell, 0) + 1
            rows = found.setdefault("rows", {})
            if len(rows) < _FIRST_ROWS:
                rows[offset + i] = cell
    return found


def add_sheet_errors(total: dict, chunk: dict) -> None:
    """Add one chunk's counts (from :func:`count_sheet_errors`) to a column's."""
    rows = total.setdefault("rows", {})
    for key, value in chunk.items():
        if key == "rows":
            for i, cell in value.items():
                if len(rows) < _FIRST_ROWS:
                    rows[i] = cell
        else:
            total[key] = total.get(key, 0) + value


def sheet_error_cell(col, i: int) -> str | None:
    """The error value in row ``i`` of a column, if that missing cell held one."""
    errors = getattr(col, "sheet_errors", None)
    return None if not errors else errors["rows"].get(i)


def sheet_error_notes(columns) -> list[str]:
    """One note per column holding spreadsheet error values: how many, which."""
    notes = []
    for col in columns:
        if col is None or not col.sheet_errors:
            continue
        counts = {k: v for k, v in col.sheet_errors.items() if k != "rows"}
        total = sum(counts.values())
        shown = ", ".join(f"{k} {v}x" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        notes.append(
            f"{col.name}: {total} cell(s) hold spreadsheet error values ({shown}), where a "
            f"formula failed: read as missing values"
        )
    return notes
