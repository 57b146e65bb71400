"""The few matrix steps the decompositions' derivatives need, on NumPy arrays (``backward``)
and on tensors in the graph (``backward_graph``, for second derivatives) alike: each
derivative is then written once and serves both."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


def tr(x):
    """The transpose of each matrix in a stack."""
    return x.transpose(-1, -2) if isinstance(x, Tensor) else np.swapaxes(x, -1, -2)


def tril(x, k: int = 0):
    return x.tril(k) if isinstance(x, Tensor) else np.tril(x, k)


def inv(x):
    from chainrule.ops.linalg.inverse import Inv

    return Inv.apply(x) if isinstance(x, Tensor) else np.linalg.inv(x)


def solve(a, b):
    """A⁻¹B for B (*, n, k)."""
    from chainrule.ops.linalg.inverse import Solve

    return Solve.apply(a, b) if isinstance(a, Tensor) else np.linalg.solve(a, b)


def concat(parts, axis: int):
    if isinstance(parts[0], Tensor):
        from chainrule.ops.shape import cat

        return cat(list(parts), dim=axis)
    return np.concatenate(parts, axis=axis)


def diag_embed(v):
    """Square matrices with ``v`` (*, k) on their diagonals."""
    return v[..., None] * np.eye(v.shape[-1], dtype=v.dtype)


def plus_identity(x):
    """x + I for square matrices (a matrix of gaps with 0 on its diagonal gets 1 there)."""
    return x + np.eye(x.shape[-1], dtype=x.dtype)


def nonzero(x) -> bool:
    """Whether any entry is nonzero: an output the loss does not use has a gradient of 0."""
    return bool(np.any(x.array if isinstance(x, Tensor) else x))
