"""Grids with PyTorch's names: ``meshgrid`` and ``cartesian_prod`` of 1-D tensors (built from
reshape, broadcast and stack, so gradients flow back to the inputs with no code of their own),
and the int64 index grids ``tril_indices`` and ``triu_indices`` (no gradient).
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule._device import check_device
from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.ops import shape as _shape
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def _vectors(tensors, op: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])  # meshgrid([a, b]) as meshgrid(a, b)
    if not tensors:
        raise ShapeError(f"{op} expects a non-empty list of tensors")
    tensors = [operand(t) for t in tensors]
    if len({t.array.dtype for t in tensors}) > 1:
        dtypes = ", ".join(str(t.array.dtype) for t in tensors)
        raise DTypeError(f"{op} expects all tensors to have the same dtype, got {dtypes}")
    return tensors


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 0-D or 1-D tensors, as ``torch.meshgrid``: with ``indexing='ij'``
    (PyTorch's default) output ``k`` varies along dim ``k``; with ``'xy'`` the first two dims
    are swapped (NumPy's and MATLAB's convention). Unlike PyTorch, leaving ``indexing`` out
    does not warn.

    Example:
        >>> import chainrule as cr
        >>> rows, cols = cr.meshgrid(cr.tensor([1, 2]), cr.tensor([3, 4, 5]), indexing="ij")
        >>> rows.tolist(), cols.shape
        ([[1, 1, 1], [2, 2, 2]], (2, 3))
    """
    if indexing not in ("ij", "xy"):
        raise ValueError(
            f"meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing!r}"
        )
    vectors = _vectors(tensors, "meshgrid")
    for i, t in enumerate(vectors):
        if t.ndim > 1:
            raise DimensionError(
                f"meshgrid expects 0-D or 1-D tensors, got tensor {i} of shape {t.shape}; "
                f"flatten it first"
            )
    vectors = [t.reshape(-1) for t in vectors]
    sizes = [t.shape[0] for t in vectors]
    axes = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) >= 2:
        axes[0], axes[1] = 1, 0  # input k still varies along output dim axes[k]
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for t, axis in zip(vectors, axes):
        column = [1] * len(vectors)
        column[axis] = t.shape[0]
        grids.append(_shape.broadcast_to(t.reshape(*column), sizes))
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of the elements of 1-D tensors, one per row, in the order of nested
    loops, as ``torch.cartesian_prod`` (one tensor comes back as it is).

    Example:
        >>> import chainrule as cr
        >>> cr.cartesian_prod(cr.tensor([1, 2]), cr.tensor([3, 4])).tolist()
        [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    vectors = _vectors(tensors, "cartesian_prod")
    for i, t in enumerate(vectors):
        if t.ndim != 1:
            raise DimensionError(
                f"cartesian_prod expects 1-D tensors, got tensor {i} of shape {t.shape}"
            )
    if len(vectors) == 1:
        return vectors[0]
    grids = meshgrid(*vectors, indexing="ij")
    return _shape.stack([g.reshape(-1) for g in grids], dim=1)


def _index_grid(op: str, row: int, col: int, offset: int, dtype, device, lower: bool) -> Tensor:
    check_device(device)
    for name, value in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{op}: {name} must be an integer, got {value!r}")
    if row < 0 or col < 0:
        raise ShapeError(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    resolved = np.dtype(np.int64) if dtype is None else _dtype.resolve_dtype(dtype)
    if resolved.kind not in "iu":
        raise DTypeError(f"{op}: dtype must be an integer type (int64 or int32), got {resolved}")
    pick = np.tril_indices if lower else np.triu_indices
    rows, cols = pick(int(row), int(offset), int(col))
    return Tensor._make(np.stack([rows, cols]).astype(resolved).reshape(2, -1), False)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a ``row × col`` matrix,
    row by row, as ``torch.tril_indices`` (``offset`` > 0 takes diagonals above the main one).

    Example:
        >>> import chainrule as cr
        >>> cr.tril_indices(3, 3).tolist()
        [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    """
    return _index_grid("tril_indices", row, col, offset, dtype, device, lower=True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a ``row × col`` matrix,
    row by row, as ``torch.triu_indices`` (``offset`` < 0 takes diagonals below the main one).

    Example:
        >>> import chainrule as cr
        >>> cr.triu_indices(2, 3).tolist()
        [[0, 0, 0, 1, 1], [0, 1, 2, 1, 2]]
    """
    return _index_grid("triu_indices", row, col, offset, dtype, device, lower=False)
