"""The inverse, the determinant and linear solves, as ``torch.linalg``: ``inv``, ``det``,
``slogdet``, ``solve`` and ``matrix_power``, batched over leading dims, each op's forward and
derivative side by side. With X = A⁻¹ and G the upstream gradient:

- ``inv``:     ∂L/∂A = −Xᵀ G Xᵀ
- ``det``:     ∂L/∂A = G · det(A) · A⁻ᵀ (0 for a singular A, as PyTorch's)
- ``slogdet``: ∂L/∂A = G · A⁻ᵀ for log|det A| (the sign has no gradient)
- ``solve``:   with X = A⁻¹B, ∂L/∂B = A⁻ᵀ G and ∂L/∂A = −(A⁻ᵀ G) Xᵀ
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.linalg._checks import SINGULAR, lapack, matrices, mT, mT_of
from chainrule.ops.linalg._named import (
    SlogdetSign,
    SolveTransposedOutput,
    SolveVectorOutput,
    reshaped,
    transposed,
)
from chainrule.tensor import Tensor

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


class Inv(Function):
    """X = A⁻¹.  Local derivative: dX = −X dA X, so ∂L/∂A = −Xᵀ G Xᵀ."""

    label = "A⁻¹"
    formulas = ("−A⁻ᵀ G A⁻ᵀ",)

    def forward(self, a):
        self.out = lapack(lambda: np.linalg.inv(a), "inv", SINGULAR.format(verb="inverted"), a)
        return self.out

    def backward(self, grad):
        inv_t = mT(self.out)
        return (-(inv_t @ grad @ inv_t),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        inv_t = mT_of(Inv.apply(a))
        return (-(inv_t @ grad @ inv_t),)


def _cofactors(a: np.ndarray, det: np.ndarray) -> np.ndarray:
    """det(A)·A⁻ᵀ for each matrix, and 0 where det(A) = 0: PyTorch's gradient of det there
    (the true derivative, the transposed adjugate, is not what PyTorch gives)."""
    n = a.shape[-1]
    flat, flat_det = a.reshape(det.size, n, n), det.reshape(-1)
    out = np.zeros_like(flat)
    ok = flat_det != 0
    if ok.any():  # det ≠ 0: every pivot of the LU is nonzero, so inv succeeds
        out[ok] = flat_det[ok][:, None, None] * mT(np.linalg.inv(flat[ok]))
    return out.reshape(a.shape)


class Det(Function):
    """d = det(A).  Local derivative: ∂d/∂A = det(A)·A⁻ᵀ (0 where det(A) = 0, as PyTorch)."""

    label = "det"
    formulas = ("det(A)·A⁻ᵀ",)

    def forward(self, a):
        self.a = a
        self.out = np.linalg.det(a).astype(a.dtype, copy=False)
        return self.out

    def backward(self, grad):
        return (grad[..., None, None] * _cofactors(self.a, self.out),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives; A invertible)."""
        (a,) = self.parents
        factor = (grad * Det.apply(a)).unsqueeze(-1).unsqueeze(-1)
        return (factor * mT_of(Inv.apply(a)),)


