"""Accounting negatives without a currency sign: ``(0.50)`` for -0.50, ``(1,200.00)`` for
-1200, as spreadsheets format negative amounts, and ``0.50-`` for -0.50, the trailing minus
of SAP's and other ledgers' exports.

A column of numbers whose text cells are (nearly) all such amounts is a column of numbers:
they are read as negatives in place and a note says so. Parentheses alone are not taken as a
minus sign where the column holds no plain number (``(1)``, ``(2)`` may be list labels).
Rows read later for a trained numeric column (to predict or evaluate) read them the same way.
Amounts with a currency or percent sign, ``($5.00)``, are :mod:`chainrule.data.units`' job.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.data.numbers import NUMBER, NumberFormat, parse_cells

__all__ = ["accounting_notes", "read_parentheses"]

_PARENTHESISED = re.compile(r"\(\s*([^()\s][^()]*?)\s*\)")
_TRAILING_MINUS = re.compile(r"(\d[\d.,'\u00a0\u202f ]*?)\s*-")

#: Share of a column's distinct text values that may be other words for it to be read.
OTHER_WORDS = 0.1


def read_parentheses(col, fmt: NumberFormat, force: bool = False) -> int:
    """Turn a column's ``(number)`` cells into negative numbers, in place; returns how many
    cells. Without ``force`` (a column being described for training), only where the column
    also holds plain numbers and its other text values are few."""
    if col.codes is None or not col.levels:
        return 0
    values = np.full(len(col.levels), np.nan)
    for k, level in enumerate(col.levels):
        m = _PARENTHESISED.fullmatch(level) or _TRAILING_MINUS.fullmatch(level.strip())
        if m is not None:
            number, kind = parse_cells([m[1]], fmt)
            if kind[0] == NUMBER and number[0] >= 0:
                values[k] = -float(number[0])
    found = ~np.isnan(values)
    if not found.any():
        return 0
    if not force:
        others = int((~found).sum())
        if not (col.kinds == NUMBER).any() or others > OTHER_WORDS * len(col.levels):
            return 0
    codes = col.codes
    text = codes >= 0
    read = text & found[np.maximum(codes, 0)]
    col.values[read] = values[codes[read]]
    col.kinds[read] = NUMBER
    codes = np.where(read, -1, codes).astype(np.int32)
    col.codes = codes if (codes >= 0).any() else None
    number = col.kinds == NUMBER
    col.integral = bool(np.all(col.values[number] == np.round(col.values[number])))
    return int(read.sum())


def accounting_notes(schema, target) -> list[str]:
    """One note per used column (or the target) whose ``(0.50)`` cells were read as -0.50."""
    notes = []
    for info in schema.columns:
        count = info.stats.get("accounting")
        if count and (info.used or info.name == target):
            notes.append(
                f"{info.name}: {count} cell(s) written as accounting negatives, (0.50) or "
                f"0.50-, read as negative numbers (-0.50)"
            )
    return notes
