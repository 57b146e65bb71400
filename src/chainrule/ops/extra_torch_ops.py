"""PyTorch ops ported on request, with PyTorch's names and errors: ``rot90``, ``take`` and
``logcumsumexp``.

``rot90``'s gradient is the gradient rotated back; ``take`` is indexing at the unravelled
flat positions (so its gradient adds into zeros of the input's shape, repeats summed);
``logcumsumexp`` runs a stable ``logaddexp`` scan, and its gradient is the reversed scan of
softmax-like weights ``exp(x_j − out_i)``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DimensionError, DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops._util import check_int, float_operand, operand
from chainrule.ops.getitem import GetItem
from chainrule.tensor import Tensor


class Rot90(Function):
    """The tensor rotated by ``k`` quarter turns in the plane of two axes, from the first
    axis towards the second. Local derivative: the same numbers, rotated back."""

    saves_inputs = False  # backward reads k and the axes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    grads_match_inputs = True
    label = "rot90"
    formulas = ("1 (the same numbers, rotated back)",)

    def forward(self, x, k, axes):
        self.k, self.axes = k, axes
        return np.ascontiguousarray(np.rot90(x, k, axes))

    def backward(self, grad):
        return (np.ascontiguousarray(np.rot90(grad, -self.k, self.axes)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (Rot90.apply(grad, k=(-self.k) % 4, axes=self.axes),)


def rot90(input, k: int = 1, dims=(0, 1)) -> Tensor:  # noqa: A002 - PyTorch's name
    """Rotate ``input`` by ``k`` quarter turns in the plane of ``dims`` (from the first dim
    towards the second), as ``torch.rot90``; negative ``k`` turns the other way.

    Example:
        >>> import chainrule as cr
        >>> cr.rot90(cr.tensor([[1, 2], [3, 4]])).tolist()
        [[2, 4], [1, 3]]
    """
    x = operand(input)
    dims = tuple(dims)
    if len(dims) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise DimensionError(f"rot90: expected total dims >= 2, but got total dims = {x.ndim}")
    axes = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"rot90: dims must be integers, got {dims!r}")
        if not -x.ndim <= d < x.ndim:
            raise DimensionError(
                f"rot90: dim {d} is out of range for a tensor with {x.ndim} dimensions"
            )
        axes.append(int(d) % x.ndim)
    if axes[0] == axes[1]:
        raise ShapeError(f"rot90: expected rotation dims to be different, got dims = {dims}")
    return Rot90.apply(x, k=check_int(k, "k", "rot90") % 4, axes=tuple(axes))


def take(input, index) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elements of ``input`` at ``index`` in its flattened (row-major) order, shaped as
    ``index``, as ``torch.take``; negative indices count from the end. The gradient adds into
    zeros of ``input``'s shape (an element taken twice gets both gradients).

    Example:
        >>> import chainrule as cr
        >>> cr.take(cr.tensor([[4, 3], [5, 7]]), cr.tensor([0, 3, -1])).tolist()
        [4, 7, 7]
    """
    x = operand(input)
    flat = index.array if isinstance(index, Tensor) else np.asarray(index)
    if flat.dtype.kind not in "iu":
        raise DTypeError(f"take needs an integer index tensor (int64), got dtype {flat.dtype}")
    flat = flat.astype(np.int64, copy=False)
    size = x.array.size
    bad = (flat < -size) | (flat >= size)
    if np.any(bad):
        raise IndexOutOfRangeError(
            f"take: index {int(flat[bad].flat[0])} is out of range for a tensor of "
            f"{size} elements; valid indices are -{size} to {size - 1}"
        )
    if x.ndim == 0:
        x = x.reshape(1)
    where = np.unravel_index(flat % max(size, 1), x.shape)
    return GetItem.apply(x, index=tuple(where), advanced=True)


def _reversed_logcumsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(np.logaddexp.accumulate(np.flip(a, axis), axis=axis), axis)


class LogCumSumExp(Function):
    """out_i = log Σ_{j≤i} exp(x_j), by a stable logaddexp scan.
    Local derivative: ∂out_i/∂x_j = exp(x_j − out_i) for j ≤ i (softmax weights)."""

    grads_match_inputs = True
    label = "logcumsumexp"
    formulas = ("exp(x_j − out_i) for j ≤ i",)

    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.out = np.logaddexp.accumulate(x, axis=axis) if x.size else x.copy()
        return self.out

    def backward(self, grad):
        if grad.size == 0:
            return (np.zeros_like(self.x),)
        # Σ_{i≥j} g_i·exp(x_j − out_i), split by the sign of g so every term sums in log space
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pos = np.log(np.where(grad > 0, grad, 0)) - self.out
            log_neg = np.log(np.where(grad < 0, -grad, 0)) - self.out
            pos = np.exp(self.x + _reversed_logcumsumexp(log_pos, self.axis))
            neg = np.exp(self.x + _reversed_logcumsumexp(log_neg, self.axis))
        return ((pos - neg).astype(self.x.dtype, copy=False),)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (for second derivatives), by the pairwise
        weights exp(x_j − out_i), j ≤ i, of each slice (n² per slice, as second order is)."""
        from chainrule.ops.elementwise import where

        (x,) = self.parents
        n = x.shape[self.axis]
        out = LogCumSumExp.apply(x, axis=self.axis)
        x_last, out_last, grad_last = (t.movedim(self.axis, -1) for t in (x, out, grad))
        gap = x_last.unsqueeze(-2) - out_last.unsqueeze(-1)  # [..., i, j] = x_j − out_i
        later = np.tril(np.ones((n, n), dtype=bool))  # j ≤ i
        weights = where(later, gap, -np.inf).exp()
        grad_x = (grad_last.unsqueeze(-1) * weights).sum(-2)
        return (grad_x.movedim(-1, self.axis),)


def logcumsumexp(input, dim: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """``log(cumsum(exp(input), dim))`` computed without overflow, as ``torch.logcumsumexp``.

    Example:
        >>> import chainrule as cr
        >>> [round(v, 4) for v in cr.logcumsumexp(cr.tensor([0.0, 0.0, 1000.0]), 0).tolist()]
        [0.0, 0.6931, 1000.0]
    """
    x = float_operand(input, "logcumsumexp")
    ndim = max(x.ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"logcumsumexp: dim must be an integer, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise DimensionError(
            f"logcumsumexp: dim {dim} is out of range for a tensor with {x.ndim} dimensions"
        )
    if x.ndim == 0:
        return LogCumSumExp.apply(x.reshape(1), axis=0).reshape(())
    return LogCumSumExp.apply(x, axis=int(dim) % ndim)
