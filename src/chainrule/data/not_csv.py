"""Text files that are not CSV tables, saved with a ``.csv`` name: HTML (Excel's "Web page"),
JSON, a space-aligned printout, and a CSV whose every line was quoted whole.

Read as CSV they failed far from the cause: JSON as ``malformed CSV: text after a closing
quote``, the others as one column named ``'x        z        label'`` or ``'x,z,label'``,
so that ``target='label'`` was "no column named 'label'". Each is now named, with the fix.
Binary files (workbooks, archives) are told apart by their bytes in
:mod:`chainrule.data.charset`.
"""

from __future__ import annotations

from chainrule.data.messages import Message, error
from chainrule.data.numbers import _is_float
from chainrule.errors import DataError

__all__ = ["check_one_column", "check_text_kind"]

_MARKUP = ("<html", "<!doctype", "<table", "<?xml", "<tr", "<body")


def check_text_kind(head: list[str], source: str) -> None:
    """Raise when the first lines are HTML/XML or JSON, not a table."""
    lines = [line.strip() for line in head if line.strip()]
    if not lines:
        return
    first = lines[0].lstrip("\ufeff")
    low = first.lower()
    if low.startswith("<") and any(tag in low for tag in _MARKUP):
        raise DataError(
            f"{source}: the file is HTML or XML (it starts {first[:30]!r}), not a CSV file; in "
            f"Excel use File > Save As > 'CSV UTF-8' (a sheet saved as a 'Web page' is HTML)"
        )
    if first.startswith(('{"', "[{", '["')) or first in ("[", "{"):
        # one object a line (JSON lines) or one document: the call that reads this file
        lines_form = first.startswith('{"') and first.endswith("}")
        raise DataError(
            f"{source}: the file is JSON (it starts {first[:30]!r}), not a CSV file; write it as "
            f"CSV, e.g. pandas.read_json(path, lines={lines_form}).to_csv('data.csv', "
            f"index=False)"
        )


def check_one_column(rows: list[list[str]], source: str) -> None:
    """Raise when a one-column table is really several columns: names and values separated
    by runs of spaces (a printed table), or whole lines quoted (``"x,z,label"``)."""
    if not rows or len(rows[0]) != 1:
        return
    header = rows[0][0].strip()
    cells = [row[0].strip() for row in rows[1:21] if row and row[0].strip()]
    if not cells:
        return
    names = header.split()
    numbers = any(_is_float(word) for cell in cells for word in cell.split())
    if len(names) >= 2 and numbers and _share(cells, lambda c: len(c.split()) == len(names)):
        raise error(
            Message(
                f"{source}: the file has one column whose name, {header[:40]!r}, is "
                f"{len(names)} names separated by spaces: a space-aligned table (a printout or "
                f"fixed-width text), not a CSV file; pass delimiter=' ' to read the columns "
                f"split at spaces, or save it as CSV",
                f"{source}: the file has one column whose name, {header[:40]!r}, is "
                f"{len(names)} names separated by spaces: a space-aligned table (a printout or "
                f"fixed-width text), not a CSV file; save it as CSV, e.g. "
                f"pandas.read_csv(path, sep=r'\\s+').to_csv('data.csv', index=False)",
            )
        )
    for delimiter in (",", ";", "\t", "|"):
        count = header.count(delimiter)
        if count and _share(cells, lambda c, d=delimiter, k=count: c.count(d) == k):
            raise DataError(
                f"{source}: every line is one quoted cell ({header[:40]!r}): the tool that "
                f"wrote the file quoted whole rows; remove the quote at the start and the end "
                f"of each line"
            )


def _share(cells: list[str], test) -> bool:
    """Whether at least 90 % of ``cells`` pass ``test``."""
    return sum(1 for c in cells if test(c)) >= 0.9 * len(cells)
