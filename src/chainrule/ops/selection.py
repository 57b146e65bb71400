"""Picking elements by value or position, as PyTorch spells it: median, unique, nonzero,
argwhere, bincount, masked_select.

``median`` is differentiable (the gradient goes to the one element it picked, as ``max(dim)``);
``masked_select`` is indexing (the gradient goes back to the selected elements); the others
count or locate and answer integer tensors that record nothing in the graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.reduce import _Select
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor

# torch.return_types.median: a named pair that unpacks as (values, indices)
MedianResult = namedtuple("median", ["values", "indices"])
NanMedianResult = namedtuple("nanmedian", ["values", "indices"])


def _median_index(a: np.ndarray, axis: int, skip_nan: bool = False) -> np.ndarray:
    """Per slice along ``axis``, the index of PyTorch's median: the lower of the two middle
    values (not their mean, as NumPy's), or the first NaN where the slice holds one; with
    ``skip_nan`` (``nanmedian``) the lower middle of the values that are not NaN."""
    n = a.shape[axis]
    order = np.argsort(a, axis=axis, kind="stable")  # NaN sorts last, in input order
    k = np.full(a.shape[:axis] + (1,) + a.shape[axis + 1 :], (n - 1) // 2)
    if a.dtype.kind == "f":
        nans = np.isnan(a).sum(axis=axis, keepdims=True)
        # an all-NaN slice picks its first NaN in both forms
        k = np.maximum((n - nans - 1) // 2, 0) if skip_nan else np.where(nans > 0, n - nans, k)
    return np.take_along_axis(order, k, axis=axis)


class MedianAll(Function):
    """The median of all elements.  Local derivative: shared evenly by the elements equal to it
    (the NaNs, when it is NaN), as PyTorch's ``median()`` (which ``median(dim)`` does not do:
    there the gradient goes to the one element picked, as ``max(dim)``)."""

    label = "median"
    formulas = ("1/k at the k elements equal to the median, else 0",)
    grads_match_inputs = True

    def forward(self, x):
        flat = x.reshape(-1)
        self.x = x
        self.out = flat[_median_index(flat, 0)[0]]
        return np.asarray(self.out)

    def backward(self, grad):
        x, out = self.x, self.out
        ties = np.isnan(x) if np.isnan(out) else (x == out)
        return (np.where(ties, grad / np.count_nonzero(ties), np.zeros((), grad.dtype)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where

        ties = np.isnan(self.x) if np.isnan(self.out) else (self.x == self.out)
        return (where(ties, grad / np.count_nonzero(ties), 0),)


class NanMedianAll(MedianAll):
    """The median of the elements that are not NaN (NaN when all are).  Local derivative:
    shared evenly by the elements equal to it, as PyTorch's ``nanmedian()``."""

    label = "nanmedian"

    def forward(self, x):
        flat = x.reshape(-1)
        self.x = x
        self.out = flat[_median_index(flat, 0, skip_nan=True)[0]]
        return np.asarray(self.out)


class MedianDim(_Select):
    """``median(x, dim)``'s values: PyTorch's ``MedianBackward1``."""


def median(x, dim=None, keepdim: bool = False):
    """PyTorch's median: the lower middle value (for an even count, the smaller of the two
    middles; NumPy's ``median`` averages them), NaN if a NaN is present.

    ``median(x)`` is one value over all elements; ``median(x, dim)`` is a named pair
    ``(values, indices)``. As in PyTorch, ``median(x)`` shares the gradient evenly among the
    elements equal to it (ties, or the NaNs) and ``median(x, dim)`` gives it to the picked one.

    Example:
        >>> import chainrule as cr
        >>> cr.median(cr.tensor([3.0, 1.0, 4.0, 2.0])).item()
        2.0
        >>> cr.tensor([[3.0, 1.0, 2.0]]).median(1).indices.tolist()
        [2]
    """
    return _median("median", x, dim, keepdim)


