"""Words that mark a missing number: ``n.a.``, ``missing``, ``nil``, ``.``, ``—``, German
Excel's ``#NV``, pandas' ``NaT``. Among a column's numbers (or times of day) they mean "no
value"; read as text they would leave the whole column out (or one-hot every number). They
are read as missing cells, as empty cells and :data:`~chainrule.data.numbers.MISSING`'s
``n/a``, ``NaN``, ``null`` are, but only in a column of numbers: in a column of words,
``missing`` can be an answer (``present``/``missing``) and stays a category.
"""

from __future__ import annotations

import numpy as np

from chainrule.data.reader import ABSENT, NUMBER, TEXT, Column

__all__ = ["NUMBER_MISSING", "missing_words_reason", "read_missing_words"]

#: Compared after stripping spaces, ignoring case.
NUMBER_MISSING = frozenset(
    {"n.a.", "n.a", "n. a.", "n/a.", "n.v.", "k.a.", "k.a", "k. a.", "#nv", "n.d.", "n.b."}
    | {"missing", "nil", "not available", "no data", "(blank)", "(null)", "(empty)"}
    | {".", "—", "–", "−"}
    # pandas' missing datetime, as str() writes it (to_csv writes an empty cell)
    | {"nat"}
)
#: More distinct numbers than this: a measurement with a few words, not codes (S, M, 38).
MANY_NUMBERS = 20


def read_missing_words(col: Column, *, always: bool = False) -> dict[str, int]:
    """Turn the cells of ``col`` that are missing-value words into missing cells, in place,
    when the column is one of numbers (``always``: a column trained as numbers); the words
    found, with their counts (empty when none, or when the column is one of words)."""
    if col.codes is None:
        return {}
    marks = [k for k, level in enumerate(col.levels) if level.strip().lower() in NUMBER_MISSING]
    if not marks:
        return {}
    text = col.kinds == TEXT
    hit = text & np.isin(col.codes, marks)
    if not always and not _numbers_with_words(col, int(text.sum() - hit.sum())):
        return {}
    counts = np.bincount(col.codes[hit], minlength=len(col.levels))
    found = {col.levels[k]: int(counts[k]) for k in marks if counts[k]}
    col.kinds[hit] = ABSENT  # in place: the table's block of kinds is this same array
    kept = [k for k in range(len(col.levels)) if k not in set(marks)]
    if not kept:
        col.codes, col.levels = None, []
        return found
    renumber = np.full(len(col.levels), -1, dtype=np.int32)
    renumber[kept] = np.arange(len(kept), dtype=np.int32)
    col.codes = np.where(col.codes >= 0, renumber[np.maximum(col.codes, 0)], -1).astype(np.int32)
    col.levels = [col.levels[k] for k in kept]
    return found


def _numbers_with_words(col: Column, other_text: int) -> bool:
    """Whether a column holds numbers beside the words: only missing-value words, or so
    many distinct numbers that the other words are a few remarks among measurements."""
    numbers = col.values[col.kinds == NUMBER]
    if not len(numbers):
        return False
    if other_text == 0:
        return True
    return len(numbers) >= other_text and len(np.unique(numbers)) > MANY_NUMBERS


def missing_words_reason(found: dict[str, int]) -> str:
    """``'n.a.' (5x), 'missing' (1x) read as missing``."""
    words = ", ".join(f"{word!r} ({count}x)" for word, count in found.items())
    return f"{words} read as missing"
