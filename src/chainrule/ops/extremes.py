"""Extremes with PyTorch's names: ``fmax``/``fmin`` (NaN-ignoring maximum and minimum),
running ``cummax``/``cummin``, ``kthvalue`` and ``msort``.

The values of cummax, cummin and kthvalue are a :func:`chainrule.gather` of the input at their
indices, so the gradient flows back to the entries they came from; the indices are integers,
outside the graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import check_broadcast, check_int, operand, operands
from chainrule.ops.elementwise import _masked_graph
from chainrule.ops.indexing import Gather, gather
from chainrule.ops.reduce import _Select
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])


def _tie_to_a(extreme, nan_aware, a, b):
    """fmax/fmin with PyTorch's answer on a tie, ``a`` (fmax(−0, 0) is −0): NumPy's own
    fmax gives either zero, by array size; its maximum(b, a) gives a, but NaN wins there."""
    out = extreme(b, a)
    if out.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():
            out = np.where(nan, nan_aware(a, b), out)
    return out


class FMax(Function):
    """max(a, b) elementwise where NaN loses to a number; a tie gives the gradient to a, as in
    PyTorch (``maximum`` splits it)."""

    label = "fmax"
    formulas = ("1 if a ≥ b or b is NaN, else 0", "1 if b > a or a, b unordered, else 0")

    def forward(self, a, b):
        self.a, self.b = a, b
        return _tie_to_a(np.maximum, np.fmax, a, b)

    def backward(self, grad):
        return _nan_aware_grads(self, grad, np.greater_equal)

    def backward_graph(self, grad):
        """``grad`` times the constant masks above (for second derivatives)."""
        return _masked_graph(self, grad)


class FMin(Function):
    """min(a, b) elementwise where NaN loses to a number; a tie gives the gradient to a."""

    label = "fmin"
    formulas = ("1 if a ≤ b or b is NaN, else 0", "1 if b < a or a, b unordered, else 0")

    def forward(self, a, b):
        self.a, self.b = a, b
        return _tie_to_a(np.minimum, np.fmin, a, b)

    def backward(self, grad):
        return _nan_aware_grads(self, grad, np.less_equal)

    def backward_graph(self, grad):
        """``grad`` times the constant masks above (for second derivatives)."""
        return _masked_graph(self, grad)


def _nan_aware_grads(op, grad, keeps_a):
    # PyTorch's rule: a gets the gradient where (a ⋚ b) or b is NaN, b everywhere else
    to_a = keeps_a(op.a, op.b) | np.isnan(op.b)
    grad_a = np.where(to_a, grad, 0) if op.needs_grad[0] else None
    grad_b = np.where(to_a, 0, grad) if op.needs_grad[1] else None
    return grad_a, grad_b


def _fextreme(cls, a, b) -> Tensor:
    a, b = operands(a, b)
    if a.array.shape != b.array.shape:
        check_broadcast(cls.label, a.array, b.array)
    if a.array.dtype.kind in "biu":  # no NaN: NumPy's fmax on integers is maximum
        return Tensor._make(cls.forward(cls(), a.array, b.array), False)
    return cls.apply(a, b)


def fmax(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """The elementwise maximum, where a NaN loses to a number (``maximum`` propagates NaN).

    Example:
        >>> import chainrule as cr
        >>> cr.fmax(cr.tensor([1.0, float("nan")]), cr.tensor([float("nan"), 2.0])).tolist()
        [1.0, 2.0]
    """
    return _fextreme(FMax, input, other)


def fmin(input, other) -> Tensor:  # noqa: A002
    """The elementwise minimum, where a NaN loses to a number."""
    return _fextreme(FMin, input, other)


def _running_index(a: np.ndarray, axis: int, accumulate, better) -> np.ndarray:
    """PyTorch's cummax/cummin indices: the last position so far holding the running extreme
    (ties move it on), and once a NaN is seen, the last NaN."""
    best = accumulate(a, axis=axis)
    hit = better(a, best)  # a position that matches the running extreme reached there
    if a.dtype.kind == "f":
        hit |= np.isnan(a)
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    positions = np.arange(a.shape[axis], dtype=np.int64).reshape(shape)
    return np.maximum.accumulate(np.where(hit, positions, 0), axis=axis)


class Cummax(Gather):
    """cummax's values, the input gathered at the running maxima: ``CummaxBackward0``."""


class Cummin(Gather):
    """cummin's values, the input gathered at the running minima: ``CumminBackward0``."""


def _cumulative(x, dim, accumulate, result, op: str):
    x = operand(x)
    if x.ndim == 0:
        _one_axis(x.reshape(1), dim, op)
        return result(x.reshape(()), Tensor._make(np.zeros((), np.int64), False))
    axis = _one_axis(x, dim, op)
    if x.shape[axis] == 0:
        empty = Tensor._make(np.zeros(x.shape, np.int64), False)
        return result(gather(x, axis, empty), empty)
    index = _running_index(x.array, axis, accumulate, np.equal)
    values = (Cummax if op == "cummax" else Cummin).apply(x, dim=axis, index=index)
    return result(values, Tensor._make(index, False))