def _median(op: str, x, dim, keepdim: bool):
    """``median`` or ``nanmedian`` (``op``), over all elements or along ``dim``."""
    result = NanMedianResult if op == "nanmedian" else MedianResult
    x = operand(x)
    if x.array.dtype == np.bool_:
        raise DTypeError(f"{op} of a bool tensor is not defined (as in PyTorch); convert first")
    if x.array.ndim == 0 and dim is not None:  # PyTorch takes dim 0 or -1 of a 0-d tensor
        _one_axis(x.reshape(1), dim, op)
        return result(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    if dim is None:
        if x.array.size == 0:
            if x.array.dtype.kind != "f":
                raise ShapeError(f"{op}() of an empty integer tensor has no value")
            if x.requires_grad:  # NaN, in the graph with a zero gradient, as PyTorch
                return x.sum() * 0 + np.nan
            return Tensor._make(np.array(np.nan, x.array.dtype), False)
        return (NanMedianAll if op == "nanmedian" else MedianAll).apply(x)
    axis = _one_axis(x, dim, op)
    if x.array.ndim == 0:
        return result(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    if x.array.shape[axis] == 0:  # an IndexError too, as PyTorch's
        raise DimensionError(
            f"{op}(dim={dim}): dimension {dim} of shape {x.shape} is empty; there is no median"
        )
    index = _median_index(x.array, axis, skip_nan=op == "nanmedian")
    values = MedianDim.apply(x, index=index, dim=axis, keepdim=bool(keepdim))
    indices = index if keepdim else np.squeeze(index, axis=axis)
    return result(values, Tensor._make(indices.astype(np.int64, copy=False), False))


def nanmedian(x, dim=None, keepdim: bool = False):
    """``median`` of the values that are not NaN, as ``torch.nanmedian``: the lower middle
    one, NaN only for an all-NaN (or empty) input or slice. ``nanmedian(x)`` shares the
    gradient evenly among the elements equal to it; ``nanmedian(x, dim)`` is a named pair
    ``(values, indices)`` whose gradient goes to the picked element.

    Example:
        >>> import chainrule as cr
        >>> cr.nanmedian(cr.tensor([3.0, float("nan"), 1.0, 2.0])).item()
        2.0
    """
    return _median("nanmedian", x, dim, keepdim)


def unique(
    x, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None
):  # noqa: A002
    """The distinct values of ``x`` in ascending order (``dim``: the distinct slices along
    it), as ``torch.unique``; with ``return_inverse`` also where each element went, with
    ``return_counts`` how often each value occurs (both int64). Not differentiable.

    ``sorted=False`` is accepted and still sorts (PyTorch leaves that order unspecified).

    Example:
        >>> import chainrule as cr
        >>> values, counts = cr.unique(cr.tensor([3, 1, 3]), return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 3], [1, 2])
    """
    x = operand(x)
    axis = None if dim is None else _one_axis(x, dim, "unique")
    values, inverse, counts = np.unique(
        x.array, return_inverse=True, return_counts=True, axis=axis, equal_nan=False
    )
    if axis is None:
        inverse = inverse.reshape(x.array.shape)
    out = [Tensor._make(values, False)]
    if return_inverse:
        out.append(Tensor._make(inverse.astype(np.int64, copy=False), False))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64, copy=False), False))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """``x`` with each run of equal consecutive values kept once (``dim``: runs of equal
    slices along it; else the flattened tensor), as ``torch.unique_consecutive``; with
    ``return_inverse`` also which run each element (slice) belongs to, with ``return_counts``
    each run's length (both int64). Not differentiable. NaNs never equal each other.

    Example:
        >>> import chainrule as cr
        >>> values, counts = cr.unique_consecutive(cr.tensor([1, 1, 2, 1]), return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 2, 1], [2, 1, 1])
    """
    x = operand(x)
    a = x.array
    if dim is None:
        rows, shape = a.reshape(-1, 1), a.shape
    else:
        if a.ndim == 0:
            raise DimensionError(f"unique_consecutive: dim {dim} given, but x has no dimensions")
        axis = _one_axis(x, dim, "unique_consecutive")
        moved = np.moveaxis(a, axis, 0)
        if 0 in moved.shape[1:]:
            raise ShapeError(
                f"unique_consecutive(dim={dim}): x of shape {x.shape} has an empty dimension "
                f"other than dim, so there are no slices to compare; pick the empty dim"
            )
        rows = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
        shape = (moved.shape[0],)
    # a run starts where a row differs from the one before it (NaN != NaN starts a run)
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = np.any(rows[1:] != rows[:-1], axis=1) if rows.shape[1] else False
    first = np.flatnonzero(starts)
    if dim is None:
        values = a.reshape(-1)[first]
    else:
        values = np.moveaxis(np.moveaxis(a, axis, 0)[first], 0, axis)
    out = [Tensor._make(np.ascontiguousarray(values), False)]
    if return_inverse:
        inverse = (np.cumsum(starts) - 1).astype(np.int64).reshape(shape)
        out.append(Tensor._make(inverse, False))
    if return_counts:
        counts = np.diff(np.append(first, len(rows))).astype(np.int64)
        out.append(Tensor._make(counts, False))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x, *, as_tuple: bool = False):
    """Where ``x`` is not zero: an (n, ndim) int64 tensor of indices, one row per element in
    C order, as ``torch.nonzero``; with ``as_tuple=True`` one 1-D index tensor per dimension
    (what ``x[...]`` takes). Not differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.nonzero(cr.tensor([[0, 1], [2, 0]])).tolist()
        [[0, 1], [1, 0]]
    """
    a = operand(x).array
    if as_tuple:
        if a.ndim == 0:  # PyTorch treats a 0-d tensor as one element of a 1-d one
            return (Tensor._make(np.nonzero(a.reshape(1))[0].astype(np.int64), False),)
        return tuple(Tensor._make(i.astype(np.int64, copy=False), False) for i in np.nonzero(a))
    return Tensor._make(np.argwhere(a).astype(np.int64, copy=False), False)


