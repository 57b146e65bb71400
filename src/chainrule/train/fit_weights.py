"""The weights of ``fit``'s rows: ``sample_weight=``, ``(X, y, w)`` data and Keras's
``class_weight=`` (a weight per class, multiplied into the training rows' weights)."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError
from chainrule.tensor import Tensor
from chainrule.train.batches import arrays_of
from chainrule.train.weighting import check_sample_weight

__all__ = ["class_weighted", "sample_weights", "weights_in"]


def weights_in(data, sample_weight):
    """``(X, y, w)`` arrays read as ``(X, y)`` with ``sample_weight=w``, as validation_data."""
    if not (isinstance(data, (tuple, list)) and len(data) == 3):
        return data, sample_weight
    if sample_weight is not None:
        raise ValueError(
            "fit: data (X, y, w) already holds sample weights; pass them once, in data or as "
            "sample_weight="
        )
    return tuple(data[:2]), data[2]


def sample_weights(run, data, validation_data):
    """The checked training weights and the weights of a ``(X, y, w)`` validation_data."""
    weights = val_weights = None
    if run.sample_weight is not None:
        arrays = arrays_of(data, "data")
        if arrays is None:
            raise TypeError(
                "fit: sample_weight goes with (X, y) arrays; a Dataset or DataLoader gives "
                "its weights as a third field of each sample, (x, y, w)"
            )
        weights = check_sample_weight(run.sample_weight, len(arrays[0]))
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 3:
        n = len(arrays_of(validation_data[:2], "validation_data")[0])
        val_weights = check_sample_weight(validation_data[2], n, "fit (validation_data)")
    return weights, val_weights


def _row_classes(y) -> np.ndarray:
    """Each row's class index: the label of ``(N,)``/``(N, 1)`` targets, the argmax of one-hot
    rows (as Keras reads them for ``class_weight``)."""
    t = np.asarray(y.array if isinstance(y, Tensor) else y)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim == 2 and np.isin(t, (0, 1)).all() and (t.sum(axis=1) == 1).all():
        return t.argmax(axis=1)
    if t.ndim != 1 or t.dtype.kind not in "fiub" or not np.array_equal(t, np.round(t)):
        raise DataError(
            f"fit: class_weight needs class labels as targets, (N,) whole numbers or one-hot "
            f"rows; got targets of shape {t.shape} and dtype {t.dtype}"
        )
    return t.astype(np.int64)


def class_weighted(class_weight, data, weights):
    """The training rows' weights times ``class_weight[class of the row]`` (1 for a class the
    dict leaves out, as in Keras); ``weights`` ``None`` counts as all ones."""
    arrays = arrays_of(data, "data")
    if arrays is None:
        raise TypeError(
            "fit: class_weight goes with (X, y) arrays; for a Dataset or DataLoader, give each "
            "sample its class's weight as a third field, (x, y, w)"
        )
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"fit: class_weight must be a dict {{class index: weight}}, e.g. {{0: 1.0, 1: 5.0}}; "
            f"got {type(class_weight).__name__}"
        )
    classes = _row_classes(arrays[1])
    present = set(np.unique(classes).tolist())
    factor = np.ones(len(classes))
    for key, value in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise TypeError(
                f"fit: class_weight's keys are class indices (0, 1, ...), as the targets hold "
                f"them; got the key {key!r} (encode text labels first)"
            )
        if int(key) not in present:
            raise ValueError(
                f"fit: class_weight names class {key!r}, which the training targets do not "
                f"hold (their classes: {sorted(present)})"
            )
        if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value < 0:
            raise ValueError(
                f"fit: class_weight[{key!r}] is {value!r}; weights must be finite numbers >= 0"
            )
        factor[classes == int(key)] = float(value)
    combined = factor if weights is None else weights * factor
    return check_sample_weight(combined, len(combined), "fit (class_weight)")
