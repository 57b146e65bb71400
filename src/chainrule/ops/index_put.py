"""``index_put``: write (or add) values at the positions a tuple of index tensors names, as
``torch.index_put`` and ``Tensor.index_put_`` (``x[i, j] = v`` and ``x[i, j] += v`` with
repeated positions counted, in one call).

Composed of :func:`index_copy` / :func:`index_add` along the flattened indexed dimensions, so
its gradients are theirs: the input gets the upstream gradient except where a value replaced
it, each value gets the gradient of every position it went to.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.index_write import index_add, index_copy
from chainrule.ops.shape import broadcast_to
from chainrule.tensor import Tensor


def _positions(indices, shape: tuple) -> np.ndarray:
    """The index tensors as arrays, one per leading dimension they cover (a bool mask covers
    as many as it has), broadcast together and counted from 0."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put: indices must be a tuple of index tensors, e.g. (rows, cols); got "
            f"{type(indices).__name__}"
        )
    arrays = []
    for index in indices:
        array = index.array if isinstance(index, Tensor) else np.asarray(index)
        if array.dtype == np.bool_:
            arrays.extend(np.nonzero(array))
        elif array.dtype.kind in "iu":
            arrays.append(array.astype(np.int64, copy=False))
        else:
            raise IndexError(
                f"tensors used as indices must be long, int, byte or bool tensors, got dtype "
                f"{array.dtype} (as in PyTorch)"
            )
    if len(arrays) > len(shape):
        raise IndexError(
            f"index_put: too many indices for a tensor of shape {shape}: {len(arrays)} given"
        )
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        raise IndexError(  # PyTorch's class and words
            f"shape mismatch: indexing tensors could not be broadcast together with shapes "
            f"{[a.shape for a in arrays]}"
        ) from None
    wrapped = []
    for dim, (array, size) in enumerate(zip(arrays, shape)):
        bad = (array < -size) | (array >= size)
        if bad.any():
            raise IndexOutOfRangeError(
                f"index {int(array[bad][0])} is out of bounds for dimension {dim} with size {size}"
            )
        wrapped.append(np.where(array < 0, array + size, array))
    return np.stack(wrapped) if wrapped else np.zeros((0,), np.int64)


def index_put(input, indices, values, accumulate: bool = False) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``values`` written at ``input[indices]`` (added there with
    ``accumulate=True``, a position named twice getting both), as ``torch.index_put``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.zeros(2, 3)
        >>> rows, cols = cr.tensor([0, 0, 1]), cr.tensor([2, 2, 0])
        >>> cr.index_put(x, (rows, cols), cr.tensor([1.0, 2.0, 5.0]), accumulate=True).tolist()
        [[0.0, 0.0, 3.0], [5.0, 0.0, 0.0]]
    """
    x = operand(input)
    positions = _positions(indices, x.shape)
    values = operand(values, like=x)
    if values.dtype != x.dtype:
        raise DTypeError(
            f"Index put requires the source and destination dtypes match, got {x.dtype} for "
            f"the destination and {values.dtype} for the source (as in PyTorch)"
        )
    lead, rest = x.shape[: len(positions)], x.shape[len(positions) :]
    if not len(positions):  # no index: every element, as x[()] = v
        values = broadcast_to(values, x.shape)
        return x + values if accumulate else values + x * 0
    target = positions.shape[1:] + rest
    try:
        values = broadcast_to(values, target)
    except ValueError:
        raise ShapeError(
            f"shape mismatch: value tensor of shape {values.shape} cannot be broadcast to "
            f"indexing result of shape {target}"
        ) from None
    rows = np.ravel_multi_index(tuple(positions.reshape(len(lead), -1)), lead)
    flat = x.reshape((math.prod(lead),) + rest)
    values = values.reshape((rows.size,) + rest)
    out = (index_add if accumulate else index_copy)(flat, 0, Tensor._make(rows, False), values)
    return out.reshape(x.shape)


def index_put_(input, indices, values, accumulate: bool = False) -> Tensor:  # noqa: A002
    """``input.index_put_(indices, values, accumulate)``, as ``torch.index_put_``: in place."""
    return operand(input).index_put_(indices, values, accumulate)
