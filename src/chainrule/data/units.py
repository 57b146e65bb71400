"""Numbers written with a unit sign: ``12%``, ``12.5 %``, ``$1,200.50``, ``€3,50``,
``1 200,50 €``, ``-$5``, ``(1,200.00)`` (an accounting negative), ``12.50 EUR``.

A column whose values all carry one sign (``%``, or one currency) is a column of numbers in
that unit: the sign is removed and the number is read as written, ``12%`` as **12**, not 0.12
(the number the file shows, in the unit its header names; features are standardised anyway,
and a target keeps the scale the user reads). The rest of each cell is read with the decimal
mark the column itself shows (``€3,50`` and ``1 200,50 €``: a decimal comma; ``$1,200.50``: a
point and thousands separators), or the file's where the column shows neither.

Nothing is guessed where a wrong guess would give a wrong number: a column that mixes signs
(``$`` and ``€``, or ``%`` and ``$``) or writes its numbers both ways (``3,50`` and ``3.50``)
is not read as numbers and is left out with a note saying why, as the loader leaves out
``comma decimals`` columns. Cells that are not numbers (``about $5``) follow the loader's rule
for text in a numeric column: a few are errors naming the cell, many make the column text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from chainrule.data.missing_words import NUMBER_MISSING
from chainrule.data.numbers import ABSENT, NUMBER, NumberFormat, _to_float, convention_evidence

__all__ = ["CURRENCIES", "Units", "parse_unit_cell", "read_known_units", "read_units"]

#: The signs understood: the percent sign and these currency symbols and ISO codes.
CURRENCIES = ("$", "€", "£", "¥", "₹", "USD", "EUR", "GBP", "CHF", "JPY", "INR")
_SIGN = "%|" + "|".join(re.escape(c) for c in CURRENCIES)
_CELL = re.compile(
    rf"(?P<open>\()?\s*(?P<minus1>[-+\u2212])?\s*(?P<pre>{_SIGN})?\s*(?P<minus2>[-+\u2212])?\s*"
    rf"(?P<number>\d[\d.,'\s\u00a0\u202f]*?)\s*(?P<post>{_SIGN})?\s*(?P<close>\))?",
    re.IGNORECASE,
)
#: Symbols that name one currency only, so a column may mix them with the ISO code
#: (``€3,50`` beside ``3,50 EUR``). ``$`` and ``¥`` stay apart from ``USD`` and ``JPY``: they
#: also write the Canadian or Australian dollar and the yuan.
SAME_CURRENCY = {"€": "EUR", "£": "GBP", "₹": "INR"}


def _currency(sign: str | None) -> str | None:
    return SAME_CURRENCY.get(sign, sign)


#: Share of a column's text cells that may stay unread (typos) for it to be read as numbers;
#: the schema's own rule then reports them (as it reports text in a numeric column).
STRAY = 0.02


@dataclass
class Units:
    """What :func:`read_units` found in one column.

    ``sign``: the unit (``"%"``, ``"$"``, ``"EUR"``, ...); ``decimal``/``grouped``: how its
    numbers are written; ``read``: whether the column was turned into numbers; ``bare``: cells
    without the sign (read in the same unit); ``reason``: why it was not read, or ``""``.
    """

    sign: str
    decimal: str = "."
    grouped: bool = True
    read: bool = False
    bare: int = 0
    reason: str = ""

    def to_dict(self) -> dict:
        return {"sign": self.sign, "decimal": self.decimal, "grouped": self.grouped}


def parse_unit_cell(cell: str) -> tuple[str | None, bool, str] | None:
    """``(sign or None, negative, number text)`` of a cell such as ``-$1,200.50``, or None
    when the cell is not one number with at most one sign."""
    m = _CELL.fullmatch(cell.strip())
    if m is None or bool(m["open"]) != bool(m["close"]):
        return None
    pre, post = m["pre"], m["post"]
    if pre and post or (pre == "%"):
        return None  # "$5 USD", "%5": not one sign written the usual way
    minus = [s for s in (m["minus1"], m["minus2"]) if s]
    if len(minus) > 1 or (m["open"] and minus):
        return None
    sign = pre or post
    sign = sign.upper() if sign and sign.isalpha() else sign
    negative = bool(m["open"]) or (bool(minus) and minus[0] != "+")
    return sign, negative, m["number"].strip()


def _format(texts: list[str], file_fmt: NumberFormat) -> NumberFormat | None:
    """The column's own decimal mark (None: it writes numbers both ways)."""
    comma, dot, _ = convention_evidence([[t] for t in texts])
    if comma and dot:
        return None
    if comma:
        return NumberFormat(",")
    if dot or file_fmt.decimal == ".":
        return NumberFormat(".", True)
    return NumberFormat(",")


def _value(text: str, negative: bool, fmt: NumberFormat) -> float:
    value = _to_float(text, fmt)
    if value is None or value != value:
        return np.nan  # not a number in this format: the cell stays text
    return -value if negative else value


