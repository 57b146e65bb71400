"""The first lines of a CSV file: an Excel ``sep=;`` line, and whether the first row is a
header (and the column names it gives)."""

from __future__ import annotations

import re

import numpy as np

from chainrule.data.numbers import ABSENT, NUMBER, TEXT, NumberFormat, _is_float, parse_cells
from chainrule.data.unicode_forms import tidy_text
from chainrule.errors import DataError

DELIMITERS = (",", ";", "\t", "|")


def excel_separator(line: str) -> str | None:
    """The delimiter an Excel ``sep=;`` first line declares (``"sep=;"`` quoted too), or None.

    Excel writes it so that its own regional setting does not decide the delimiter; it is
    not a header, so it is skipped and its delimiter used."""
    m = re.fullmatch(r'"?sep=(.)"?[,;\t|]*', line.rstrip("\r\n"), re.IGNORECASE)
    return m[1] if m and m[1] in DELIMITERS else None


def header_key(row) -> tuple[str, ...]:
    """A header row compared ignoring spaces around names, case and empty cells past the
    last name (`` Age , Name,,`` repeats ``age,name``)."""
    cells = [cell.strip().casefold() for cell in row]
    if cells:  # a second export's byte-order mark, pasted after the first (cat a.csv b.csv)
        cells[0] = cells[0].lstrip("\ufeff").strip()
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


def _is_header(first: list[str], rest: list[list[str]], fmt: NumberFormat) -> bool:
    """A first row is a header unless all its cells are numbers or missing, or it looks
    like the rows below it (text where they hold text, and never text over numbers)."""
    _, kinds = parse_cells(first, fmt)
    if not (kinds == TEXT).any():
        return False
    if not rest:
        return True
    sample = rest[:200]
    # the header repeated below (exports pasted together) is no evidence about the columns
    key = header_key(first)
    own = [row for row in sample if header_key(row) != key] or sample
    for j in np.flatnonzero(kinds == TEXT):
        _, below = parse_cells([row[j] for row in own if j < len(row)], fmt)
        if (below == NUMBER).sum() > 0 and (below == TEXT).sum() == 0:
            return True  # a name over numbers
    if _data_like(first, kinds, own, fmt):
        return False
    # every text cell sits over text: a header only if it is not repeated below, and its
    # names are unique or none of them is a value of its column below (a name given twice,
    # "notes,notes", is read as pandas reads it; "yes,yes" in a row of data recurs below)
    seen = {tuple(row) for row in sample}
    named = [cell for cell in first if cell.strip()]  # empty cells past the names: no name
    unique = len(set(named)) == len(named) or not any(
        any(j < len(row) and row[j] == cell for row in own) for j, cell in enumerate(first)
    )
    return unique and tuple(first) not in seen


def _data_like(first: list[str], kinds, sample: list[list[str]], fmt: NumberFormat) -> bool:
    """Whether a first row with numbers over numeric columns is a row of data: a number no
    one would name a column (``0.1257``, ``-3``), or text cells all found in the rows below
    (``blue``, ``no``). A header of years (``name,2019,2020``) stays a header."""
    over_numbers = []
    for j in np.flatnonzero(kinds == NUMBER):
        _, below = parse_cells([row[j] for row in sample if j < len(row)], fmt)
        if (below == NUMBER).any() and not (below == TEXT).any():
            over_numbers.append(int(j))
    if not over_numbers:
        return False
    if any(not first[j].strip().isdigit() for j in over_numbers):
        return True
    return all(
        any(j < len(row) and row[j].strip() == first[j].strip() for row in sample)
        for j in np.flatnonzero(kinds == TEXT)
    )


