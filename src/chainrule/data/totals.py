"""A totals row at the bottom of a spreadsheet export (``Total,3120,60234.50``): a sum, not
an example. Trained on, it is an outlier the model fits "successfully"; predicted, it gets a
prediction nobody wants. So it is an error naming its line and the fix."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError

__all__ = ["check_totals"]

#: Words that label a summary row, in the languages spreadsheets are exported in.
TOTAL_WORDS = frozenset(
    (
        "total",
        "totals",
        "grand total",
        "subtotal",
        "sub-total",
        "sum",
        "summe",
        "gesamt",
        "gesamtsumme",
        "insgesamt",
        "total général",
        "totale",
        "totaal",
        "totalt",
        "suma",
        "somme",
    )
)
#: How many rows at the bottom are looked at (a subtotal, a total and a grand total).
LAST_ROWS = 3


def check_totals(table) -> None:
    """Raise a DataError when one of the last rows is labelled as a total (``Total``,
    ``Grand total:``, ``Summe``) in a column where that label appears nowhere else, and holds
    a number at least half its column's sum above (so ``total`` as a value stays data)."""
    n = len(table.lines)
    if n < 2:
        return
    first = max(0, n - LAST_ROWS)
    for col in table.columns:
        if col is None or col.codes is None:
            continue
        tail = col.codes[first:]
        for i, code in enumerate(tail.tolist()):
            if code < 0 or _label(col.levels[code]) not in TOTAL_WORDS:
                continue
            if int(np.count_nonzero(col.codes == code)) != int(np.count_nonzero(tail == code)):
                continue  # the word is a category of other rows too
            row = first + i
            if not _sum_like(table, row):
                continue  # "total" as a value (a total loss), not a row of sums
            raise DataError(
                f"{table.source}: line {int(table.lines[row])}: looks like a totals row "
                f"({col.levels[code]!r} in column {col.position + 1} ({col.name!r})), not a row "
                f"of data; delete it (and any other summary rows) from the file"
            )


def _label(cell: str) -> str:
    return " ".join(cell.casefold().rstrip(":").split())


def _sum_like(table, row: int) -> bool:
    """Whether some numeric cell of ``row`` is at least half the sum of its column's other
    values (a sum of them, not one more reading)."""
    from chainrule.data.numbers import NUMBER

    for col in table.columns:
        if col is None or col.kinds[row] != NUMBER:
            continue
        others = col.kinds == NUMBER
        others[row] = False
        total = float(col.values[others].astype(np.float64).sum()) if others.sum() >= 2 else 0.0
        if total > 0 and float(col.values[row]) >= 0.5 * total:
            return True
    return False
