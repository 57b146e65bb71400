"""Numbers that stand for "no value": sensor and survey exports write a missing reading as
``-9999`` or ``999``. Read as a number it is an outlier that drags the column's mean and
spread, and the model trains "successfully" on it; so a note names it."""

from __future__ import annotations

import numpy as np

from chainrule.data.numbers import NUMBER

#: Magnitudes used as missing-value codes (with either sign).
CODES = (99.0, 999.0, 9999.0, 99999.0, 999999.0)


def sentinel_note(col) -> str | None:
    """A note naming a code such as ``-9999`` that lies far outside a numeric column's other
    values (beyond their range again on either side), or None."""
    values = np.asarray(col.values[col.kinds == NUMBER], dtype=np.float64)
    if len(values) < 10:
        return None
    for code in CODES:
        for value in (-code, code):
            hits = values == value
            count = int(hits.sum())
            if not count or count == len(values):
                continue
            rest = values[~hits]
            low, high = float(rest.min()), float(rest.max())
            span = max(high - low, 1e-12)
            if low - span <= value <= high + span:
                continue
            return (
                f"{col.name}: {value:g} in {count} row(s) lies far outside its other values "
                f"({low:g} to {high:g}); if it marks a missing value, write those cells empty"
            )
    return None