def _header_names(first: list[str]) -> tuple[list[str], dict[str, list[int]]]:
    """The names in a header row, and each name found more than once with its 0-based
    columns. Repeats are renamed as pandas' ``read_csv`` does (``notes``, ``notes.1``), so
    that an extra column written twice (two ``notes`` columns, two ``Unnamed``) does not
    stop the file; naming such a column (``target='notes'``) is an error, since it cannot
    say which one is meant."""
    names = [tidy_text(cell.strip()) for cell in first]  # as the cells (unicode_forms)
    if names:  # a byte-order mark decoded as text (a file read with encoding='utf-8')
        names[0] = names[0].lstrip("\ufeff").strip()
    for k, name in enumerate(names):
        if not name:  # settled by blank_columns once the cells are read
            names[k] = f"unnamed_{k + 1}"
    positions: dict[str, list[int]] = {}
    for k, name in enumerate(names):
        positions.setdefault(name, []).append(k)
    repeated = {name: ks for name, ks in positions.items() if len(ks) > 1}
    taken = set(names)
    for name, ks in repeated.items():
        for k in ks[1:]:
            i = 1
            while f"{name}.{i}" in taken:
                i += 1
            names[k] = f"{name}.{i}"
            taken.add(names[k])
    return names, repeated


def duplicate_note(names: list[str], repeated: dict[str, list[int]]) -> str:
    """The note for a header naming columns twice: how they are named now."""
    parts = [
        f"columns {and_list([str(k + 1) for k in ks])} are named {name!r}: read as "
        f"{and_list([repr(names[k]) for k in ks])}"
        for name, ks in repeated.items()
    ]
    return (
        f"the header repeats a name ({'; '.join(parts)}), as pandas names them; rename them "
        f"in the header if they are different things"
    )


def and_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _names(first, header: bool, inferred: bool, source: str, line: int):
    notes, repeated = [], {}
    if header:
        names, repeated = _header_names(first)
        if repeated:
            notes.append(duplicate_note(names, repeated))
        numeric = [n for n in names if not n[:1].isalpha() and _is_float(n)]
        if numeric:
            notes.append(f"the header has column names that are numbers ({', '.join(numeric[:5])})")
        return names, line, notes, repeated
    if inferred:
        notes.append(
            "the first row holds numbers, not column names: it is read as data and the "
            "columns are named col0, col1, ..."
        )
    return [f"col{k}" for k in range(len(first))], None, notes, repeated


def blank_columns(first: list[str], columns: list, names: list[str], source: str, line: int):
    """Settle the columns whose header cell is empty; the notes to show.

    Such a column is left for the schema to drop when it holds no value (Excel's trailing
    empty columns, ``a,b,label,,``), and named ``index`` when it is the first column and
    holds distinct row numbers (pandas' ``to_csv`` without ``index=False``); any other is an
    error: a column of values nobody named cannot be told apart from a shifted one.
    """
    notes = []
    for k, cell in enumerate(first):
        col = columns[k]
        if cell.strip() or col is None:
            continue
        present = col.kinds != ABSENT
        if not present.any():
            continue  # named unnamed_<column>, left out as empty by the schema
        if k == 0 and _counts_rows(col) and "index" not in names:
            names[0] = col.name = "index"
            notes.append(
                "column 1 has no name in the header and holds distinct row numbers (an index "
                "written by pandas' to_csv): it is named 'index' and left out as an identifier"
            )
        else:
            hint = " (pandas: to_csv(..., index=False))" if k == 0 else ""
            example = (col.examples or [col.text_of(int(np.argmax(present)))])[0]
            raise DataError(
                f"{source}: line {line}, column {k + 1}: the header has an empty column name "
                f"but the column holds values (e.g. {example!r}); name "
                f"it in the header, or delete the column{hint}"
            )
    return notes


def _counts_rows(col) -> bool:
    """Whether a column holds distinct whole numbers from 0 up: a DataFrame's row labels,
    in order (0, 1, 2, ...) or as a split or a shuffle left them (240, 17, 3, ...)."""
    values = col.values
    if not (col.kinds == NUMBER).all() or not col.integral or col.codes is not None:
        return False
    return float(values.min()) >= 0 and len(np.unique(values)) == len(values)