def argwhere(x) -> Tensor:
    """``nonzero(x)``: the (n, ndim) indices of the non-zero elements (``torch.argwhere``)."""
    return nonzero(x)


def bincount(x, weights=None, minlength: int = 0) -> Tensor:
    """How often each non-negative integer occurs in the 1-D ``x`` (int64), or the sum of
    ``weights`` per value, as ``torch.bincount``: float weights keep their dtype, integer
    weights give float64. Not differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.bincount(cr.tensor([0, 1, 1, 3])).tolist()
        [1, 2, 0, 1]
    """
    a = operand(x).array
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise DTypeError(
            f"bincount needs a 1-D tensor of non-negative integers, got {a.dtype} of shape "
            f"{a.shape}"
        )
    if a.size and a.min() < 0:
        raise ValueError(f"bincount needs non-negative integers, got {a.min()}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be >= 0, got {minlength}")
    if weights is None:
        return Tensor._make(np.bincount(a, minlength=minlength).astype(np.int64), False)
    w = operand(weights).array
    if w.shape != a.shape:
        raise ShapeError(f"bincount: weights of shape {w.shape} for input of shape {a.shape}")
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    counts = np.bincount(a, weights=w.astype(np.float64), minlength=minlength)
    return Tensor._make(counts.astype(dtype), False)


def histc(input, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of ``input``'s elements in ``bins`` equal-width bins from ``min`` to ``max``, as
    ``torch.histc``: values outside (and NaN) are left out, the last bin includes ``max``, and
    ``min == max`` takes the data's own range (widened by 1 each way if that is one value too).
    Float input only; the counts have its dtype. Not differentiable (no gradient, as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.histc(cr.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=3).tolist()
        [0.0, 2.0, 1.0, 0.0]
    """
    from chainrule._ranges import torch_linspace
    from chainrule.errors import DTypeNotImplementedError

    a = operand(input).array
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise TypeError(f"histc(): argument 'bins' must be int, not {type(bins).__name__}")
    if a.dtype.kind != "f":
        raise DTypeNotImplementedError(
            f"histc is not implemented for {a.dtype}, as in PyTorch; convert first, e.g. x.float()"
        )
    if bins <= 0:
        raise ValueError(f"histc: bins must be > 0, but got {bins}")
    low, high = float(min), float(max)
    if low == high and a.size:
        low, high = float(a.min()), float(a.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"histc: range of [{low}, {high}] is not finite")
    if low > high:
        raise ValueError("histc: max must be larger than min")
    edges = torch_linspace(low, high, bins + 1, a.dtype)
    left, right = edges[0], edges[-1]
    inside = a[(a >= left) & (a <= right)]
    # PyTorch's rule: the bin by one division in the input's dtype (not by the edges)
    position = ((inside - left) * a.dtype.type(bins) / (right - left)).astype(np.int64)
    position[position == bins] = bins - 1  # the last bin includes its right edge
    return Tensor._make(np.bincount(position, minlength=bins).astype(a.dtype), False)


def masked_select(x, mask) -> Tensor:
    """The elements of ``x`` where the bool ``mask`` (broadcast to a common shape) is True, as
    one 1-D tensor in C order (``torch.masked_select``); differentiable in ``x``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> cr.masked_select(x, x > 2).tolist()
        [3.0, 4.0]
    """
    x = operand(x)
    m = operand(mask).array
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_select needs a bool mask, got {m.dtype}; compare first: x > 0")
    shape = np.broadcast_shapes(x.array.shape, m.shape)
    if shape != x.array.shape:
        x = x.expand(*shape)
    return x[np.broadcast_to(m, shape)]
