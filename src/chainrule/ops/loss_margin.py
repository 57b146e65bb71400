"""Margin losses on pairs and triplets, as ``torch.nn.functional``'s: margin ranking, hinge
embedding, soft margin, cosine embedding and the two triplet losses.

Each is composed of differentiable ops the way PyTorch composes it (clamp_min, where, log1p of
exp, pairwise distances), so gradients, ties included (clamp_min passes the gradient at 0, an
even share between tied distances under ``swap``), and second derivatives come from those ops.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, GraphError, ShapeError
from chainrule.ops._util import float_operand, operand
from chainrule.ops.elementwise import minimum, where
from chainrule.ops.loss_common import _check_reduction, _reduce, legacy_reduction
from chainrule.tensor import Tensor


def _reduction(name: str, size_average, reduce, reduction) -> str:
    """The reduction asked for (PyTorch's legacy flags first), checked."""
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    _check_reduction(reduction, name)
    return reduction


def _float_result(loss: Tensor, name: str) -> Tensor:
    if loss.array.dtype.kind != "f":
        raise DTypeError(
            f"{name} needs floating-point inputs, got dtype {loss.array.dtype}; convert them with "
            f".astype('float32')"
        )
    return loss


def _labels(target, name: str) -> np.ndarray:
    """A ±1 target's values (it picks a branch, as a condition: no gradient flows into it)."""
    array = np.asarray(target.array if isinstance(target, Tensor) else target)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{name} got a target of dtype {array.dtype}; expected numbers (1 or -1)")
    return array


def _broadcast(name: str, *shapes: tuple) -> tuple:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(
            f"{name} got shapes {listed}, which do not broadcast together; the target needs one "
            f"value per element of the input (or per row)"
        ) from None


def margin_ranking_loss(
    input1,
    input2,
    target,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, −target·(input1 − input2) + margin): ``target`` 1 asks for input1 to rank higher,
    −1 for input2, as ``torch.nn.functional.margin_ranking_loss``.

    Args:
        input1, input2: scores, broadcast together.
        target: 1 or −1 per pair (differentiable too, as in PyTorch).
        margin: how far apart the ranked scores must be before the loss is 0.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        input1, input2 and target: the same number of dimensions, broadcasting; output: scalar,
        or the broadcast shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> x1, x2 = cr.tensor([1.0, 2.0]), cr.tensor([2.0, 0.0])
        >>> y = cr.tensor([1.0, 1.0])
        >>> cr.nn.functional.margin_ranking_loss(x1, x2, y, 0.5, reduction="none").tolist()
        [1.5, 0.0]
    """
    name = "margin_ranking_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    x1, x2, t = operand(input1), operand(input2), operand(target)
    if not x1.ndim == x2.ndim == t.ndim:
        raise ShapeError(
            f"{name}: all input tensors should have the same number of dimensions, but got "
            f"input1 {x1.shape}, input2 {x2.shape} and target {t.shape}"
        )
    _broadcast(name, x1.shape, x2.shape, t.shape)
    loss = _float_result((-t * (x1 - x2) + margin).clamp_min(0), name)
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``input`` where target is 1, max(0, margin − input) where it is −1 (input usually a
    distance), as ``torch.nn.functional.hinge_embedding_loss``.

    Args:
        input: distances (or any scores).
        target: 1 or −1, broadcast against the input; values other than ±1 add both terms, as
            in PyTorch.
        margin: the distance beyond which a −1 pair costs nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.3, 0.3])
        >>> loss = cr.nn.functional.hinge_embedding_loss(x, [1, -1], reduction="none")
        >>> [round(v, 4) for v in loss.tolist()]
        [0.3, 0.7]
    """
    name = "hinge_embedding_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    x = float_operand(input, name)
    labels = _labels(target, name)
    _broadcast(name, x.shape, labels.shape)
    zero = np.zeros((), x.array.dtype)
    margin_part = where(labels != 1, (margin - x).clamp_min(0), zero)
    loss = margin_part + where(labels != -1, x, zero)
    return _reduce(loss, reduction)


def soft_margin_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """ln(1 + e^(−target·input)), the logistic loss for ±1 targets, as
    ``torch.nn.functional.soft_margin_loss`` (computed as PyTorch's: ``log1p(exp(·))``, so it
    overflows to inf where PyTorch's does).

    Args:
        input: scores.
        target: 1 or −1, broadcast to the input's shape (not differentiable, as in PyTorch).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.functional.soft_margin_loss(cr.tensor([0.0]), [1.0]).item(), 4)
        0.6931
    """
    name = "soft_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    x = float_operand(input, name)
    if isinstance(target, Tensor) and target.requires_grad:
        raise GraphError(
            f"{name} is not differentiable with respect to its target (as in PyTorch); pass "
            f"target.detach()"
        )
    labels = _labels(target, name)
    if _broadcast(name, x.shape, labels.shape) != x.shape:
        raise ShapeError(
            f"{name} got input of shape {x.shape} and target of shape {labels.shape}; the "
            f"target must broadcast to the input's shape"
        )
    t = Tensor._make(labels.astype(x.array.dtype, copy=False), False)
    with np.errstate(over="ignore"):
        loss = (-x * t).exp().log1p()
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1,
    input2,
    target,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """1 − cos(x1, x2) where target is 1, max(0, cos(x1, x2) − margin) where it is −1, as
    ``torch.nn.functional.cosine_embedding_loss`` (cosine over the last dimension, each squared
    length plus 1e-12, as PyTorch's).

    Args:
        input1, input2: (N, D) or (D,) vectors, broadcast together.
        target: (N,) or 0-d, 1 or −1 (0 elsewhere: other values give 0).
        margin: in [−1, 1]; dissimilar pairs cost nothing below it.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([[1.0, 0.0]]), cr.tensor([[0.0, 1.0]])
        >>> cr.nn.functional.cosine_embedding_loss(a, b, cr.tensor([1])).item()
        1.0
    """
    name = "cosine_embedding_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    x1, x2 = operand(input1), operand(input2)
    labels = _labels(target, name)
    if labels.ndim > 1:
        raise ShapeError(f"{name}: 0D or 1D target tensor expected, multi-target not supported")
    want = 2 if labels.ndim == 1 else 1
    if x1.ndim != want or x2.ndim != want:
        raise ShapeError(
            f"{name}: {labels.ndim}D target tensor expects {want}D input tensors, but found "
            f"inputs with sizes {x1.shape} and {x2.shape}"
        )
    axis = labels.ndim
    _broadcast(name, x1.shape, x2.shape)
    products = (x1 * x2).sum(axis)
    squares = ((x1 * x1).sum(axis) + 1e-12) * ((x2 * x2).sum(axis) + 1e-12)
    cos = _float_result(products / squares.sqrt(), name)
    _broadcast(name, cos.shape, labels.shape)
    zero = np.zeros((), cos.array.dtype)
    similar = where(labels == 1, 1 - cos, zero)
    loss = similar + where(labels == -1, (cos - margin).clamp_min(0), zero)
    return _reduce(loss, reduction)


def _triplet_checks(name: str, anchor: Tensor, positive: Tensor, negative: Tensor, margin):
    if not margin > 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(
            f"{name}: the anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, "
            f"and negative {negative.ndim}D inputs"
        )


def _triplet(distance, anchor, positive, negative, margin, swap, reduction) -> Tensor:
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:  # the positive may sit closer to the negative than the anchor does (Balntas et al.)
        dist_neg = minimum(dist_neg, distance(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), reduction)


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) − d(a, n) + margin) with d the p-norm distance of
    :func:`pairwise_distance`, as ``torch.nn.functional.triplet_margin_loss``.

    Args:
        anchor, positive, negative: (N, D) or (D,) embeddings (one number of dimensions,
            broadcasting).
        margin: > 0.
        p: the norm's order; eps: added to the differences, as in ``pairwise_distance``.
        swap: use min(d(a, n), d(p, n)) as the negative distance.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> a, p, n = cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0]]), cr.tensor([[1.0, 0.0]])
        >>> round(cr.nn.functional.triplet_margin_loss(a, p, n).item(), 4)
        5.0
    """
    from chainrule.ops.norm import pairwise_distance

    name = "triplet_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    anchor, positive, negative = operand(anchor), operand(positive), operand(negative)
    _triplet_checks(name, anchor, positive, negative, margin)

    def distance(x1, x2):
        return pairwise_distance(x1, x2, p, eps)

    return _triplet(distance, anchor, positive, negative, margin, bool(swap), reduction)


def triplet_margin_with_distance_loss(
    anchor,
    positive,
    negative,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """The triplet margin loss with any distance: max(0, d(a, p) − d(a, n) + margin), as
    ``torch.nn.functional.triplet_margin_with_distance_loss``.

    Args:
        anchor, positive, negative: embeddings of one number of dimensions.
        distance_function: a callable of two tensors returning distances (default
            :func:`pairwise_distance`); its gradient comes through the graph it builds.
        margin: > 0; swap: use min(d(a, n), d(p, n)); reduction: as the other losses.

    Example:
        >>> import chainrule as cr
        >>> a, p, n = cr.tensor([[0.0]]), cr.tensor([[2.0]]), cr.tensor([[1.0]])
        >>> l1 = lambda x, y: (x - y).abs().sum(-1)
        >>> cr.nn.functional.triplet_margin_with_distance_loss(a, p, n, distance_function=l1).item()
        2.0
    """
    from chainrule.ops.norm import pairwise_distance

    name = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, name)
    anchor, positive, negative = operand(anchor), operand(positive), operand(negative)
    _triplet_checks(name, anchor, positive, negative, margin)
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet(distance, anchor, positive, negative, margin, bool(swap), reduction)
