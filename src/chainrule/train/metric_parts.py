"""What the metric functions and the streaming metrics share: predictions and targets turned
into labels or float arrays, per-sample weights checked and spread over a sample's elements,
and the arithmetic of precision/recall/F1 and R²."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


def _array(x) -> np.ndarray:
    return np.asarray(x.array if isinstance(x, Tensor) else x)


def _squeeze_last(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim >= 2 and a.shape[-1] == 1 else a


def to_labels(y_pred, threshold: float = 0.5) -> np.ndarray:
    """Class labels (int64) from predictions: argmax of several columns, else ``> threshold``.

    Integer and bool predictions are already labels and are returned as int64.

    Example:
        >>> to_labels(np.array([[0.2, 0.7, 0.1], [0.9, 0.05, 0.05]])).tolist()
        [1, 0]
        >>> to_labels(np.array([[-1.5], [2.0]]), threshold=0.0).tolist()
        [0, 1]
    """
    a = _array(y_pred)
    if a.ndim >= 2 and a.shape[-1] > 1:
        return a.argmax(axis=-1)
    a = _squeeze_last(a)
    if a.dtype.kind == "f":
        return (a > threshold).astype(np.int64)
    return a.astype(np.int64, copy=False)


def _true_labels(y_true, y_pred: np.ndarray) -> np.ndarray:
    """Target labels as int64: one-hot or probability targets become their argmax."""
    t = _array(y_true)
    if t.ndim >= 2 and t.shape[-1] > 1:
        return t.argmax(axis=-1)
    t = _squeeze_last(t)
    if t.dtype.kind == "f":
        if not np.all(t == np.round(t)):
            raise ValueError(
                "classification metrics need class labels as targets, got non-integer floats; "
                "use a regression metric (mse, mae, r2) for continuous targets"
            )
        return t.astype(np.int64)
    return t.astype(np.int64, copy=False)


def _not_multilabel(t: np.ndarray) -> None:
    """Refuse to read 0/1 rows with several 1s (or none) as one class each: the argmax of a
    multi-label row is its first label, and accuracy or F1 computed so means nothing."""
    if t.dtype.kind in "fiub" and np.isin(t, (0, 1)).all() and (t.sum(axis=-1) != 1).any():
        raise ValueError(
            f"targets of shape {t.shape} have rows with several 1s (or none): multi-label "
            "targets, one yes/no per column, not one class per sample; with a BCE loss "
            "(BCEWithLogitsLoss) fit and evaluate score each label (accuracy per label, "
            "precision/recall/f1 of label 1 over all labels), and cr.metrics.binary_accuracy "
            "does too"
        )


def label_pair(y_true, y_pred, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Targets and thresholded outputs compared element by element: each output column its
    own yes/no (a BCE loss over several columns, multi-label), as Keras's binary accuracy."""
    a, t = _array(y_pred), _array(y_true)
    if a.ndim >= 1 and a.shape[-1:] == (1,) and t.shape == a.shape[:-1]:
        a = a[..., 0]  # one binary output per sample against (N,) targets
    if t.ndim >= 1 and t.shape[-1:] == (1,) and a.shape == t.shape[:-1]:
        t = t[..., 0]
    if t.shape != a.shape:
        raise ValueError(f"targets have shape {t.shape} but predictions have shape {a.shape}")
    pred = (a > threshold) if a.dtype.kind == "f" else a
    if t.dtype.kind == "f" and not np.isin(t, (0, 1)).all():
        raise ValueError("binary labels must be 0 or 1; got other target values")
    return t.astype(np.int64), pred.astype(np.int64)


def _pair(y_true, y_pred, threshold: float, multilabel=False) -> tuple[np.ndarray, np.ndarray]:
    a, t = _array(y_pred), _array(y_true)
    if multilabel and a.ndim >= 2 and a.shape[-1] > 1:
        return label_pair(t, a, threshold)
    if t.ndim >= 2 and t.shape[-1] > 1 and t.shape == a.shape:
        _not_multilabel(t)  # scores (N, C) against one-hot targets (N, C), or 0/1 per column
    if a.ndim >= 3 and t.dtype.kind in "iu" and t.shape == (a.shape[0], *a.shape[2:]):
        # a label per position (a tagger's (N, L), a segmentation's (N, H, W)) against scores
        # with the classes on axis 1, CrossEntropyLoss's (N, C, d1, ...) layout
        return t.astype(np.int64, copy=False), a.argmax(axis=1)
    pred = to_labels(y_pred, threshold)
    true = _true_labels(y_true, pred)
    if true.shape != pred.shape:
        raise ValueError(
            f"targets and predictions do not line up: {true.shape} labels vs {pred.shape} "
            f"predicted labels (from predictions of shape {_array(y_pred).shape})"
        )
    return true, pred


def _regression_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = _squeeze_last(_array(y_true)).astype(np.float64, copy=False)
    p = _squeeze_last(_array(y_pred)).astype(np.float64, copy=False)
    if t.shape != p.shape:
        raise ValueError(f"targets have shape {t.shape} but predictions have shape {p.shape}")
    return t, p


def _scores_from_counts(tp, fp, fn, which: str, zero_division: float) -> np.ndarray:
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        if which == "precision":
            num, den = tp, tp + fp
        elif which == "recall":
            num, den = tp, tp + fn
        else:  # F1 = 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall
            num, den = 2 * tp, 2 * tp + fp + fn
        return np.where(den > 0, num / np.where(den > 0, den, 1), zero_division)


def _r2_from(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    # A constant target has no variance to explain: 1 for a perfect fit, else 0 (scikit-learn).
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(
            ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res == 0, 1, 0)
        )
    return float(np.mean(scores))


def _weights(sample_weight, n: int) -> np.ndarray | None:
    """``sample_weight`` as ``n`` float64 weights >= 0 (``None`` stays ``None``)."""
    if sample_weight is None:
        return None
    w = np.asarray(_array(sample_weight), dtype=np.float64)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(
            f"sample_weight has shape {w.shape}; expected ({n},), one weight per sample"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must hold finite weights >= 0 (0 leaves a sample out)")
    return w


def _per_element(w: np.ndarray | None, a: np.ndarray) -> np.ndarray | None:
    """Each sample's weight repeated over its other elements (a sequence's labels, outputs),
    so a weighted mean over elements is the weighted mean over samples of their means."""
    if w is None:
        return None
    return np.broadcast_to(w.reshape((len(w),) + (1,) * (a.ndim - 1)), a.shape)


def _mean(values: np.ndarray, sample_weight) -> float:
    """The mean of ``values`` (N, ...), each sample weighted by its weight (0.0 when empty
    or every weight is 0)."""
    w = _weights(sample_weight, len(values)) if values.ndim else None
    if w is None:
        return float(np.mean(values)) if values.size else 0.0
    spread = _per_element(w, values)
    total = spread.sum()
    return float((values * spread).sum() / total) if total > 0 else 0.0
