"""Running products, repetition, sorted search and the most frequent value, with PyTorch's
names: cumprod, repeat_interleave, searchsorted, mode.

``cumprod`` is one op with PyTorch's exact gradient when the input holds zeros;
``repeat_interleave`` is ``index_select`` with a repeated index; ``mode`` picks one element per
slice (the gradient goes to it, as ``median``); ``searchsorted`` answers int64 positions and
records nothing in the graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.ops._util import in_dtype_of, no_bool_running, operand, to_result_dtype
from chainrule.ops.reduce import _Select
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor

# torch.return_types.mode: a named pair that unpacks as (values, indices)
ModeResult = namedtuple("mode", ["values", "indices"])


def _reversed_cumsum(a: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


class CumProd(Function):
    """out_k = x_0·x_1·…·x_k along one dim.  Local derivative (summed over the later outputs):
    Σ_{j≥k} g_j·out_j / x_k where x_k ≠ 0 and no zero precedes it; at the first zero z,
    out_{z−1}·Σ_{j≥z} g_j·Π_{z<i≤j} x_i; 0 after it (PyTorch's exact formula, no division
    by zero)."""

    label = "cumprod"
    formulas = ("Σ_{j≥k} g_j · Π_{i≤j, i≠k} x_i",)
    grads_match_inputs = True

    def forward(self, x, dim):
        self.x, self.dim = x, dim
        self.out = np.cumprod(x, axis=dim)
        return self.out

    def backward(self, grad):
        x, out, axis = self.x, self.out, self.dim
        if x.shape[axis] <= 1:
            return (grad,)  # out = x: PyTorch passes the gradient through untouched
        w = out * grad
        is_zero = x == 0
        if not is_zero.any():
            return (_reversed_cumsum(w, axis) / x,)
        zeros_so_far = np.cumsum(is_zero, axis=axis)
        before = zeros_so_far == 0  # [0, z): out_j / x_k is the product of the others
        zero = np.zeros((), x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = np.where(before, _reversed_cumsum(np.where(before, w, zero), axis) / x, zero)
        # the first zero z: every later output holds it once, so its derivative is the product
        # before it times the running product after it, up to the next zero
        first = is_zero & (zeros_so_far == 1)
        between = (zeros_so_far == 1) & ~is_zero  # (z, next zero)
        prefix = np.prod(np.where(before, x, np.ones((), x.dtype)), axis=axis, keepdims=True)
        after = np.cumprod(np.where(between, x, np.ones((), x.dtype)), axis=axis)
        tail = np.sum(np.where(zeros_so_far == 1, grad * after, zero), axis=axis, keepdims=True)
        return (np.where(first, prefix * tail, grad_x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where
        from chainrule.ops.indexing import CumSum, _shape

        (x,) = self.parents
        axis = self.dim
        if x.shape[axis] <= 1:
            return (grad,)
        if not (self.x == 0).any():  # Σ_{j≥k} g_j·out_j / x_k, as backward
            w = CumProd.apply(x, dim=axis) * grad
            flipped = CumSum.apply(_shape.flip(w, (axis,)), dim=axis)
            return (_shape.flip(flipped, (axis,)) / x,)
        # with zeros: Σ_{j≥k} g_j·Π_{i≤j, i≠k} x_i, the products along a second copy of the axis
        n = x.shape[axis]
        shape = (1,) * axis + (n, n) + (1,) * (x.ndim - axis - 1)
        spread = where(np.eye(n, dtype=bool).reshape(shape), 1, x.unsqueeze(axis))
        products = CumProd.apply(spread, dim=axis + 1)  # [k, j]: Π_{i≤j, i≠k} x_i
        later = np.triu(np.ones((n, n), dtype=bool)).reshape(shape)  # j ≥ k
        terms = where(later, products * grad.unsqueeze(axis), 0)
        return (terms.sum(axis=axis + 1),)


def cumprod(input, dim: int, *, dtype=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Running products along ``dim``, as ``torch.cumprod``: integer and bool tensors give
    int64, ``dtype`` converts first. The gradient is exact where the input holds zeros.

    Example:
        >>> import chainrule as cr
        >>> cr.cumprod(cr.tensor([1.0, 2.0, 3.0]), 0).tolist()
        [1.0, 2.0, 6.0]
    """
    x = operand(input)
    if dtype is not None:
        x = to_result_dtype(x, dtype, "cumprod")
        no_bool_running(x, "cumprod")
    elif x.dtype.kind in "iub" and x.dtype != np.int64:
        x = x.to(np.int64)  # PyTorch accumulates every integer and bool type in int64
    if x.ndim == 0:
        _one_axis(x.reshape(1), dim, "cumprod")
        return x.clone()
    result = CumProd.apply(x, dim=_one_axis(x, dim, "cumprod"))
    return result if dtype is None else in_dtype_of(result, x)


