"""Features that are the target written another way (``label_num`` beside ``label``).

A copy of the target trains "successfully": 100 % on training and validation rows alike,
while the network learns nothing from the other columns, and new rows to predict never hold
the copy (it is known only with the answer). A note names each such column and the option
that leaves it out; the column is still used, since it may be a real, perfect predictor.
"""

from __future__ import annotations

import numpy as np

from chainrule.data.messages import braces, option, say

__all__ = ["target_copy_notes"]

#: Fewer rows than this say nothing: a 0/1 column matches a 0/1 target by chance.
MIN_ROWS = 20


def target_copy_notes(X: np.ndarray, y, task, columns: list[dict], target: str) -> list[str]:
    """One note for the raw feature columns whose values map one to one onto the classes
    (classification), or that equal the target up to a scale and an offset (regression)."""
    if y is None or len(y) < MIN_ROWS or not columns:
        return []
    y = np.asarray(y).reshape(-1)
    copies, start = [], 0
    for col in columns:
        width = len(col["categories"]) if col["kind"] == "categorical" else 1
        block = X[:, start : start + width]
        start += width
        if width > 1 or col["kind"] == "categorical":
            key = block.argmax(axis=1)  # one-hot: the category's index, no copy of the block
        elif np.isnan(block).any():
            continue
        else:
            key = block[:, 0]
        # a few thousand rows rule nearly every column out before the whole is looked at
        if _copies(key[:_PREFIX], y[:_PREFIX], task) and _copies(key, y, task):
            copies.append(col["name"])
    if not copies:
        return []
    how = (
        f"equals the target {target!r} up to a scale and an offset"
        if task == "regression"
        else f"has one value per class of the target {target!r}, each value always with its class"
    )
    text = braces(
        f"{', '.join(copies)}: {how} (a copy of the target written another way?); "
        f"the model would learn from it alone, and new rows to predict must hold it too; if "
        f"it is known only with the target, leave it out with "
    )
    return [say(text + "{o}", o=option("drop", copies))]


#: Rows looked at first.
_PREFIX = 2000


def _copies(key: np.ndarray, y: np.ndarray, task) -> bool:
    if task == "regression":
        key = key.astype(np.float64)
        if np.ptp(key) == 0 or np.ptp(y) == 0:
            return False
        return bool(abs(np.corrcoef(key, y.astype(np.float64))[0, 1]) > 1 - 1e-9)
    classes, y_index = np.unique(y, return_inverse=True)
    keys, key_index = np.unique(key, return_inverse=True)
    if len(keys) != len(classes):
        return False
    pairs = np.unique(key_index.reshape(-1) * len(classes) + y_index.reshape(-1))
    return len(pairs) == len(classes)
