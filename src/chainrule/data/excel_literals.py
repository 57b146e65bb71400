"""Cells written as Excel text formulas, ``="00123"``: what web shops, banks and CRMs export
so that Excel keeps a code's leading zeros (or a long number's digits). Excel shows the text
inside; so does chainrule, for training and for new rows alike.

Before, ``="00123"`` was a category of its own, never equal to the ``00123`` of a file
written otherwise, and ``="12.50"`` was text, not a number: a column of them was left out
as an identifier.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.data.numbers import NUMBER, NumberFormat, parse_cells

_LITERAL = re.compile(r'="(.*)"', re.DOTALL)
_PADDED = re.compile(r"[+-]?0\d*[1-9]\d*")  # 00123: a code, whose zeros a number would lose


def unwrap_excel_literals(col, fmt: NumberFormat) -> int:
    """Read a column's ``="..."`` cells as what they hold, in place: numbers as numbers (a
    zero-padded one marks the column as codes, as a plain ``00123`` does), anything else as
    its text. Returns how many distinct values were unwrapped."""
    if col.codes is None or not any(level.startswith('="') for level in col.levels):
        return 0
    inner = [m[1].strip() if (m := _LITERAL.fullmatch(level)) else None for level in col.levels]
    texts = [level if text is None else text for level, text in zip(col.levels, inner)]
    values, kinds = parse_cells([text if text is not None else "x" for text in inner], fmt)
    number = (kinds == NUMBER) & np.array([text is not None for text in inner])
    if col.padded is None:
        col.padded = next((t for t, n in zip(texts, number) if n and _PADDED.fullmatch(t)), None)
    levels: list[str] = []
    index: dict[str, int] = {}
    remap = np.full(len(texts), -1, dtype=np.int64)
    for k, text in enumerate(texts):
        if not number[k]:  # ="abc" and abc: one level
            remap[k] = index.setdefault(text, len(levels))
            if remap[k] == len(levels):
                levels.append(text)
    codes = col.codes
    text_cells = codes >= 0
    safe = np.maximum(codes, 0)
    to_number = text_cells & number[safe]
    col.values[to_number] = values[codes[to_number]]
    col.kinds[to_number] = NUMBER
    new_codes = np.where(text_cells, remap[safe], -1).astype(np.int32)
    col.codes = new_codes if (new_codes >= 0).any() else None
    col.levels = levels
    present = col.kinds == NUMBER
    col.integral = bool(np.all(col.values[present] == np.round(col.values[present])))
    return int(sum(t is not None for t in inner))
