"""Sorting along one axis: ``sort``, ``argsort`` and ``topk``, as PyTorch spells them.

The order is NumPy's stable sort (ties keep their input order, which PyTorch allows and gives
with ``stable=True``); NaN sorts as the largest value, last ascending and first descending, as
in PyTorch. The values are a gather (:class:`Sort`, :class:`Topk`) of the input, so the
gradient flows back to the entries they came from; the indices are integers, outside the graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.errors import ShapeError
from chainrule.ops._util import normalize_axis, operand
from chainrule.ops.indexing import Gather
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


class Sort(Gather):
    """sort's values, the input gathered in sorted order: PyTorch's ``SortBackward0``."""


class Topk(Gather):
    """topk's values, the input gathered at the top k: PyTorch's ``TopkBackward0``."""


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``axis``; descending keeps ties in input order too (the reversed
    input sorted ascending, then reversed back), and NaN first."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    reversed_order = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (a.shape[axis] - 1) - np.flip(reversed_order, axis)


def _prepare(x, dim, op: str):
    x = operand(x)
    if x.ndim == 0:
        normalize_axis(None, dim, 0, op)  # -1 and 0 name a 0-d tensor's one place
        return x, None
    return x, _one_axis(x, dim, op)


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (an int64 tensor), as ``torch.argsort``.

    Example:
        >>> import chainrule as cr
        >>> cr.argsort(cr.tensor([3.0, 1.0, 2.0])).tolist()
        [1, 2, 0]
    """
    x, axis = _prepare(x, dim, "argsort")
    if axis is None:
        return Tensor._make(np.zeros((), dtype=np.int64), False)
    return Tensor._make(_order(x.array, axis, descending).astype(np.int64, copy=False), False)


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """``(values, indices)`` of ``x`` sorted along ``dim``, as ``torch.sort``; the values carry
    the gradient back to the entries they came from.

    Example:
        >>> import chainrule as cr
        >>> values, indices = cr.tensor([[3.0, 1.0, 3.0, 2.0]]).sort(descending=True)
        >>> values.tolist(), indices.tolist()
        ([[3.0, 3.0, 2.0, 1.0]], [[0, 2, 3, 1]])
    """
    x, axis = _prepare(x, dim, "sort")
    if axis is None:
        return SortResult(x.clone(), Tensor._make(np.zeros((), dtype=np.int64), False))
    index = Tensor._make(_order(x.array, axis, descending).astype(np.int64, copy=False), False)
    return SortResult(Sort.apply(x, dim=axis, index=index.array), index)


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopkResult:  # noqa: A002
    """The ``k`` largest (or, with ``largest=False``, smallest) entries along ``dim`` and their
    indices, as ``torch.topk``; always in sorted order (PyTorch leaves ``sorted=False``'s order
    unspecified).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[0.1, 0.7, 0.2]]).topk(2).indices.tolist()
        [[1, 2]]
    """
    x, axis = _prepare(x, dim, "topk")
    n = 1 if axis is None else x.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ShapeError(f"topk: k must be an integer from 0 to {n} (the size of dim), got {k!r}")
    if axis is None:
        return TopkResult(x * 1, Tensor._make(np.zeros((), dtype=np.int64), False))
    order = _order(x.array, axis, descending=largest)
    first = np.take(order, np.arange(k), axis=axis).astype(np.int64, copy=False)
    index = Tensor._make(first, False)
    return TopkResult(Topk.apply(x, dim=axis, index=first), index)
