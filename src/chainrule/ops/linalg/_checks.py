"""What every ``chainrule.linalg`` op checks first (a floating-point stack of matrices, square
where the op needs it) and the NumPy helpers their derivatives share."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, LinAlgError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def matrices(value, op: str, square: bool = True) -> Tensor:
    """``value`` as a tensor of shape (*, m, n), floating point, square if ``square``:
    PyTorch's checks and kinds of error (a ``RuntimeError`` each)."""
    a = operand(value)
    if a.ndim < 2:
        raise ShapeError(
            f"linalg.{op}: the input must have at least 2 dimensions (a matrix or a batch of "
            f"matrices), got shape {a.shape}"
        )
    floating(a, op)
    if square and a.shape[-1] != a.shape[-2]:
        raise ShapeError(
            f"linalg.{op}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices"
        )
    return a


def floating(a: Tensor, op: str) -> None:
    if a.dtype.kind != "f":
        raise DTypeError(
            f"linalg.{op}: expected a floating-point tensor as input, got {a.dtype}; convert "
            f"it first, e.g. A.double()"
        )


def mT(a: np.ndarray) -> np.ndarray:
    """The transpose of each matrix in a stack."""
    return np.swapaxes(a, -1, -2)


def mT_of(t: Tensor) -> Tensor:
    """The transpose of each matrix in a stack, in the graph."""
    return t.transpose(-1, -2)


def lapack(call, op: str, problem: str, a: np.ndarray):
    """``call()``, with NumPy's LinAlgError turned into chainrule's, naming the first batch
    element that fails (found by retrying one matrix at a time, on the error path only)."""
    try:
        return call()
    except np.linalg.LinAlgError:
        pass
    where = ""
    if a.ndim > 2:
        for index in np.ndindex(a.shape[:-2]):
            try:
                np.linalg.cholesky(a[index]) if problem == NOT_PD else np.linalg.inv(a[index])
            except np.linalg.LinAlgError:
                where = f" (batch element {index[0] if len(index) == 1 else index})"
                break
    raise LinAlgError(f"linalg.{op}{where}: {problem}") from None


SINGULAR = (
    "the input matrix is singular (not invertible), so it cannot be {verb}; check it, or use "
    "cr.linalg.pinv for a least-squares answer"
)
NOT_PD = (
    "the input is not positive-definite, so the Cholesky factorization could not be completed; "
    "add a small multiple of the identity (A + eps * I) if it should be"
)
