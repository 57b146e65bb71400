"""Per-sample weights for ``fit(..., sample_weight=)``: checked once, reduced per batch.

A batch's loss with weights is the weighted mean of its per-sample losses,

    L = Σᵢ wᵢ·lᵢ / Σᵢ wᵢ        (lᵢ: the loss of sample i, averaged over its other axes)

so integer weights train as repeated rows would in one batch, a zero weight as a dropped row,
and weights of one as no weights. Keras divides by the batch size instead of Σ wᵢ; dividing by
Σ wᵢ (as scikit-learn's MLP does) keeps the loss on the scale of the unweighted loss whatever
the weights' scale. A batch whose weights are all zero has loss 0 and zero gradients.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from chainrule.errors import DataError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["check_batch_weight", "check_sample_weight", "per_sample_loss", "weighted_loss"]


def check_sample_weight(sample_weight, n: int, owner: str = "fit") -> np.ndarray:
    """``sample_weight`` as a float64 array of ``n`` finite weights >= 0, not all zero.

    Raises ``DataError`` (a ``ValueError``) for non-numbers, NaN/inf, negative or all-zero
    weights and ``ShapeError`` (a ``ValueError``) for another length or a 2-D array.
    """
    array = sample_weight.array if isinstance(sample_weight, Tensor) else np.asarray(sample_weight)
    if array.dtype.kind not in "fiub":
        raise DataError(
            f"{owner}: sample_weight has dtype {array.dtype}; it must hold numbers, one "
            f"weight per sample"
        )
    if array.ndim != 1 or len(array) != n:
        raise ShapeError(
            f"{owner}: sample_weight has shape {array.shape}; expected ({n},), one weight per "
            f"sample of the training data"
        )
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{owner}: sample_weight holds NaN or inf at rows {rows[:5].tolist()}"
            + (" ..." if len(rows) > 5 else "")
            + "; give every sample a finite weight (0 leaves it out)"
        )
    if (array < 0).any():
        rows = np.flatnonzero(array < 0)
        raise DataError(
            f"{owner}: sample_weight is negative at rows {rows[:5].tolist()}"
            + (" ..." if len(rows) > 5 else "")
            + "; weights must be >= 0 (a negative weight would reward that sample's error)"
        )
    if not array.any():
        raise DataError(
            f"{owner}: sample_weight is zero for every sample: there is nothing to train on; "
            f"give at least one sample a weight > 0"
        )
    return array


def check_batch_weight(weight, n: int, owner: str = "fit", batch: int | None = None):
    """The weights of one ``(x, y, w)`` batch from a Dataset or DataLoader, checked as
    :func:`check_sample_weight` checks ``sample_weight=`` (a batch whose weights are all 0
    is allowed: its loss is 0). ``(n, 1)`` weights are read as ``(n,)``."""
    array = weight.array if isinstance(weight, Tensor) else np.asarray(weight)
    place = (
        f"{owner}: the weights (third field) of batch {batch + 1}"
        if batch is not None
        else (f"{owner}: the weights (third field) of a batch")
    )
    if array.dtype.kind not in "fiub":
        raise DataError(f"{place} have dtype {array.dtype}; they must be numbers, one per sample")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.shape != (n,):
        raise ShapeError(
            f"{place} have shape {array.shape}; expected ({n},), one weight per sample of the "
            f"batch (the dataset must yield (x, y, w) with w a scalar per sample)"
        )
    array = array.astype(np.float64)
    for bad, what in ((~np.isfinite(array), "NaN or inf"), (array < 0, "negative weights")):
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(
                f"{place} hold {what} at batch rows {rows[:5].tolist()}"
                + (" ..." if len(rows) > 5 else "")
                + "; weights must be finite and >= 0 (0 leaves a sample out)"
            )
    return array


def _takes(fn, name: str) -> bool:
    """Whether ``fn`` (a module's ``forward``, for a module) names the argument ``name``."""
    try:
        return name in inspect.signature(getattr(fn, "forward", fn)).parameters
    except (TypeError, ValueError):
        return False


def per_sample_loss(loss_fn):
    """``loss_fn`` giving one loss per element (``reduction="none"``).

    A loss module with a ``reduction`` attribute (chainrule's own) is copied with
    ``reduction="none"``; a function with a ``reduction`` argument (``F.mse_loss``) is called
    with it. Anything else raises ``TypeError`` naming the fix.
    """
    if isinstance(getattr(loss_fn, "reduction", None), str):
        per_sample = copy.copy(loss_fn)
        per_sample.reduction = "none"
        return per_sample
    if callable(loss_fn) and _takes(loss_fn, "reduction"):
        return lambda out, target: loss_fn(out, target, reduction="none")
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    raise TypeError(
        f"fit(sample_weight=...) needs the loss of each sample, and {name} gives only the "
        f"batch's: use a chainrule loss module (nn.CrossEntropyLoss(), nn.MSELoss(), ...), a "
        f"function with a reduction= argument, or one that takes sample_weight= itself"
    )


def weighted_loss(loss_fn, out: Tensor, target: Tensor, weight: np.ndarray) -> Tensor:
    """The batch loss Σ wᵢ·lᵢ / Σ wᵢ (0 when every weight of the batch is 0).

    A ``loss_fn`` that takes a ``sample_weight`` argument is given the weights and reduces
    the batch itself; otherwise its per-sample losses (:func:`per_sample_loss`) are averaged
    over all axes but the first and weighted.
    """
    weight = np.asarray(weight, dtype=np.float64)
    if _takes(loss_fn, "sample_weight"):
        return loss_fn(out, target, sample_weight=weight)
    losses = per_sample_loss(loss_fn)(out, target)
    n = len(weight)
    if losses.ndim == 0 or losses.shape[0] != n:
        raise ShapeError(
            f"fit(sample_weight=...): the loss gave shape {losses.shape} with "
            f"reduction='none'; expected one loss per sample, ({n}, ...)"
        )
    if losses.ndim > 1:
        losses = losses.reshape(n, -1).mean(axis=1)
    total = weight.sum()
    scale = weight / total if total > 0 else weight
    return (losses * Tensor._make(scale.astype(losses.array.dtype), False)).sum()
