"""Whole numbers that name things, not amounts: ``store_id``, ``region_code``, ``category``.

A feature of whole numbers under such a name (``store_id`` 1..7, repeated over the rows) is
a code: store 6 is not three times store 2. Read as an amount, the network has to carve each
store out of a line and trains "successfully" to a worse model without a word. Read as
categories, each code gets its own input. Too many distinct codes (``customer_id`` of
700 customers in 1,000 rows) are an identifier, left out like a unique id.
"""

from __future__ import annotations

import re

from chainrule.data.messages import braces, option, say

__all__ = ["CODE_FEATURES", "code_feature_notes", "code_role"]

#: At most this many distinct codes are one-hot encoded; more make an identifier.
CODE_FEATURES = 50

# blood_type, region_code, category, StoreType, customer_group; not grade, level, rating,
# stage or tier, whose numbers are ordered and read well as amounts, nor n_types (a count)
_CODE_WORDS = frozenset(
    "class category kategorie type kind code group gruppe cluster segment".split()
)
_COUNT_WORDS = frozenset("n num number nb count no".split())
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def named_like_code(name: str) -> bool:
    """``region_code``, ``category``, ``StoreType``: True; ``grade``, ``n_types``: False."""
    words = [w.lower() for w in _WORD.findall(name)]
    if not words or words[0] in _COUNT_WORDS:
        return False
    last = words[-1]
    return last in _CODE_WORDS or (last.endswith("s") and last[:-1] in _CODE_WORDS)


def code_role(name: str, id_name: bool, distinct: int, rows: int):
    """``(role, reason)`` for a column of whole numbers named like an id or a code whose
    values repeat, or None (an amount, or a unique id told elsewhere)."""
    if not (id_name or named_like_code(name)) or distinct < 2:
        return None
    what = "an id" if id_name else "a code"
    if distinct > CODE_FEATURES or distinct > rows / 2:
        # customer_id in a file of purchases: too many to learn each, and no amount either;
        # 'type' with 300 values, or a code per two rows: no guess, left as numbers
        return (
            ("identifier", f"named like an id ({distinct} distinct whole numbers)")
            if id_name
            else None
        )
    return "categorical", f"whole numbers named like {what}, read as categories"


def code_feature_notes(schema) -> list[str]:
    """One note naming the features read as categories because of their names, with the
    option that reads them as amounts."""
    names = [
        c.name
        for c in schema.features
        if c.role == "categorical" and c.reason.startswith("whole numbers named like")
    ]
    if not names:
        return []
    text = braces(
        f"{', '.join(names)}: whole numbers named like ids or codes, read as categories "
        f"(one input per value, not amounts); if they are amounts, pass "
    )
    return [say(text + "{o}", o=option("numeric", names))]
