"""Triangular factorizations with ``torch.linalg``'s names: ``cholesky`` (A = L Lᵀ) and ``qr``
(A = Q R), batched over leading dims, each with PyTorch's derivative beside its forward.

With G the upstream gradients and tril/triu the lower/upper triangles:

- ``cholesky``: P = tril(Lᵀ G_L), Φ = ½(P + tril(P, −1)ᵀ), ∂L/∂A = L⁻ᵀ Φ L⁻¹ (symmetric:
  only A's lower triangle is read, and the gradient is shared by a[i, j] and a[j, i], as
  PyTorch's)
- ``qr`` (m ≥ n): M = R G_Rᵀ − G_Qᵀ Q, ∂L/∂A = (G_Q + Q copyltu(M)) R⁻ᵀ with
  copyltu(M) = tril(M) + tril(M, −1)ᵀ; for m < n the first m columns take this rule and the
  rest Q G_V (R = [U | V]).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.linalg._checks import NOT_PD, lapack, matrices
from chainrule.ops.linalg._dual import concat, inv, solve, tr, tril
from chainrule.ops.linalg._named import LinalgQrOutput
from chainrule.ops.linalg._packed import Packed
from chainrule.tensor import Tensor

QRResult = namedtuple("QRResult", ["Q", "R"])


class Cholesky(Function):
    """L with A = L Lᵀ, lower triangular.  Local derivative: ∂L/∂A = L⁻ᵀ Φ L⁻¹ with
    Φ = ½(P + tril(P, −1)ᵀ), P = tril(Lᵀ G) (PyTorch's rule)."""

    label = "chol"
    formulas = ("L⁻ᵀ Φ(Lᵀ G) L⁻¹",)

    def forward(self, a, upper=False):
        # upper=True returns Lᵀ from this one op, so grad_fn is PyTorch's (not a transpose)
        self.upper = upper
        self.out = lapack(lambda: np.linalg.cholesky(a), "cholesky", NOT_PD, a)
        return np.ascontiguousarray(tr(self.out)) if upper else self.out

    def backward(self, grad):
        return (_cholesky_grad(self.out, tr(grad) if self.upper else grad),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        return (_cholesky_grad(Cholesky.apply(a), tr(grad) if self.upper else grad),)


class TorchCholesky(Cholesky):
    """``torch.cholesky`` and ``Tensor.cholesky``, the older spelling: PyTorch names its node
    ``CholeskyBackward0`` (``linalg.cholesky``'s is ``LinalgCholeskyExBackward0``)."""


def _cholesky_grad(low, grad):
    """PyTorch's cholesky_backward, on arrays or tensors."""
    p = tril(tr(low) @ grad)
    phi = 0.5 * (p + tr(tril(p, -1)))
    low_inv = inv(low)
    return tr(low_inv) @ phi @ low_inv


def cholesky(A, *, upper: bool = False):
    """The Cholesky factor of each symmetric positive-definite matrix in ``A`` (*, n, n), as
    ``torch.linalg.cholesky``: lower triangular L with A = L Lᵀ (``upper=True``: Lᵀ). Only the
    lower triangle of ``A`` is read.

    Raises:
        LinAlgError: a matrix is not positive-definite (a ``RuntimeError``, as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cholesky(cr.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    return Cholesky.apply(matrices(A, "cholesky"), upper=bool(upper))


def _qr_tall_grad(q, r, grad_q, grad_r):
    """∂L/∂A for A = Q R with R square and invertible (m ≥ n), on arrays or tensors."""
    m = r @ tr(grad_r) - tr(grad_q) @ q
    copyltu = tril(m) + tr(tril(m, -1))
    return tr(solve(r, tr(grad_q + q @ copyltu)))  # (G_Q + Q copyltu(M)) R⁻ᵀ


def _qr_grad(a, q, r, grad_q, grad_r):
    rows, cols = a.shape[-2:]
    if rows >= cols:
        return _qr_tall_grad(q, r, grad_q, grad_r)
    # A = [X | Y] with X = Q U square: Y = Q V adds Q G_V to Y and Y G_Vᵀ to Q's gradient
    grad_v = grad_r[..., rows:]
    grad_x = _qr_tall_grad(
        q, r[..., :rows], grad_q + a[..., rows:] @ tr(grad_v), grad_r[..., :rows]
    )
    return concat([grad_x, q @ grad_v], axis=-1)


class QR(Function):
    """(Q, R) with A = Q R, packed side by side (see ``_packed``).  Local derivative for
    m ≥ n: (G_Q + Q copyltu(R G_Rᵀ − G_Qᵀ Q)) R⁻ᵀ."""

    label = "QR"
    formulas = ("(G_Q + Q·copyltu(R G_Rᵀ − G_Qᵀ Q))·R⁻ᵀ",)

    def forward(self, a, mode):
        q, r = np.linalg.qr(a, mode="reduced" if mode == "r" else mode)
        self.a, self.q, self.r, self.mode = a, q, r, mode
        self.layout = Packed(a.shape[:-2], (q.shape[-2:], r.shape[-2:]))
        return self.layout.pack((q, r))

    def _refuse(self):
        rows, cols = self.a.shape[-2:]
        if self.mode == "r":
            raise NotImplementedError(
                "the derivative of linalg.qr depends on Q, which is not computed when "
                "mode='r' (as in PyTorch); use mode='reduced' to differentiate through qr"
            )
        if self.mode == "complete" and rows > cols:
            raise NotImplementedError(
                "the QR decomposition is not differentiable when mode='complete' and "
                "nrows > ncols (as in PyTorch); use mode='reduced'"
            )

    def backward(self, grad):
        self._refuse()
        return (_qr_grad(self.a, self.q, self.r, *self.layout.split(grad)),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        self._refuse()
        (a,) = self.parents
        q, r = self.layout.unpack(QR.apply(a, mode=self.mode))
        return (_qr_grad(a, q, r, *self.layout.unpack(grad)),)


def qr(A, mode: str = "reduced") -> QRResult:
    """The QR decomposition of each matrix in ``A`` (*, m, n), as ``torch.linalg.qr``: Q with
    orthonormal columns and R upper triangular, A = Q R (LAPACK's Householder QR, the signs
    PyTorch's CPU gives). ``mode``: ``"reduced"`` (Q (*, m, k), R (*, k, n), k = min(m, n)),
    ``"complete"`` (Q (*, m, m)) or ``"r"`` (R only, Q empty; not differentiable).

    Example:
        >>> import chainrule as cr
        >>> Q, R = cr.linalg.qr(cr.tensor([[3.0, 1.0], [4.0, 2.0]]))
        >>> (Q @ R).allclose(cr.tensor([[3.0, 1.0], [4.0, 2.0]]), atol=1e-6)
        True
    """
    a = matrices(A, "qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    packed = QR.apply(a, mode=mode)
    rows, cols = a.shape[-2:]
    k = rows if mode == "complete" else min(rows, cols)
    q, r = Packed(a.shape[:-2], ((rows, k), (k, cols))).unpack(packed, LinalgQrOutput)
    if mode == "r":  # Q is not returned (PyTorch's empty tensor); R keeps the op's backward
        q = Tensor._make(np.zeros((0,), a.dtype), False)
    return QRResult(q, r)