class LogAbsDet(Function):
    """ℓ = log|det(A)|.  Local derivative: ∂ℓ/∂A = A⁻ᵀ."""

    label = "log|det|"
    formulas = ("A⁻ᵀ",)

    def forward(self, a):
        self.a = a
        return np.linalg.slogdet(a)[1].astype(a.dtype, copy=False)

    def _inverse(self):
        problem = "the input is singular: log|det| is -inf and has no finite gradient"
        return lapack(lambda: np.linalg.inv(self.a), "slogdet", problem, self.a)

    def backward(self, grad):
        return (grad[..., None, None] * mT(self._inverse()),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        return (grad.unsqueeze(-1).unsqueeze(-1) * mT_of(Inv.apply(a)),)


class Solve(Function):
    """X = A⁻¹B for B of shape (*, n, k), the batch dims broadcast.  Local derivatives:
    ∂L/∂B = A⁻ᵀ G and ∂L/∂A = −(A⁻ᵀ G) Xᵀ."""

    label = "A⁻¹B"
    formulas = ("−(A⁻ᵀ G) Xᵀ", "A⁻ᵀ G")

    def forward(self, a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        self.a = np.broadcast_to(a, batch + a.shape[-2:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
        problem = SINGULAR.format(verb="solved against")
        self.out = lapack(lambda: np.linalg.solve(self.a, b), "solve", problem, self.a)
        return self.out

    def backward(self, grad):
        grad_b = np.linalg.solve(mT(self.a), grad)
        grad_a = -(grad_b @ mT(self.out)) if self.needs_grad[0] else None
        return grad_a, (grad_b if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        grad_b = Solve.apply(mT_of(a), grad)
        return -(grad_b @ mT_of(Solve.apply(a, b))), grad_b


class SolveTriangular(Solve):
    """``linalg.solve_triangular``'s solve (its A already cut to the triangle): the same
    work, named apart as PyTorch's ``LinalgSolveTriangularBackward0``."""


def inv(A) -> Tensor:
    """The inverse of each square matrix in ``A`` (*, n, n), as ``torch.linalg.inv``.

    Raises:
        LinAlgError: a matrix is singular (a ``RuntimeError``, as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.inv(cr.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    return Inv.apply(matrices(A, "inv"))


def det(A) -> Tensor:
    """The determinant of each square matrix in ``A`` (*, n, n), as ``torch.linalg.det``. Its
    gradient is det(A)·A⁻ᵀ, and 0 for a singular matrix, as PyTorch's.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.det(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
        -2.0
    """
    return Det.apply(matrices(A, "det"))


def slogdet(A) -> SlogdetResult:
    """(sign, log|det|) of each square matrix, as ``torch.linalg.slogdet``: a named tuple; the
    log of the absolute determinant is differentiable (gradient A⁻ᵀ), the sign is not.

    Example:
        >>> import chainrule as cr
        >>> sign, logabsdet = cr.linalg.slogdet(cr.tensor([[0.0, 2.0], [1.0, 0.0]]))
        >>> sign.item(), round(logabsdet.item(), 4)
        (-1.0, 0.6931)
    """
    a = matrices(A, "slogdet")
    from chainrule.ops.linalg_extra import _zeroed

    logabs = LogAbsDet.apply(a)
    sign = Tensor._make(np.linalg.slogdet(a.array)[0].astype(a.dtype, copy=False), False)
    if logabs.requires_grad:  # in the graph with gradient 0, as PyTorch's sign
        sign = SlogdetSign.apply(_zeroed(logabs), sign)
    return SlogdetResult(sign, logabs)


def logdet(A) -> Tensor:
    """log(det(A)) of each square matrix, as ``torch.logdet``: NaN where the determinant is
    negative, -inf where it is 0.

    Example:
        >>> import chainrule as cr
        >>> round(cr.logdet(cr.tensor([[2.0, 0.0], [0.0, 3.0]])).item(), 4)
        1.7918
    """
    from chainrule.ops.elementwise import where

    sign, logabs = slogdet(matrices(A, "logdet"))
    return where(sign.array == -1, np.array(np.nan, logabs.dtype), logabs)


def _is_vector_rhs(a: Tensor, b: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) if it is 1-D, or if its shape is A's
    shape without the last dim."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])


def _check_rhs(op: str, a: Tensor, rhs: Tensor, b: Tensor) -> None:
    """B's dtype, rows and batch dims against A's, for A X = B with ``rhs`` B as (*, n, k)."""
    if b.dtype != a.dtype:
        raise DTypeError(
            f"linalg.{op}: expected A and B to have the same dtype, but found A of type "
            f"{a.dtype} and B of type {b.dtype}; convert one of them"
        )
    n = a.shape[-1]
    if rhs.ndim < 2 or rhs.shape[-2] != n:
        raise ShapeError(
            f"linalg.{op}: incompatible shapes of A {a.shape} and B {b.shape} for the "
            f"equation AX = B: B needs {n} rows (shape (*, {n}) or (*, {n}, k))"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], rhs.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"linalg.{op}: the batch dims of A {a.shape} and B {b.shape} do not broadcast"
        ) from None


def solve(A, B, *, left: bool = True) -> Tensor:
    """X with A X = B for square ``A`` (*, n, n), as ``torch.linalg.solve``. ``B`` is a batch
    of vectors (*, n) when it is 1-D or its shape is ``A.shape[:-1]``, else a batch of
    matrices (*, n, k); the batch dims broadcast. ``left=False`` solves X A = B (B (*, k, n)).

    Raises:
        LinAlgError: a matrix of ``A`` is singular.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.solve(cr.tensor([[2.0, 0.0], [0.0, 4.0]]), cr.tensor([1.0, 1.0])).tolist()
        [0.5, 0.25]
    """
    a, b = matrices(A, "solve"), operand(B)
    vector = _is_vector_rhs(a, b)
    if vector and not left:  # PyTorch's vector is a column, which X A = B cannot take
        raise ShapeError(
            f"linalg.solve: incompatible shapes of A {a.shape} and B {b.shape} for the equation "
            f"XA = B: with left=False, B must be a matrix (*, k, n); unsqueeze(-2) a row vector"
        )
    rhs = b.unsqueeze(-1) if vector else b if left else mT_of(b)
    _check_rhs("solve", a, rhs, b)
    # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
    out = Solve.apply(a if left else mT_of(a), rhs)
    # (named as PyTorch's one LinalgSolveEx node: ``_named.py``)
    if vector:
        return reshaped(out, out.shape[:-1], SolveVectorOutput)
    return out if left else transposed(out, SolveTransposedOutput)


def matrix_power(A, n: int) -> Tensor:
    """A to the integer power ``n`` for each square matrix, as ``torch.linalg.matrix_power``:
    the identity for n = 0, repeated products by binary decomposition of n (PyTorch's order)
    for n > 0, and the power of the inverse for n < 0 (floating point only).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_power(cr.tensor([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
        [[1.0, 3.0], [0.0, 1.0]]
    """
    from chainrule.ops.linalg_extra import _zeroed

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {n!r}")
    a = operand(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(
            f"linalg.matrix_power: A must be batches of square matrices, got shape {a.shape}"
        )
    if n < 0:
        a, n = inv(a), -int(n)
    if n == 0:
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
        return _zeroed(a) + Tensor._make(np.array(eye), False)
    if n == 1:
        return a.clone()
    result = square = None
    while n > 0:
        bit, n = n % 2, n // 2
        square = a if square is None else square @ square
        if bit:
            result = square if result is None else result @ square
    return result
