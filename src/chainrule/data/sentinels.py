"""Numbers that stand for "no value": sensor and survey exports write a missing reading as
``-9999`` or ``999``. Read as a number it is an outlier that drags the column's mean and
spread, and the model trains "successfully" on it; so a note names it."""

from __future__ import annotations

import numpy as np

from chainrule.data.encoding import _width
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


#: At prediction, a code this many training standard deviations from the training mean is
#: far outside what the model saw.
FAR = 6.0


def new_rows_sentinel_notes(pre, columns: dict) -> list[str]:
    """Notes for codes such as ``-9999`` in new rows (to predict or evaluate) of the numeric
    columns of a trained model's preprocessor: far from the training rows' mean (in their
    standard deviations), or, without training statistics, far outside the file's other
    values. The model would predict from the code as if it were a reading."""
    notes = []
    offset = 0
    for spec in pre.columns or ():
        k, offset = offset, offset + _width(spec)  # a boolean has categories, one feature
        col = columns.get(spec["name"])
        if spec["kind"] != "numeric" or col is None:
            continue
        values = np.asarray(col.values[col.kinds == NUMBER], dtype=np.float64)
        note = None
        if pre.mean is not None and pre.std is not None and len(pre.mean) > k:
            note = _far_from_training(spec["name"], values, pre.mean[k], pre.std[k])
            note = note or _shifted(spec["name"], values, pre.mean[k], pre.std[k])
        note = note or sentinel_note(col)
        if note is not None:
            notes.append(note)
    return notes


def _far_from_training(name: str, values: np.ndarray, mean: float, std: float) -> str | None:
    for code in CODES:
        for value in (-code, code):
            count = int((values == value).sum())
            if count and abs(value - mean) > FAR * max(std, 1e-12):
                return (
                    f"{name}: {value:g} in {count} row(s) lies far outside the training values "
                    f"(mean {mean:.4g}, standard deviation {std:.4g}); if it marks a missing "
                    f"value, write those cells empty"
                )
    return None


def new_target_note(pre, name: str, y) -> str | None:
    """The same note for a regression target read to evaluate: ``0.5`` for the ``50%`` of
    training, or prices in cents, made every metric huge with no word about why."""
    if pre.task != "regression" or pre.target_mean is None or y is None:
        return None
    values = np.asarray(y, dtype=np.float64)
    return _shifted(name, values, pre.target_mean, pre.target_std, "target values")


def _shifted(name: str, values, mean: float, std: float, what="values to predict from"):
    """A note when the rows' typical value (their median) lies far from every training value:
    grams for the kilograms of training, cents for dollars, another column under the name.
    The model extrapolates there, and its predictions mean nothing, yet nothing failed."""
    if not len(values):
        return None
    median = float(np.median(values))
    if abs(median - mean) <= FAR * max(std, 1e-12):
        return None
    how = f"median {median:.4g}" if len(values) > 1 else f"{median:.4g}"
    return (
        f"{name}: the {what} ({how}) lie far from the training values (mean "
        f"{mean:.4g}, standard deviation {std:.4g}); is the column in another unit, or another "
        f"column under this name? The model never saw such values"
    )
