"""Metrics: how good a model's predictions are, as plain NumPy functions and streaming objects.

Two ways to use them:

* **Functions** (``accuracy``, ``precision``, ``confusion_matrix``, ``mse``, ``r2``, ...) take
  ``(y_true, y_pred)`` arrays (or tensors) and return a number, as scikit-learn's do.
* **Metric objects** (``Accuracy()``, ``F1()``, ``R2Score()``, ...) are updated batch by batch
  and give the exact value for everything seen so far; :func:`chainrule.fit` uses them to show
  running metrics during an epoch. :func:`get` makes one from a name such as ``"accuracy"``.

Predictions may be class labels or raw model outputs. Raw outputs become labels the way the
training loop needs: several columns → the index of the largest (``argmax``); one column (or a
1-D array) of floats → ``1`` where the value is above ``threshold`` (``0.5`` for probabilities,
``0.0`` for logits), else ``0``.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from chainrule.train.metric_parts import (  # noqa: F401 - _array etc. re-exported
    _array,
    _mean,
    _pair,
    _per_element,
    _r2_from,
    _regression_pair,
    _scores_from_counts,
    _squeeze_last,
    _true_labels,
    _weights,
    label_pair,
    to_labels,
)

__all__ = [
    "KNOWN",
    "Accuracy",
    "BinaryAccuracy",
    "F1",
    "FunctionMetric",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "R2Score",
    "Recall",
    "accuracy",
    "binary_accuracy",
    "confusion_matrix",
    "f1",
    "f1_score",
    "get",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "precision",
    "r2",
    "r2_score",
    "recall",
    "to_labels",
    "update_metric",
]


# ---- classification functions ------------------------------------------------------------
def accuracy(y_true, y_pred, threshold: float = 0.5, sample_weight=None) -> float:
    """The fraction of predictions whose label equals the target label (with
    ``sample_weight``, the weighted fraction Σ wᵢ·[ŷᵢ = yᵢ] / Σ wᵢ, as scikit-learn's
    ``accuracy_score``).

    Args:
        y_true: class labels ``(N,)`` (or one-hot ``(N, C)``).
        y_pred: labels ``(N,)``, scores ``(N, C)`` (argmax is taken), or one binary score per
            sample ``(N,)``/``(N, 1)`` compared with ``threshold``.
        threshold: ``0.5`` for probabilities, ``0.0`` for logits.

    Example:
        >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
        0.75
    """
    true, pred = _pair(y_true, y_pred, threshold)
    return _mean(true == pred, sample_weight)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5, sample_weight=None) -> float:
    """Accuracy of one binary score per sample: ``y_pred > threshold`` against ``y_true``.

    Example:
        >>> binary_accuracy([1, 0, 1], [0.9, 0.6, 0.2])
        0.3333333333333333
    """
    true, pred = label_pair(y_true, y_pred, threshold)
    return _mean(true == pred, sample_weight)


def confusion_matrix(
    y_true, y_pred, labels=None, num_classes: int | None = None, threshold: float = 0.5
) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples with true label ``labels[i]`` predicted as ``labels[j]``.

    Args:
        labels: the classes, in row/column order; default: every label seen in either array,
            sorted (as scikit-learn).
        num_classes: shorthand for ``labels=range(num_classes)`` (a row for every class, even
            one absent from both arrays).

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2]).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    true, pred = _pair(y_true, y_pred, threshold)
    if labels is None:
        labels = np.arange(num_classes) if num_classes is not None else np.union1d(true, pred)
    labels = np.asarray(labels)
    k = len(labels)
    keep = np.isin(true, labels) & np.isin(pred, labels)
    order = np.argsort(labels, kind="stable")
    rows = order[np.searchsorted(labels, true[keep], sorter=order)]
    cols = order[np.searchsorted(labels, pred[keep], sorter=order)]
    return np.bincount(rows * k + cols, minlength=k * k).reshape(k, k).astype(np.int64)


def _prf(which, y_true, y_pred, average, pos_label, labels, zero_division, threshold):
    true, pred = _pair(y_true, y_pred, threshold)
    if average == "binary":
        present = np.union1d(true, pred)
        if present.size > 2 or not np.isin(present, [0, 1, pos_label]).all():
            raise ValueError(
                f"average='binary' needs two classes, got labels {present.tolist()}; "
                f"use average='macro' or 'micro' for multiclass targets"
            )
        tp = np.sum((pred == pos_label) & (true == pos_label))
        fp = np.sum((pred == pos_label) & (true != pos_label))
        fn = np.sum((pred != pos_label) & (true == pos_label))
        return float(_scores_from_counts(tp, fp, fn, which, zero_division))
    cm = confusion_matrix(true, pred, labels=labels)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    if average == "micro":
        return float(_scores_from_counts(tp.sum(), fp.sum(), fn.sum(), which, zero_division))
    per_class = _scores_from_counts(tp, fp, fn, which, zero_division)
    if average is None:
        return per_class
    if average == "macro":
        return float(per_class.mean()) if per_class.size else float(zero_division)
    raise ValueError(f"average must be 'binary', 'macro', 'micro' or None, got {average!r}")


def precision(
    y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0, threshold=0.5
):
    """Of the samples predicted as a class, the fraction that really are: TP / (TP + FP).

    Args:
        average: ``"binary"`` (score of ``pos_label``), ``"macro"`` (unweighted mean over
            classes), ``"micro"`` (from the summed counts) or ``None`` (one score per class).
        zero_division: the value when nothing was predicted as the class (scikit-learn's
            default, without its warning).

    Example:
        >>> precision([0, 1, 1, 0], [1, 1, 1, 0])
        0.6666666666666666
    """
    return _prf("precision", y_true, y_pred, average, pos_label, labels, zero_division, threshold)


def recall(
    y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0, threshold=0.5
):
    """Of the samples of a class, the fraction predicted as that class: TP / (TP + FN).

    Arguments as :func:`precision`.

    Example:
        >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    return _prf("recall", y_true, y_pred, average, pos_label, labels, zero_division, threshold)


