"""Tensor contractions with PyTorch's names: ``inner``, ``mv`` and ``tensordot``, composed of
permute, reshape and matmul (so the gradients are matmul's)."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.matmul import matmul
from chainrule.ops.shape import permute, reshape
from chainrule.tensor import Tensor


def _same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    if a.dtype != b.dtype:
        raise DTypeError(
            f"{op}: both tensors must have the same dtype, got {a.dtype} and {b.dtype}; convert "
            f"one, e.g. b.to(a.dtype), as PyTorch requires"
        )


def tensordot(a, b, dims=2) -> Tensor:
    """Sum the products over ``dims``: the last ``dims`` dimensions of ``a`` with the first
    ``dims`` of ``b`` (an int), or the dimensions listed in ``dims = (dims_a, dims_b)``, as
    ``torch.tensordot``.

    Example:
        >>> import chainrule as cr
        >>> cr.tensordot(cr.ones(2, 3, 4), cr.ones(4, 3, 5), ([1, 2], [1, 0])).shape
        (2, 5)
    """
    a, b = operand(a), operand(b)
    _same_dtype(a, b, "tensordot")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: dims {dims} out of range for {a.shape} and {b.shape}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, (int, np.integer)) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, (int, np.integer)) else list(dims_b)
    if len(dims_a) != len(dims_b):
        raise ShapeError(f"tensordot: both sides must list as many dims, got {dims_a}, {dims_b}")
    try:
        dims_a = [int(d) % a.ndim if a.ndim else int(d) for d in dims_a]
        dims_b = [int(d) % b.ndim if b.ndim else int(d) for d in dims_b]
    except ZeroDivisionError:
        raise ShapeError("tensordot: dims out of range") from None
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(
                f"tensordot: contracted dimension {da} of a (size {a.shape[da]}) does not match "
                f"dimension {db} of b (size {b.shape[db]})"
            )
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = int(np.prod([a.shape[d] for d in dims_a]))
    # the sizes spelled out: -1 cannot be inferred next to a 0 (empty dimensions)
    m, n = (int(np.prod([x.shape[d] for d in free])) for x, free in ((a, free_a), (b, free_b)))
    left = reshape(permute(a, *free_a, *dims_a), m, k) if a.ndim else reshape(a, 1, 1)
    right = reshape(permute(b, *dims_b, *free_b), k, n) if b.ndim else reshape(b, 1, 1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return reshape(matmul(left, right), *shape)


def inner(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """The sum of products over the last dimension of both (a product when either is 0-d):
    shape ``input.shape[:-1] + other.shape[:-1]``, as ``torch.inner``.

    Example:
        >>> import chainrule as cr
        >>> cr.inner(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).item()
        11.0
    """
    a, b = operand(input), operand(other)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    _same_dtype(a, b, "inner")
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"inner: the last dimensions must match, got shapes {a.shape} and {b.shape}"
        )
    return tensordot(a, b, ([-1], [-1]))


def mv(input, vec) -> Tensor:  # noqa: A002
    """Matrix times vector: a 2-D ``input`` (n, m) and a 1-D ``vec`` (m,) give (n,)."""
    a, v = operand(input), operand(vec)
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        raise ShapeError(
            f"mv: needs a matrix (n, m) and a vector (m,), got shapes {a.shape} and {v.shape}"
        )
    _same_dtype(a, v, "mv")
    return matmul(a, v)