def read_units(col, file_fmt: NumberFormat) -> Units | None:
    """Turn a column of numbers with one unit sign into numbers, in place.

    Returns ``None`` when the column is not such a column (most of its distinct text values
    carry no sign), else a :class:`Units` whose ``read`` says whether the column now holds
    numbers (``reason`` says why not). Cells left unread stay text.
    """
    if col.codes is None or not col.levels:
        return None
    parsed = [parse_unit_cell(level) for level in col.levels]
    signs = sorted({_currency(p[0]) for p in parsed if p is not None and p[0] is not None})
    signed = sum(1 for p in parsed if p is not None and p[0] is not None)
    numbers = sum(1 for p in parsed if p is not None)  # (1,200.00) is a number, unsigned
    # n.a., missing: missing cells (chainrule.data.missing_words), not cells to read
    marks = np.array([level.strip().lower() in NUMBER_MISSING for level in col.levels])
    if not signs or numbers < 0.9 * (len(col.levels) - marks.sum()) or signed < 0.5 * numbers:
        return None
    has_sign = np.array([p is not None and p[0] is not None for p in parsed], bool)
    if (col.kinds == NUMBER).sum() > has_sign[col.codes[col.codes >= 0]].sum():
        return None  # mostly plain numbers: a stray "$5" is the schema's typo to report
    if len(signs) > 1:
        kind = "signs" if "%" in signs else "currencies"
        written = sorted({p[0] for p in parsed if p is not None and p[0] is not None})
        shown = ", ".join(written)
        return Units(written[0], reason=f"mixes {kind} ({shown}); convert them to one unit")
    units = Units(_most_written([p and p[0] for p in parsed], col.codes))  # € or EUR
    fmt = _format([p[2] for p in parsed if p is not None], file_fmt)
    if fmt is None:
        units.reason = "writes its numbers with a decimal comma and with a decimal point"
        return units
    units.decimal, units.grouped = fmt.decimal, fmt.grouped
    values = np.array([np.nan if p is None else _value(p[2], p[1], fmt) for p in parsed])
    codes = col.codes
    text = codes >= 0
    cell_values = np.where(text, values[np.maximum(codes, 0)], np.nan)
    read = text & ~np.isnan(cell_values)
    left = int(text.sum() - read.sum() - (text & marks[np.maximum(codes, 0)]).sum())
    present = int((col.kinds != ABSENT).sum())
    if left > max(1, STRAY * present):
        units.reason = f"has {left} cells that are not numbers"
        return units
    bare = np.array([p is not None and p[0] is None for p in parsed], bool)
    bare_cells = (col.kinds == NUMBER) | (read & bare[np.maximum(codes, 0)])
    units.bare = int(bare_cells.sum())
    plain = np.where(col.kinds == NUMBER, col.values, cell_values)
    if units.sign == "%" and (bare_cells & (plain != 0)).any():
        # is a bare 0.5 half a percent or a fraction (50%)? neither guess is safe
        units.reason = "has cells without % (0.5: 0.5% or 50%?); write every cell with % or none"
        return units
    _store(col, read, cell_values)
    units.read = True
    return units


def _most_written(signs: list, codes: np.ndarray) -> str:
    """The spelling of the column's one currency that most cells use (``€`` or ``EUR``)."""
    counts = np.bincount(codes[codes >= 0], minlength=len(signs))
    totals: dict[str, int] = {}
    for sign, count in zip(signs, counts.tolist()):
        if sign is not None:
            totals[sign] = totals.get(sign, 0) + count
    return max(sorted(totals), key=totals.__getitem__)


def _store(col, read: np.ndarray, cell_values: np.ndarray) -> None:
    """Write the read cells into the column as numbers; the others stay text."""
    col.values[read] = cell_values[read]
    col.kinds[read] = NUMBER
    codes = np.where(read, -1, col.codes).astype(np.int32)
    col.codes = codes if (codes >= 0).any() else None
    number = col.kinds == NUMBER
    col.integral = bool(np.all(col.values[number] == np.round(col.values[number])))


def read_known_units(col, units: dict) -> list[tuple[int, str]]:
    """Read new rows of a column trained with ``units`` (:meth:`Units.to_dict`) in place;
    returns the ``(row, cell)`` pairs written with another sign, for the caller's error."""
    if col.codes is None:
        return []
    fmt = NumberFormat(units["decimal"], bool(units["grouped"]))
    values, other = np.full(len(col.levels), np.nan), np.zeros(len(col.levels), bool)
    for k, level in enumerate(col.levels):
        p = parse_unit_cell(level)
        if p is None:
            continue
        if p[0] is not None and _currency(p[0]) != _currency(units["sign"]):
            other[k] = True
            continue
        values[k] = _value(p[2], p[1], fmt)
        if np.isnan(values[k]) and "," in p[2] and "." in p[2]:
            # 2,000.50 for a model trained on 2.000,50: the last mark is the decimal one,
            # so only one reading exists (a lone mark, 2,000, keeps the training reading)
            decimal = "." if p[2].rfind(".") > p[2].rfind(",") else ","
            values[k] = _value(p[2], p[1], NumberFormat(decimal, decimal == "."))
    codes = col.codes
    text = codes >= 0
    cell_values = np.where(text, values[np.maximum(codes, 0)], np.nan)
    wrong = np.flatnonzero(text & other[np.maximum(codes, 0)])
    _store(col, text & ~np.isnan(cell_values), cell_values)
    return [(int(i), col.levels[codes[i]]) for i in wrong[:1]]