def f1(
    y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0, threshold=0.5
):
    """The harmonic mean of precision and recall: 2·TP / (2·TP + FP + FN).

    Arguments as :func:`precision`.

    Example:
        >>> f1([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    return _prf("f1", y_true, y_pred, average, pos_label, labels, zero_division, threshold)


f1_score = f1


# ---- regression functions ----------------------------------------------------------------
def mse(y_true, y_pred, sample_weight=None) -> float:
    """Mean squared error, averaged over every element (each sample's elements weighted by
    its ``sample_weight``, as scikit-learn's ``mean_squared_error``).

    Example:
        >>> mse([1.0, 2.0], [1.5, 2.0])
        0.125
    """
    t, p = _regression_pair(y_true, y_pred)
    return _mean((t - p) ** 2, sample_weight)


def mae(y_true, y_pred, sample_weight=None) -> float:
    """Mean absolute error, averaged over every element (weighted as :func:`mse`).

    Example:
        >>> mae([1.0, 2.0], [1.5, 2.0])
        0.25
    """
    t, p = _regression_pair(y_true, y_pred)
    return _mean(np.abs(t - p), sample_weight)


def r2(y_true, y_pred, sample_weight=None) -> float:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over outputs
    (with ``sample_weight``: Σ wᵢ(yᵢ − ŷᵢ)² / Σ wᵢ(yᵢ − ȳ_w)², ȳ_w the weighted mean, as
    scikit-learn's ``r2_score``).

    Example:
        >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
        0.5
    """
    t, p = _regression_pair(y_true, y_pred)
    t2, p2 = t.reshape(len(t), -1), p.reshape(len(p), -1)
    if len(t2) < 2:  # no spread to explain: NaN and a warning, as scikit-learn's r2_score
        warnings.warn("R^2 score is not well-defined with less than two samples.", stacklevel=2)
        return float("nan")
    w = _weights(sample_weight, len(t2))
    w = np.ones((len(t2), 1)) if w is None else w[:, None]
    mean = (w * t2).sum(axis=0) / max(w.sum(), 1e-300)
    ss_res = (w * (t2 - p2) ** 2).sum(axis=0)
    ss_tot = (w * (t2 - mean) ** 2).sum(axis=0)
    return _r2_from(ss_res, ss_tot)


mean_squared_error, mean_absolute_error, r2_score = mse, mae, r2


# ---- streaming metrics ---------------------------------------------------------------------
class Metric:
    """A metric updated batch by batch; ``result()`` is exact for all batches seen so far.

    Subclasses define ``reset()``, ``update(y_true, y_pred, sample_weight=None)`` and
    ``result()``. ``name`` is the key it gets in the training logs (``"accuracy"``, and
    ``"val_accuracy"`` for validation). With ``sample_weight`` (one weight >= 0 per sample of
    the batch) the built-in metrics give the weighted value scikit-learn's functions give
    with ``sample_weight=`` over all the batches seen.
    """

    name = "metric"
    multilabel = False  # set by fit/evaluate for a BCE loss: several columns, one yes/no each

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def clone(self) -> Metric:
        """A fresh metric with the same settings ; fit keeps one per phase."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.reset()
        return new

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Accuracy(Metric):
    """Running :func:`accuracy`. ``threshold`` applies to one-column float predictions."""

    name = "accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None):
        self.threshold = threshold
        super().__init__(name)

    def reset(self):
        self.correct = 0
        self.total = 0

    def update(self, y_true, y_pred, sample_weight=None):
        true, pred = _pair(y_true, y_pred, self.threshold, self.multilabel)
        self._add(true == pred, sample_weight)

    def _add(self, hits: np.ndarray, sample_weight) -> None:
        w = _per_element(_weights(sample_weight, len(hits)) if hits.ndim else None, hits)
        if w is None:
            self.correct += int(np.count_nonzero(hits))
            self.total += hits.size
        else:  # floats from here on: weighted counts
            self.correct += float(w[hits].sum())
            self.total += float(w.sum())

    def result(self):
        return self.correct / self.total if self.total else 0.0


class BinaryAccuracy(Accuracy):
    """Running :func:`binary_accuracy`."""

    name = "binary_accuracy"

    def update(self, y_true, y_pred, sample_weight=None):
        true, pred = label_pair(y_true, y_pred, self.threshold)
        self._add(true == pred, sample_weight)


class _ConfusionMetric(Metric):
    """Precision/recall/F1 from a confusion matrix that grows as new labels appear.

    ``average="auto"`` scores class 1 when predictions are one column (binary) and averages
    over classes (``"macro"``) when they have several columns.
    """

    which = "precision"

    def __init__(
        self, average: str = "auto", threshold: float = 0.5, pos_label: int = 1, name=None
    ):
        if average not in ("auto", "binary", "macro", "micro"):
            raise ValueError(
                f"average must be 'auto', 'binary', 'macro' or 'micro', got {average!r}"
            )
        self.average = average
        self.threshold = threshold
        self.pos_label = pos_label
        super().__init__(name or self.which)

    def reset(self):
        self.cm = np.zeros((0, 0), dtype=np.int64)
        self._multiclass = False

    def update(self, y_true, y_pred, sample_weight=None):
        pred_raw = _array(y_pred)
        columns = pred_raw.ndim >= 2 and pred_raw.shape[-1] > 1
        self._multiclass |= columns and not self.multilabel
        if columns and self.multilabel and self.average == "macro":
            use = f"use {self.which} (label 1 over all labels)"
            raise ValueError(f"{self.name}: no macro average of multi-label outputs; {use}")
        true, pred = _pair(y_true, pred_raw, self.threshold, self.multilabel)
        if true.size and min(true.min(), pred.min()) < 0:
            raise ValueError(f"{self.name} needs non-negative class labels")
        k = max(len(self.cm), int(max(true.max(), pred.max())) + 1 if true.size else 0)
        w = _per_element(_weights(sample_weight, len(true)) if true.ndim else None, true)
        if k > len(self.cm) or (w is not None and self.cm.dtype.kind == "i"):
            # weighted counts are floats; a new label grows the matrix
            grown = np.zeros((k, k), dtype=np.int64 if w is None else np.float64)
            grown[: len(self.cm), : len(self.cm)] = self.cm
            self.cm = grown
        flat = (true * k + pred).ravel()
        counts = np.bincount(flat, None if w is None else w.ravel(), minlength=k * k)
        self.cm += counts.reshape(k, k).astype(self.cm.dtype, copy=False)

    def result(self):
        average = self.average
        if average == "auto":
            average = "macro" if self._multiclass else "binary"
        cm = self.cm
        tp = np.diag(cm)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        if average == "binary":
            c = self.pos_label
            if c >= len(cm):
                return 0.0
            return float(_scores_from_counts(tp[c], fp[c], fn[c], self.which, 0.0))
        if average == "micro":
            return float(_scores_from_counts(tp.sum(), fp.sum(), fn.sum(), self.which, 0.0))
        seen = (cm.sum(axis=0) + cm.sum(axis=1)) > 0  # classes in targets or predictions
        scores = _scores_from_counts(tp[seen], fp[seen], fn[seen], self.which, 0.0)
        return float(scores.mean()) if scores.size else 0.0


class Precision(_ConfusionMetric):
    """Running :func:`precision`."""

    which = "precision"


class Recall(_ConfusionMetric):
    """Running :func:`recall`."""

    which = "recall"


class F1(_ConfusionMetric):
    """Running :func:`f1`."""

    which = "f1"


class MeanSquaredError(Metric):
    """Running :func:`mse`."""

    name = "mse"

    def reset(self):
        self.total = 0.0
        self.count = 0

    def _error(self, t, p):
        return (t - p) ** 2

    def update(self, y_true, y_pred, sample_weight=None):
        t, p = _regression_pair(y_true, y_pred)
        w = _per_element(_weights(sample_weight, len(t)) if t.ndim else None, t)
        error = self._error(t, p)
        self.total += float(error.sum() if w is None else (w * error).sum())
        self.count += t.size if w is None else float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanAbsoluteError(MeanSquaredError):
    """Running :func:`mae`."""

    name = "mae"

    def _error(self, t, p):
        return np.abs(t - p)


class R2Score(Metric):
    """Running :func:`r2`: per-output mean and spread merged batch by batch (Chan et al.)."""

    name = "r2"

    def reset(self):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0  # Σ(y − ȳ)² so far, per output
        self.ss_res = 0.0

    def update(self, y_true, y_pred, sample_weight=None):
        t, p = _regression_pair(y_true, y_pred)
        if t.size == 0:
            return
        t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
        w = _weights(sample_weight, len(t))
        w = np.ones((len(t), 1)) if w is None else w[:, None]
        n_b = float(w.sum())  # the weight of the batch (its size without weights)
        if n_b == 0:
            return
        mean_b = (w * t).sum(axis=0) / n_b
        m2_b = (w * (t - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.n * n_b / n)
        self.ss_res = self.ss_res + (w * (t - p) ** 2).sum(axis=0)
        self.n = n

    def result(self):
        if self.n == 0:
            return 0.0
        return _r2_from(np.asarray(self.ss_res), np.asarray(self.m2))


class FunctionMetric(Metric):
    """Wraps any ``fn(y_true, y_pred) -> float``: keeps every batch and calls ``fn`` on all.

    With sample weights, ``fn`` is called with ``sample_weight=`` when it takes that argument
    (scikit-learn's metrics do); otherwise :func:`update_metric` warns that it is unweighted.
    """

    def __init__(self, fn, name: str | None = None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def reset(self):
        self.trues, self.preds, self.weights = [], [], []

    def update(self, y_true, y_pred, sample_weight=None):
        self.trues.append(np.array(_array(y_true)))
        self.preds.append(np.array(_array(y_pred)))
        if sample_weight is not None and takes_weights(self.fn):
            self.weights.append(_weights(sample_weight, len(self.trues[-1])))

    def result(self):
        if not self.trues:
            return 0.0
        args = (np.concatenate(self.trues), np.concatenate(self.preds))
        if self.weights and len(self.weights) == len(self.trues):
            return float(self.fn(*args, sample_weight=np.concatenate(self.weights)))
        return float(self.fn(*args))


def takes_weights(fn) -> bool:
    """Whether ``fn`` (a function, or a metric's ``update``) accepts ``sample_weight=``."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "sample_weight" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def update_metric(metric: Metric, y_true, y_pred, sample_weight=None) -> None:
    """``metric.update`` with the batch's weights where the metric can use them.

    A metric that cannot (its ``update``, or a wrapped function, takes no ``sample_weight``)
    is updated unweighted, with a warning naming it, once per metric object: its number then
    differs from the weighted loss and the built-in metrics, and the user should know.
    """
    if sample_weight is None:
        metric.update(y_true, y_pred)
        return
    weighted = takes_weights(metric.update)
    if isinstance(metric, FunctionMetric):
        weighted = takes_weights(metric.fn)
    if not weighted and not getattr(metric, "_warned_unweighted", False):
        metric._warned_unweighted = True
        warnings.warn(
            f"metric {metric.name!r} takes no sample_weight, so it is computed unweighted "
            f"while the loss is weighted; give its function (or update method) a "
            f"sample_weight=None argument to weight it",
            UserWarning,
            stacklevel=3,
        )
    if takes_weights(metric.update):
        metric.update(y_true, y_pred, sample_weight=sample_weight)
    else:
        metric.update(y_true, y_pred)


def _registry():
    return {
        "accuracy": lambda t: Accuracy(threshold=t),
        "binary_accuracy": lambda t: BinaryAccuracy(threshold=t),
        "precision": lambda t: Precision(threshold=t),
        "recall": lambda t: Recall(threshold=t),
        "f1": lambda t: F1(threshold=t),
        "macro_precision": lambda t: Precision("macro", threshold=t, name="macro_precision"),
        "macro_recall": lambda t: Recall("macro", threshold=t, name="macro_recall"),
        "macro_f1": lambda t: F1("macro", threshold=t, name="macro_f1"),
        "mse": lambda t: MeanSquaredError(),
        "mae": lambda t: MeanAbsoluteError(),
        "r2": lambda t: R2Score(),
    }


KNOWN = tuple(_registry())


def get(metric, threshold: float = 0.5) -> Metric:
    """A fresh :class:`Metric` from a name (see ``KNOWN``), a ``Metric`` or a function.

    Args:
        threshold: for binary predictions (one column): ``0.5`` for probabilities, ``0.0``
            for logits. :func:`chainrule.fit` picks it from the loss function.

    Example:
        >>> get("accuracy", threshold=0.0)
        Accuracy(name='accuracy')
    """
    if isinstance(metric, Metric):
        return metric.clone()
    if isinstance(metric, str):
        makers = _registry()
        if metric not in makers:
            raise ValueError(
                f"unknown metric {metric!r}; known metrics: {', '.join(KNOWN)} "
                f"(or pass a Metric object or a function fn(y_true, y_pred) -> float)"
            )
        return makers[metric](threshold)
    if callable(metric):
        return FunctionMetric(metric)
    raise TypeError(f"a metric must be a name, a Metric or a function, got {metric!r}")
