"""Scoring and answering: ``evaluate`` (loss and metrics) and ``predict`` (raw outputs).

Both run the model in evaluation mode without a graph, batch by batch; ``fit`` uses the same
scoring for its validation data.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.errors import DataError
from chainrule.tensor import Tensor
from chainrule.train import metrics as _metrics
from chainrule.train.batches import (
    arrays_of,
    as_input,
    features,
    fit_target,
    input_dtype,
    loader_for,
    plain,
    regression_targets,
    split_weighted,
    target_array,
)
from chainrule.train.fit_arguments import check_loss_fn
from chainrule.train.loss_targets import check_loss_targets, loss_targets, value_targets
from chainrule.train.weighting import check_sample_weight, weighted_loss

__all__ = ["evaluate", "predict"]

RESERVED = ("loss", "lr", "time")
DEFAULT_METRICS = ("accuracy",)  # dropped for regression targets unless asked for explicitly


def _last_module(model):
    children = getattr(model, "_modules", None)
    if children:
        return _last_module(list(children.values())[-1])
    return model


def output_threshold(loss_fn, model) -> float:
    """Where a one-column output splits class 0 from 1: 0 for logits, 0.5 for probabilities.

    Read from what the loss declares (``loss_fn.output == "logit"``) or, without a loss, from
    the model's last module (``produces == "probability"``, as ``nn.Sigmoid`` declares).
    """
    if loss_fn is not None:
        return 0.0 if getattr(loss_fn, "output", None) == "logit" else 0.5
    return 0.5 if getattr(_last_module(model), "produces", None) == "probability" else 0.0


def make_metrics(metrics, threshold, loss_fn=None) -> list:
    """Metric objects from names, objects or functions; reserved and repeated names refused.
    With a BCE loss, outputs of several columns are labels of their own (multi-label)."""
    if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
        metrics = (metrics,)
    made = [_metrics.get(m, threshold) for m in (metrics or ())]
    if loss_fn is not None and loss_targets(loss_fn) == "probabilities":
        for m in made:
            m.multilabel = True
    names = [m.name for m in made]
    for name in names:
        if name in RESERVED or name.startswith("val_"):
            raise ValueError(f"a metric cannot be named {name!r} (a reserved log key)")
        if names.count(name) > 1:
            raise ValueError(f"metric {name!r} is given twice; each metric needs its own name")
    return made


def score(model, loader, loss_fn, metric_objs, dtype, threshold, reduce=None) -> dict:
    """The mean loss (with ``loss_fn``) and the metrics of ``model`` over ``loader``."""
    model.eval()
    for m in metric_objs:
        m.reset()
    total, seen = 0.0, 0
    with no_grad():
        for item in loader:
            xb, yb, wb = split_weighted(item, "evaluate")
            y = target_array(yb)
            out = model(as_input(xb, dtype))
            # the mean loss over all rows: batches weighted by their size, or by their
            # sample weights' sum for weighted rows (then the weighted mean over all rows)
            size = len(y) if wb is None else float(np.sum(wb))
            if loss_fn is not None:
                target = Tensor._make(fit_target(out.array, y), False)
                if wb is None:
                    loss = loss_fn(out, target)
                else:
                    loss = weighted_loss(loss_fn, out, target, wb)
                total += float(loss.array) * size
            seen += size
            for m in metric_objs:
                _metrics.update_metric(m, y, out.array, wb)
    if reduce is not None:  # distributed: every rank scored its share
        total, seen = reduce(total, seen, metric_objs)
    results = {}
    if loss_fn is not None:
        results["loss"] = total / seen if seen else math.nan
    results.update((m.name, m.result()) for m in metric_objs)
    return results


def evaluate(
    model, data, loss_fn=None, metrics=DEFAULT_METRICS, batch_size: int = 256, sample_weight=None
) -> dict:
    """Score a model on data: ``{"loss": ..., "accuracy": ...}`` (no ``"loss"`` without loss_fn).

    Runs in evaluation mode under ``no_grad`` (the model's mode is restored afterwards).
    Arguments as :func:`fit`: ``(X, y, w)`` arrays or ``sample_weight=w`` weight the loss and
    the metrics by row, as ``validation_data=(X, y, w)`` does. Without ``loss_fn``, a
    one-column output is read as a probability when the model ends in ``Sigmoid`` and as a
    logit otherwise.
    """
    if loss_fn is not None:
        check_loss_fn(loss_fn, "evaluate")
    dtype = input_dtype(model)
    data, weights = _weighted_rows(data, sample_weight)
    loader, _ = loader_for(data, batch_size, False, None, dtype, "data", "evaluate", weights)
    threshold = output_threshold(loss_fn, model)
    check_loss_targets(loss_fn, loader, "evaluate", "y")
    if metrics is DEFAULT_METRICS and (
        regression_targets(loader) or value_targets(loss_fn, loader)
    ):
        metrics = ()
    metric_objs = make_metrics(metrics, threshold, loss_fn)
    was_training = getattr(model, "training", False)
    try:
        return score(model, loader, loss_fn, metric_objs, dtype, threshold)
    finally:
        model.train(was_training)


def _weighted_rows(data, sample_weight):
    """``(X, y, w)`` read as ``(X, y)`` with checked weights ``w`` (or ``sample_weight=``)."""
    if isinstance(data, (tuple, list)) and len(data) == 3:
        if sample_weight is not None:
            raise ValueError(
                "evaluate: data (X, y, w) already holds sample weights; pass them once, in data "
                "or as sample_weight="
            )
        data, sample_weight = tuple(data[:2]), data[2]
    if sample_weight is None:
        return data, None
    arrays = arrays_of(data, "data")
    if arrays is None:
        raise TypeError(
            "evaluate: sample_weight goes with (X, y) arrays; a Dataset or DataLoader gives its "
            "weights as a third field of each sample, (x, y, w)"
        )
    return data, check_sample_weight(sample_weight, len(arrays[0]), "evaluate")


def predict(model, X, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``X`` as one NumPy array, computed in batches without a graph.

    ``X`` is an array or tensor of inputs (float, integer and bool features are converted to
    the model's float dtype; integer ids stay integers for a model whose first layer is an
    ``nn.Embedding``), or a Dataset/DataLoader whose samples' first field is the input. Runs
    in evaluation mode; the model's mode is restored afterwards. Outputs are raw (logits for a
    model without a final activation): ``predict(...).argmax(1)`` gives classes.
    """
    from chainrule.data.loader import DataLoader

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(  # predict(model, X, y): y landed in batch_size
            f"predict takes the inputs only, predict(model, X, batch_size=256); got "
            f"{type(batch_size).__name__} as batch_size (the targets are not needed)"
        )
    dtype = input_dtype(model)
    if isinstance(X, DataLoader) or (
        hasattr(X, "__getitem__")
        and hasattr(X, "__len__")
        and not isinstance(X, (np.ndarray, Tensor, list, tuple))
        and not hasattr(X, "to_numpy")  # a pandas DataFrame is rows of features, not a Dataset
        and not hasattr(X, "nnz")  # nor is a scipy.sparse matrix: refused by plain()
    ):
        loader = X if isinstance(X, DataLoader) else DataLoader(X, batch_size=batch_size)
        batches = (item[0] if isinstance(item, (tuple, list)) else item for item in loader)
    else:
        array = features(plain(X, "X"), dtype, "predict: X")
        batches = (array[i : i + batch_size] for i in range(0, len(array), batch_size))
    was_training = getattr(model, "training", False)
    model.eval()
    outputs = []
    try:
        with no_grad():
            for xb in batches:
                outputs.append(np.asarray(model(as_input(xb, dtype)).array))
    finally:
        model.train(was_training)
    if not outputs:
        raise DataError("predict: X has no rows")
    return np.concatenate(outputs)
