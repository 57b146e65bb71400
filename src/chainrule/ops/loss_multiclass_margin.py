"""Margin losses over classes, as ``torch.nn.functional``'s: the multi-class hinge
(``multi_margin_loss``), the multi-label hinge (``multilabel_margin_loss``) and the multi-label
logistic loss (``multilabel_soft_margin_loss``).

The hinges are composed of gather, relu and masked sums: a margin term that is exactly 0 gets no
gradient, as PyTorch's kernels count only terms > 0. Class indices must be int64, as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, GraphError, IndexOutOfRangeError, ShapeError
from chainrule.ops._util import float_operand, operand
from chainrule.ops.loss_common import _check_reduction, _reduce, legacy_reduction
from chainrule.tensor import Tensor


def _reduction(name: str, size_average, reduce, reduction) -> str:
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    _check_reduction(reduction, name)
    return reduction


def _int64_target(target, name: str) -> np.ndarray:
    array = np.asarray(target.array if isinstance(target, Tensor) else target)
    if array.dtype != np.int64:
        raise DTypeError(
            f"{name} needs int64 (Long) class indices as its target, got dtype {array.dtype} "
            f"(PyTorch: expected scalar type Long); convert it with target.astype('int64')"
        )
    return array


def _frames(x: Tensor, name: str) -> tuple[int, int]:
    """(frames, classes) of a (C,), (N, C) or 0-d input, with PyTorch's check."""
    if not (x.ndim == 0 or (x.ndim in (1, 2) and x.shape[-1] != 0)):
        raise ShapeError(
            f"{name}: expected a non-empty vector or matrix with optional 0-dim batch size, but "
            f"got input of shape {x.shape}"
        )
    if x.ndim == 2:
        return x.shape[0], x.shape[1]
    return 1, (x.shape[0] if x.ndim else 1)