def _int_array(value, what: str) -> np.ndarray:
    a = value.array if isinstance(value, Tensor) else np.asarray(value)
    if a.dtype.kind not in "iu":
        raise DTypeError(f"repeat_interleave: {what} must be integers, got {a.dtype}")
    return a.astype(np.int64, copy=False)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:  # noqa: A002
    """Each element (or each slice along ``dim``) repeated ``repeats`` times in place, as
    ``torch.repeat_interleave``: ``repeats`` is an int or a 1-D tensor with one count per
    slice; without ``dim`` the input is flattened first. Differentiable (``index_select``).
    ``repeat_interleave(counts)`` alone gives the indices 0, 1, ... each repeated by its count.

    Example:
        >>> import chainrule as cr
        >>> cr.repeat_interleave(cr.tensor([1, 2]), 2).tolist()
        [1, 1, 2, 2]
        >>> cr.tensor([[1, 2], [3, 4]]).repeat_interleave(cr.tensor([1, 2]), dim=0).tolist()
        [[1, 2], [3, 4], [3, 4]]
    """
    from chainrule.ops.indexing import index_select

    if repeats is None:  # torch.repeat_interleave(counts)
        given = operand(input).array
        counts = _int_array(given, "the counts")
        if counts.ndim != 1:
            raise ShapeError(f"repeat_interleave: the counts must be 1-D, got shape {counts.shape}")
        kind = given.dtype if given.dtype.kind in "iu" else np.int64  # the counts' own dtype
        x, repeats, dim = Tensor._make(np.arange(counts.size, dtype=kind), False), counts, 0
    else:
        x = operand(input)
    if dim is None:
        x, axis = x.reshape(-1), 0
    else:
        if x.ndim == 0:
            raise ShapeError("repeat_interleave: a 0-d tensor has no dim; leave dim=None")
        axis = _one_axis(x, dim, "repeat_interleave")
    n = x.shape[axis]
    counts = _int_array(repeats, "repeats")
    if counts.ndim > 1:
        raise ShapeError(f"repeat_interleave: repeats must be 0-d or 1-D, got shape {counts.shape}")
    if counts.ndim == 1 and counts.size not in (1, n):
        raise ShapeError(
            f"repeat_interleave: {counts.size} repeats for {n} slices along dim {dim}; give one "
            f"count per slice, or one for all"
        )
    if counts.size and counts.min() < 0:
        raise ValueError(f"repeat_interleave: repeats must be non-negative, got {counts.min()}")
    index = np.repeat(np.arange(n, dtype=np.int64), np.broadcast_to(counts.reshape(-1), (n,)))
    if output_size is not None and output_size != index.size:
        raise ValueError(
            f"repeat_interleave: output_size={output_size}, but the repeats give {index.size}"
        )
    return index_select(x, axis, index)


def _lower_or_upper_bound(seq: np.ndarray, values: np.ndarray, right: bool) -> np.ndarray:
    """PyTorch's binary search, step for step, on rows: seq (R, n), values (R, k). Its
    comparisons (``!(mid >= v)`` for left, ``!(mid > v)`` for right) decide NaN's place the
    same way PyTorch does; NumPy's searchsorted orders NaN differently."""
    rows = np.arange(seq.shape[0])[:, None]
    start = np.zeros(values.shape, np.int64)
    end = np.full(values.shape, seq.shape[1], np.int64)
    while True:
        active = start < end
        if not active.any():
            return start
        mid = start + ((end - start) >> 1)
        mid_val = seq[rows, np.minimum(mid, seq.shape[1] - 1)]
        go_right = ~(mid_val > values) if right else ~(mid_val >= values)
        start = np.where(active & go_right, mid + 1, start)
        end = np.where(active & ~go_right, mid, end)


