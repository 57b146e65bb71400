"""Least squares, ``torch.linalg.lstsq``: the minimum-norm X minimizing ‖A X − B‖ for each
matrix, as pinv(A) @ B, so its gradient is that of the pseudo-inverse (PyTorch's backward
also differentiates pinv(A) @ B). The other outputs (residuals, rank, singular values) are
filled as PyTorch's driver would fill them, and carry no gradient, as PyTorch's."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.linalg._checks import matrices
from chainrule.ops.linalg._named import LinalgLstsqProduct, LinalgLstsqVectorOutput, reshaped
from chainrule.tensor import Tensor

LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None) -> LstsqResult:  # noqa: N803 - PyTorch's names
    """The least-squares solution of A X = B, as ``torch.linalg.lstsq``: ``A`` (*, m, n),
    ``B`` (*, m, k) with as many dims as ``A`` (the batch dims broadcast), or vectors of shape
    ``A.shape[:-1]``. Singular values at or below ``rcond``·S_max (default eps·max(m, n))
    count as 0, so a rank-deficient A gets the minimum-norm solution.

    Returns (solution, residuals, rank, singular_values) as PyTorch's CPU drivers do:
    ``residuals`` (‖A X − B‖² per column) when m > n, every A has full rank and the driver is
    not ``"gelsy"`` (the default), else empty; ``rank`` for ``"gelsy"``, ``"gelsd"`` and
    ``"gelss"``; ``singular_values`` for ``"gelsd"`` and ``"gelss"``. ``"gels"`` assumes
    full rank, as LAPACK's.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> X = cr.linalg.lstsq(A, cr.tensor([1.0, 1.0, 2.0])).solution
        >>> [round(v, 4) for v in X.tolist()]
        [1.0, 1.0]
    """
    from chainrule.ops.linalg.spectral import pinv

    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise ValueError(f"linalg.lstsq: driver must be one of {_DRIVERS}, got {driver!r}")
    a, b = matrices(A, "lstsq", square=False), operand(B)
    if a.ndim - b.ndim not in (0, 1):
        raise ShapeError(
            f"linalg.lstsq: B must be a batch of matrices (*, m, k) with A's number of dims, or "
            f"of vectors of shape A.shape[:-1]; got A {a.shape} and B {b.shape}"
        )
    vector = a.ndim - b.ndim == 1  # PyTorch's rule here: one dim fewer is a vector
    if vector and b.shape != a.shape[:-1]:
        raise ShapeError(
            f"linalg.lstsq: B {b.shape} has one dim fewer than A {a.shape}, so it is read as a "
            f"batch of vectors, and must then have shape {a.shape[:-1]}"
        )
    rhs = b.unsqueeze(-1) if vector else b
    m, n = a.shape[-2:]
    _check_rhs(a, b, rhs)
    eps = float(np.finfo(a.dtype).eps)
    rtol = eps * max(m, n) if rcond is None or rcond < 0 else float(rcond)
    solution = LinalgLstsqProduct.apply(pinv(a, rtol=rtol), rhs)
    values = np.linalg.svd(a.array, compute_uv=False)
    ranks = np.sum(values > rtol * values[..., :1], axis=-1).astype(np.int64)
    batch = np.broadcast_shapes(a.shape[:-2], rhs.shape[:-2])
    empty = Tensor._make(np.zeros((0,), a.dtype), False)
    residuals = empty
    if driver != "gelsy" and m > n and np.all(ranks == n):
        error = (a.array @ solution.array - rhs.array) ** 2
        # (a vector B keeps its one column here, as PyTorch's)
        residuals = Tensor._make(np.sum(error, axis=-2).reshape(batch + error.shape[-1:]), False)
    rank = Tensor._make(np.broadcast_to(ranks, a.shape[:-2]).copy(), False)
    if driver == "gels":
        rank = Tensor._make(np.zeros((0,), np.int64), False)
    singular = empty
    if driver in ("gelsd", "gelss"):
        singular = Tensor._make(values.astype(a.dtype, copy=False), False)
    if vector:
        solution = reshaped(solution, solution.shape[:-1], LinalgLstsqVectorOutput)
    return LstsqResult(solution, residuals, rank, singular)


def _check_rhs(a: Tensor, b: Tensor, rhs: Tensor) -> None:
    if b.dtype != a.dtype:
        raise DTypeError(
            f"linalg.lstsq: expected A and B to have the same dtype, but found A of type "
            f"{a.dtype} and B of type {b.dtype}; convert one of them"
        )
    if rhs.ndim < 2 or rhs.shape[-2] != a.shape[-2]:
        raise ShapeError(
            f"linalg.lstsq: A {a.shape} and B {b.shape} need the same number of rows for the "
            f"equation AX = B"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], rhs.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"linalg.lstsq: the batch dims of A {a.shape} and B {b.shape} do not broadcast"
        ) from None