def multi_margin_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss Σ_{i≠y} max(0, margin − x[y] + x[i])^p / C per sample, as
    ``torch.nn.functional.multi_margin_loss`` (each term scaled by ``weight[y]``).

    Args:
        input: (N, C) or (C,) scores (or 0-d: one class).
        target: (N,) int64 class indices in [0, C) (0-d or (1,) for a (C,) input).
        p: 1 or 2.
        margin: the margin the true class's score must clear.
        weight: (C,) per-class weights (not differentiable, as in PyTorch).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` ((N,) losses; 0-d for a 0-d target).

    Example:
        >>> import chainrule as cr, numpy as np
        >>> x = cr.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(cr.nn.functional.multi_margin_loss(x, np.array([3])).item(), 4)
        0.325
    """
    name = "multi_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{name}: only p == 1 and p == 2 supported, got p={p!r}")
    x = float_operand(input, name)
    labels = _int64_target(target, name)
    frames, classes = _frames(x, name)
    if labels.ndim > 1 or labels.size != frames:
        raise ShapeError(
            f"{name}: target tensor should be 1-D with size equal to the number of input samples "
            f"(batch size). Expected target size ({frames},), but got {labels.shape}. Input has "
            f"shape {x.shape}"
        )
    batched = labels.ndim == 1
    labels = labels.reshape(frames)
    if ((labels < 0) | (labels >= classes)).any():
        raise IndexOutOfRangeError(
            f"{name}: target out of range: classes run from 0 to {classes - 1}"
        )
    scale = np.ones((frames, classes), x.array.dtype)
    if weight is not None:
        if isinstance(weight, Tensor) and weight.requires_grad:
            raise GraphError(f"{name} is not differentiable with respect to weight (as in PyTorch)")
        w = np.asarray(weight.array if isinstance(weight, Tensor) else weight)
        if w.ndim != 1:
            raise ValueError(f"{name}: weight must be one-dimensional, got shape {w.shape}")
        if w.size != classes:
            raise ShapeError(
                f"{name}: inconsistent weight size, expected {classes} but got {w.shape}"
            )
        scale *= w.astype(x.array.dtype)[labels][:, None]
    scale[np.arange(frames), labels] = 0  # the true class's own term is no term
    scores = x.reshape(frames, classes)
    true_score = scores.gather(1, labels[:, None])
    hinge = (margin - true_score + scores).relu()
    if p == 2:
        hinge = hinge * hinge
    per_sample = (hinge * Tensor._make(scale, False)).sum(1) / classes
    if reduction == "none":
        return per_sample if batched else per_sample.reshape(())
    return _reduce(per_sample, reduction)


def multilabel_margin_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-label hinge loss Σ_j Σ_{i ∉ targets} max(0, 1 − x[j] + x[i]) / C over the
    target classes j, as ``torch.nn.functional.multilabel_margin_loss``.

    Args:
        input: (N, C) or (C,) scores (or 0-d).
        target: int64 of the input's shape: each row's target classes first, then −1 and
            anything after it ignored (a class listed twice counts twice, as in PyTorch).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` ((N,) losses; 0-d for a (C,) input).

    Example:
        >>> import chainrule as cr, numpy as np
        >>> x = cr.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(cr.nn.functional.multilabel_margin_loss(x, np.array([[3, 0, -1, 1]])).item(), 4)
        0.85
    """
    name = "multilabel_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    x = float_operand(input, name)
    labels = _int64_target(target, name)
    frames, classes = _frames(x, name)
    fits = labels.ndim <= 1 and labels.size == classes
    if x.ndim == 2:
        fits = labels.shape == x.shape
    if not fits:
        raise ShapeError(
            f"{name}: inconsistent target size: {labels.shape} for input of size: {x.shape}; the "
            f"target holds class indices padded with -1, one row per input row"
        )
    if labels.size and (labels.min() < -1 or labels.max() >= classes):
        raise IndexOutOfRangeError(
            f"{name}: target is out of range: class indices run from 0 to {classes - 1}, and -1 "
            f"ends a row's list"
        )
    labels = labels.reshape(frames, classes)
    listed = np.cumprod(labels >= 0, axis=1).astype(bool)  # the slots before the first -1
    is_target = np.zeros((frames, classes), bool)
    rows = np.broadcast_to(np.arange(frames)[:, None], labels.shape)
    is_target[rows[listed], labels[listed]] = True
    # coefficient of max(0, 1 − x[n, labels[n, k]] + x[n, i]): slot k listed, class i not a target
    scale = listed[:, :, None] & ~is_target[:, None, :]
    scores = x.reshape(frames, classes)
    target_scores = scores.gather(1, np.where(listed, labels, 0))
    hinge = (1 - target_scores.unsqueeze(2) + scores.unsqueeze(1)).relu()
    per_sample = (hinge * Tensor._make(scale.astype(x.array.dtype), False)).sum((1, 2)) / classes
    if reduction == "none":
        return per_sample if x.ndim == 2 else per_sample.reshape(())
    return _reduce(per_sample, reduction)


def multilabel_soft_margin_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """−mean_c [t·ln σ(x) + (1 − t)·ln σ(−x)] over the last dimension (the classes), as
    ``torch.nn.functional.multilabel_soft_margin_loss``.

    Args:
        input: (N, C) or (C,) (any (..., C)) scores.
        target: 0/1 labels (or probabilities) broadcasting against the input; differentiable.
        weight: per-class weights broadcast against the input (differentiable).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one loss per sample, (N,)).

    Example:
        >>> import chainrule as cr
        >>> x, y = cr.tensor([[0.0, 0.0]]), cr.tensor([[1.0, 0.0]])
        >>> round(cr.nn.functional.multilabel_soft_margin_loss(x, y).item(), 4)
        0.6931
    """
    from chainrule.ops.activation_smooth import log_sigmoid

    name = "multilabel_soft_margin_loss"
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    x = float_operand(input, name)
    if x.ndim == 0:
        raise ShapeError(f"{name} needs an input of shape (C,) or (N, C), got a 0-d tensor")
    t = operand(target, x)
    loss = -(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))
    if weight is not None:
        loss = loss * operand(weight, x)
    loss = loss.sum(x.ndim - 1) / x.shape[-1]
    _check_reduction(reduction, name)
    return _reduce(loss, reduction)