def searchsorted(
    sorted_sequence, values, *, out_int32: bool = False, right: bool = False, side=None, sorter=None
) -> Tensor:
    """Where each of ``values`` would go in the ascending ``sorted_sequence`` to keep it
    sorted, as ``torch.searchsorted``: the first such index, or with ``right=True`` (or
    ``side="right"``) the last. A 1-D sequence serves every value; an N-D one gives one row
    per row of ``values`` (the leading dims must match). int64 (int32 with ``out_int32``), no
    gradient.

    Example:
        >>> import chainrule as cr
        >>> seq = cr.tensor([1.0, 2.0, 2.0, 3.0])
        >>> cr.searchsorted(seq, cr.tensor([2.0, 5.0])).tolist()
        [1, 4]
        >>> cr.searchsorted(seq, cr.tensor([2.0, 5.0]), right=True).tolist()
        [3, 4]
    """
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    seq = operand(sorted_sequence).array
    vals = operand(values).array
    if seq.dtype == np.bool_ or vals.dtype == np.bool_:
        raise DTypeError("searchsorted: bool tensors are not supported (PyTorch's rule)")
    if seq.ndim == 0:
        raise ShapeError("searchsorted: the sorted sequence must have at least 1 dimension")
    if seq.ndim > 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise ShapeError(
            f"searchsorted: a sequence of shape {seq.shape} needs values with the same leading "
            f"dims {seq.shape[:-1]}, got shape {vals.shape}; or use a 1-D sequence"
        )
    if sorter is not None:
        order = sorter.array if isinstance(sorter, Tensor) else np.asarray(sorter)
        if order.shape != seq.shape or order.dtype.kind not in "iu":
            raise ShapeError(
                f"searchsorted: sorter must be integer indices of shape {seq.shape}, got "
                f"{order.dtype} of shape {order.shape}"
            )
        seq = np.take_along_axis(seq, order.astype(np.int64), axis=-1)
    dtype = _dtype.result_type(seq, vals)  # compare as PyTorch would, in one dtype
    seq, vals = seq.astype(dtype, copy=False), vals.astype(dtype, copy=False)
    n = seq.shape[-1]
    if seq.ndim == 1:
        rows_seq, rows_val = seq.reshape(1, n), vals.reshape(1, -1)
    else:
        rows_seq, rows_val = seq.reshape(-1, n), vals.reshape(-1, vals.shape[-1])
    if n == 0:
        index = np.zeros(rows_val.shape, np.int64)
    else:
        index = _lower_or_upper_bound(rows_seq, rows_val, bool(right))
    index = index.reshape(vals.shape).astype(np.int32 if out_int32 else np.int64)
    return Tensor._make(index, False)


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:  # noqa: A002
    """The bucket of each value among the ascending 1-D ``boundaries``, as
    ``torch.bucketize``: i with boundaries[i−1] < v ≤ boundaries[i] (with ``right=True``:
    boundaries[i−1] ≤ v < boundaries[i]); that is :func:`searchsorted` with the arguments
    swapped. int64 (int32 with ``out_int32``), no gradient; a number gives a 0-d tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.bucketize(cr.tensor([0.5, 1.0, 4.0]), cr.tensor([1.0, 2.0, 3.0])).tolist()
        [0, 0, 3]
    """
    edges = operand(boundaries)
    if edges.ndim != 1:
        raise ShapeError(
            f"bucketize: boundaries must be a 1-D tensor, got shape {edges.shape}; for one "
            f"row of boundaries per row of values use searchsorted"
        )
    return searchsorted(edges, input, out_int32=out_int32, right=right)


def _mode_index(a: np.ndarray, axis: int) -> np.ndarray:
    """Per slice along ``axis`` (kept as size 1), the index of PyTorch's mode: the smallest
    of the most frequent values, at its last occurrence."""
    moved = np.moveaxis(a, axis, -1)
    n = moved.shape[-1]
    order = np.argsort(moved, axis=-1, kind="stable")  # equal values keep their input order
    s = np.take_along_axis(moved, order, axis=-1)
    starts = np.ones(s.shape, bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = np.ones(s.shape, bool)
    ends[..., :-1] = starts[..., 1:]
    position = np.arange(n)
    run_start = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    length = np.where(ends, position - run_start + 1, 0)
    best = np.argmax(length, axis=-1)[..., None]  # the first longest run: the smallest value
    index = np.take_along_axis(order, best, axis=-1)  # the run's end: the last occurrence
    return np.moveaxis(index, -1, axis)


class ModeDim(_Select):
    """``mode(x, dim)``'s values: PyTorch's ``ModeBackward0``."""


def mode(input, dim: int = -1, keepdim: bool = False) -> ModeResult:  # noqa: A002
    """The most frequent value along ``dim`` and where it occurs, as ``torch.mode``: a named
    pair ``(values, indices)``. Between equally frequent values the smallest wins; the index is
    its last occurrence (PyTorch's for up to 16 elements; beyond that its sort is unstable and
    its index may be any occurrence). The gradient goes to the picked element.

    A slice holding NaN is refused: PyTorch's answer there depends on its sort's order.

    Example:
        >>> import chainrule as cr
        >>> values, indices = cr.mode(cr.tensor([3, 1, 3, 1, 2]))
        >>> values.item(), indices.item()
        (1, 3)
    """
    x = operand(input)
    if x.ndim == 0:
        _one_axis(x.reshape(1), dim, "mode")
        return ModeResult(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    axis = _one_axis(x, dim, "mode")
    if x.shape[axis] == 0:
        raise DimensionError(f"mode(dim={dim}): dimension {dim} of shape {x.shape} is empty")
    if x.dtype.kind == "f" and np.isnan(x.array).any():
        raise ValueError(
            "mode: the input holds NaN, where PyTorch's answer depends on its sort's order; "
            "replace or drop the NaNs first (cr.nan_to_num, or masking)"
        )
    index = _mode_index(x.array, axis)
    values = ModeDim.apply(x, index=index, dim=axis, keepdim=bool(keepdim))
    indices = index if keepdim else np.squeeze(index, axis=axis)
    return ModeResult(values, Tensor._make(indices.astype(np.int64, copy=False), False))