def cummax(input, dim: int):  # noqa: A002
    """Running maxima along ``dim`` and where they are, ``(values, indices)``, as
    ``torch.cummax`` (a tie moves the index on; a NaN stays the maximum once seen).

    Example:
        >>> import chainrule as cr
        >>> cr.cummax(cr.tensor([1.0, 3.0, 2.0, 3.0]), 0).indices.tolist()
        [0, 1, 1, 3]
    """
    return _cumulative(input, dim, np.maximum.accumulate, CummaxResult, "cummax")


def cummin(input, dim: int):  # noqa: A002
    """Running minima along ``dim`` and where they are, ``(values, indices)``, as
    ``torch.cummin``."""
    return _cumulative(input, dim, np.minimum.accumulate, CumminResult, "cummin")


class Kthvalue(_Select):
    """``kthvalue``'s values: PyTorch's ``KthvalueBackward0``."""


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):  # noqa: A002
    """The ``k``-th smallest value along ``dim`` and its index, ``(values, indices)``, as
    ``torch.kthvalue`` (NaN counts as the largest). Where the k-th value occurs more than once,
    the index is the one PyTorch's CPU quickselect names (not always the first of them).

    Example:
        >>> import chainrule as cr
        >>> cr.kthvalue(cr.tensor([3.0, 1.0, 2.0]), 2)
        kthvalue(values=tensor(2.), indices=tensor(2))
    """
    x = operand(input)
    scalar = x.ndim == 0
    if scalar:
        x = x.reshape(1)
    axis = _one_axis(x, dim, "kthvalue")
    n = x.shape[axis]
    if not 1 <= check_int(k, "k", "kthvalue") <= n:
        raise ShapeError(f"kthvalue: k ({k}) is out of range for dimension {dim} of size {n}")
    order = np.argsort(x.array, axis=axis, kind="stable")
    index = np.take(order, [k - 1], axis=axis)
    _pytorch_tie_index(x.array, index, k, axis)
    if scalar:
        values = gather(x, axis, Tensor._make(index, False))
        return KthvalueResult(values.reshape(()), Tensor._make(index.reshape(()), False))
    values = Kthvalue.apply(x, index=index, dim=axis, keepdim=bool(keepdim))
    if not keepdim:
        index = np.squeeze(index, axis)
    return KthvalueResult(values, Tensor._make(index, False))


def _pytorch_tie_index(array: np.ndarray, index: np.ndarray, k: int, axis: int) -> None:
    """Where the k-th value of a row occurs more than once, put into ``index`` (in place) the
    position PyTorch's quickselect ends on: which of the equal entries that is depends on the
    whole row, so those rows, and only those, run the same quickselect here."""
    rows = np.moveaxis(array, axis, -1)
    picks = np.moveaxis(index, axis, -1)
    kth = np.take_along_axis(rows, picks, -1)
    equal = rows == kth
    if rows.dtype.kind in "fc":
        equal |= np.isnan(rows) & np.isnan(kth)
    for where in np.argwhere(equal.sum(-1) > 1):  # (shape (1, 0) for one row: where = ())
        where = tuple(where)
        picks[where] = _quickselect_index(rows[where].tolist(), k - 1)


def _quickselect_index(values: list, k: int) -> int:
    """The original position of the entry that PyTorch's CPU ``quick_select_template``
    (median-of-three pivot, NaN largest) leaves at position ``k`` of ``values``."""
    order = list(range(len(values)))

    def greater(a, b):  # PyTorch's comparison: NaN above every number
        return a > b or (a != a and b == b)

    def swap(i, j):
        values[i], values[j] = values[j], values[i]
        order[i], order[j] = order[j], order[i]

    low, high = 0, len(values) - 1
    while high > low:
        if high == low + 1:
            if greater(values[low], values[high]):
                swap(low, high)
            break
        swap(low + (high - low) // 2, low + 1)
        if greater(values[low + 1], values[high]):
            swap(low + 1, high)
        if greater(values[low], values[high]):
            swap(low, high)
        if greater(values[low + 1], values[low]):
            swap(low + 1, low)
        i, j, pivot = low + 1, high, values[low]
        while True:
            i += 1
            while greater(pivot, values[i]):
                i += 1
            j -= 1
            while greater(values[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(low, j)
        if j <= k:
            low = i
        if j >= k:
            high = j - 1
    return order[k]


def msort(input) -> Tensor:  # noqa: A002
    """The values sorted along dim 0, as ``torch.msort`` (``sort(input, 0).values``)."""
    from chainrule.ops.sorting import sort

    return sort(input, 0).values


AminmaxResult = namedtuple("aminmax", ["min", "max"])


def aminmax(input, *, dim=None, keepdim: bool = False):  # noqa: A002
    """The smallest and largest values, over every element or along ``dim``, as
    ``torch.aminmax``: a named pair ``(min, max)`` of ``amin`` and ``amax`` (ties share the
    gradient)."""
    from chainrule.ops.reduce import amax, amin

    return AminmaxResult(amin(input, dim, keepdim), amax(input, dim, keepdim))
