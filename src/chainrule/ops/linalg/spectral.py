"""Spectral decompositions with ``torch.linalg``'s names: ``eigh`` / ``eigvalsh`` (symmetric
A = V diag(λ) Vᵀ) and ``svd`` / ``svdvals`` (A = U diag(S) Vh), batched over leading dims, each
with PyTorch's derivative beside its forward; ``pinv`` is built on them as PyTorch builds it.

With G the upstream gradients:

- ``eigh``: K = ½(Vᵀ G_V − G_Vᵀ V) / E with E_ij = λ_j − λ_i, diag(K) = G_λ;
  ∂L/∂A = V K Vᵀ (infinite where two eigenvalues are equal, as PyTorch's: the eigenvectors
  are not unique there)
- ``svd`` (full_matrices=False, k = min(m, n)): J = ((UᵀG_U − G_UᵀU)·S + S·(VᵀG_V − G_VᵀV))
  / E with E_jk = S_k² − S_j², diag(J) = G_S; ∂L/∂A = U J Vh, plus (I − UUᵀ) G_U S⁻¹ Vh for
  m > k and U S⁻¹ G_Vᵀ (I − VVᵀ) for n > k.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.linalg._checks import matrices, mT_of
from chainrule.ops.linalg._dual import diag_embed, nonzero, plus_identity, tr
from chainrule.ops.linalg._named import LinalgEighOutput, LinalgPinvProduct, LinalgSvdOutput
from chainrule.ops.linalg._packed import Packed
from chainrule.tensor import Tensor

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _uplo(UPLO: str, op: str) -> str:  # noqa: N803 - PyTorch's name
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


class Eigh(Function):
    """(λ, V) of a symmetric A, packed side by side (see ``_packed``).  Local derivative:
    V (diag(G_λ) + ½(VᵀG_V − G_VᵀV) / (λ_j − λ_i)) Vᵀ."""

    label = "eigh"
    formulas = ("V (diag(G_λ) + skew(Vᵀ G_V)/(λⱼ − λᵢ)) Vᵀ",)

    def forward(self, a, uplo):
        values, vectors = np.linalg.eigh(a, UPLO=uplo)
        self.values, self.vectors, self.uplo = values, vectors, uplo
        n = a.shape[-1]
        self.layout = Packed(a.shape[:-2], ((n,), (n, n)))
        return self.layout.pack((values, vectors))

    def backward(self, grad):
        return (_eigh_grad(self.values, self.vectors, *self.layout.split(grad)),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        values, vectors = self.layout.unpack(Eigh.apply(a, uplo=self.uplo))
        return (_eigh_grad(values, vectors, *self.layout.unpack(grad)),)


def _eigh_grad(values, v, grad_values, grad_v):
    """PyTorch's eigh backward, on arrays or tensors. An eigenvector gradient that is all 0
    counts as absent, as PyTorch's undefined one: its term (which divides by the gaps between
    eigenvalues, 0 for repeated ones) is skipped, so eigenvalues alone have a finite gradient."""
    middle = diag_embed(grad_values)
    if nonzero(grad_v):
        inner = tr(v) @ grad_v
        inner = 0.5 * (inner - tr(inner))
        gaps = plus_identity(values[..., None, :] - values[..., :, None])  # λⱼ − λᵢ, 1 on diag
        with np.errstate(divide="ignore", invalid="ignore"):
            middle = middle + inner / gaps
    return v @ middle @ tr(v)


class Eigvalsh(Function):
    """λ of a symmetric A.  Local derivative: ∂L/∂A = V diag(G_λ) Vᵀ."""

    label = "eigvalsh"
    formulas = ("V diag(G_λ) Vᵀ",)

    def forward(self, a, uplo):
        values, self.vectors = np.linalg.eigh(a, UPLO=uplo)
        self.uplo = uplo
        return values

    def backward(self, grad):
        v = self.vectors
        return ((v * grad[..., None, :]) @ tr(v),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        n = a.shape[-1]
        _, v = Packed(a.shape[:-2], ((n,), (n, n))).unpack(Eigh.apply(a, uplo=self.uplo))
        return ((v * grad[..., None, :]) @ tr(v),)


def eigh(A, UPLO: str = "L") -> EighResult:  # noqa: N803 - PyTorch's name
    """The eigenvalues (ascending) and orthonormal eigenvectors (columns) of each symmetric
    matrix in ``A`` (*, n, n), as ``torch.linalg.eigh``; only the ``UPLO`` triangle is read.
    An eigenvector's sign is arbitrary: a loss should not depend on it. The gradient is
    PyTorch's, finite where the eigenvalues are distinct.

    Example:
        >>> import chainrule as cr
        >>> values, vectors = cr.linalg.eigh(cr.tensor([[2.0, 0.0], [0.0, 1.0]]))
        >>> values.tolist()
        [1.0, 2.0]
    """
    a = matrices(A, "eigh")
    packed = Eigh.apply(a, uplo=_uplo(UPLO, "eigh"))
    n = a.shape[-1]
    values, vectors = Packed(a.shape[:-2], ((n,), (n, n))).unpack(packed, LinalgEighOutput)
    return EighResult(values, vectors)


def eigvalsh(A, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix in ``A``, as
    ``torch.linalg.eigvalsh``; gradient V diag(G) Vᵀ.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.eigvalsh(cr.tensor([[2.0, 1.0], [1.0, 2.0]])).tolist()
        [1.0, 3.0]
    """
    return Eigvalsh.apply(matrices(A, "eigvalsh"), uplo=_uplo(UPLO, "eigvalsh"))


def _svd_grad(u, s, vh, grad_u, grad_s, grad_vh):
    """PyTorch's svd_backward (real case, reduced U and Vh), on arrays or tensors. A gradient
    that is all 0 counts as absent, as PyTorch's undefined gradient: its terms (which divide
    by S) are skipped."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    use_u, use_v = nonzero(grad_u), nonzero(grad_vh)
    v, grad_v = tr(vh), tr(grad_vh)
    middle = diag_embed(grad_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        if use_u or use_v:
            squares = s * s
            gaps = plus_identity(squares[..., None, :] - squares[..., :, None])  # S_k² − S_j²
            if use_u:
                inner = tr(u) @ grad_u
                middle = middle + (inner - tr(inner)) * s[..., None, :] / gaps
            if use_v:
                inner = tr(v) @ grad_v
                middle = middle + s[..., :, None] * (inner - tr(inner)) / gaps
        if m > k and use_u:
            scaled = grad_u / s[..., None, :]  # G_U S⁻¹
            return (u @ middle + scaled - u @ (tr(u) @ scaled)) @ vh
        if n > k and use_v:
            scaled = tr(grad_v) / s[..., :, None]  # S⁻¹ G_Vᵀ
            return u @ (middle @ vh + scaled - (scaled @ v) @ vh)
    return u @ middle @ vh


class SVD(Function):
    """(U, S, Vh) with A = U diag(S) Vh, packed side by side (see ``_packed``).  Local
    derivative: PyTorch's svd_backward (see the module docstring)."""

    label = "svd"
    formulas = ("U (G_S + skew terms / (S_k² − S_j²)) Vh + projections",)

    def forward(self, a, full_matrices):
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        self.u, self.s, self.vh, self.full_matrices = u, s, vh, full_matrices
        self.layout = Packed(a.shape[:-2], (u.shape[-2:], s.shape[-1:], vh.shape[-2:]))
        return self.layout.pack((u, s, vh))

    def backward(self, grad):
        return (_full_svd_grad(self.u, self.s, self.vh, *self.layout.split(grad)),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        u, s, vh = self.layout.unpack(SVD.apply(a, full_matrices=self.full_matrices))
        return (_full_svd_grad(u, s, vh, *self.layout.unpack(grad)),)


def _full_svd_grad(u, s, vh, grad_u, grad_s, grad_vh):
    """With full matrices, PyTorch's backward reads the first k = min(m, n) vectors only."""
    k = s.shape[-1]
    return _svd_grad(u[..., :k], s, vh[..., :k, :], grad_u[..., :k], grad_s, grad_vh[..., :k, :])


class SVDVals(Function):
    """S, the singular values.  Local derivative: ∂L/∂A = U diag(G_S) Vh."""

    label = "svdvals"
    formulas = ("U diag(G_S) Vh",)

    def forward(self, a):
        self.u, s, self.vh = np.linalg.svd(a, full_matrices=False)
        return s

    def backward(self, grad):
        return ((self.u * grad[..., None, :]) @ self.vh,)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        m, n = a.shape[-2:]
        k = min(m, n)
        layout = Packed(a.shape[:-2], ((m, k), (k,), (k, n)))
        u, _, vh = layout.unpack(SVD.apply(a, full_matrices=False))
        return ((u * grad[..., None, :]) @ vh,)


def _no_driver(driver) -> None:
    if driver is not None:
        raise ValueError(
            "linalg.svd: keyword argument driver= is only supported on CUDA inputs (PyTorch's "
            "cuSOLVER); chainrule computes on the CPU: leave it out"
        )


def svd(A, full_matrices: bool = True, *, driver=None) -> SVDResult:
    """The singular value decomposition of each matrix in ``A`` (*, m, n), as
    ``torch.linalg.svd``: U, S (descending) and Vh with A = U diag(S) Vh. ``full_matrices``
    (PyTorch's default True) gives square U and Vh; their extra columns get no gradient, as in
    PyTorch. Singular vectors are unique up to sign: a loss should not depend on it. The
    gradient is PyTorch's, finite where the singular values are distinct (and nonzero when
    U or Vh is used with m ≠ n).

    Example:
        >>> import chainrule as cr
        >>> U, S, Vh = cr.linalg.svd(cr.tensor([[3.0, 0.0], [0.0, -2.0]]))
        >>> S.tolist()
        [3.0, 2.0]
    """
    _no_driver(driver)
    a = matrices(A, "svd", square=False)
    packed = SVD.apply(a, full_matrices=bool(full_matrices))
    m, n = a.shape[-2:]
    k = min(m, n)
    cores = ((m, m), (k,), (n, n)) if full_matrices else ((m, k), (k,), (k, n))
    return SVDResult(*Packed(a.shape[:-2], cores).unpack(packed, LinalgSvdOutput))


def svdvals(A, *, driver=None) -> Tensor:
    """The singular values (descending) of each matrix in ``A`` (*, m, n), as
    ``torch.linalg.svdvals``; gradient U diag(G) Vh.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.svdvals(cr.tensor([[0.0, 2.0], [1.0, 0.0]])).tolist()
        [2.0, 1.0]
    """
    _no_driver(driver)
    return SVDVals.apply(matrices(A, "svdvals", square=False))


def pinv(A, rcond=None, hermitian: bool = False, *, atol=None, rtol=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each matrix in ``A`` (*, m, n), as
    ``torch.linalg.pinv`` and built as PyTorch builds it (so its gradient is PyTorch's): from
    the SVD (``hermitian=True``: the eigendecomposition), singular values at or below
    max(atol, rtol·S_max) treated as 0. ``rtol`` defaults to eps·max(m, n), or 0 when a
    positive ``atol`` is given. A positional ``rcond`` (PyTorch's older spelling) is ``rtol``.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.pinv(cr.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.0]]
    """
    from chainrule.ops.elementwise import where

    a = matrices(A, "pinv", square=bool(hermitian))
    if rcond is not None:
        if rtol is not None or atol is not None:
            raise TypeError("linalg.pinv: give rcond, or atol / rtol, not both")
        rtol = rcond
    atol, rtol = tolerances(a, atol, rtol)
    zero = np.zeros((), a.dtype)
    if hermitian:
        values, vectors = eigh(a)
        size = np.abs(values.array)
        tol = np.maximum(atol, rtol * np.max(size, axis=-1, keepdims=True, initial=0))
        inverse = where(size > tol, 1 / values, zero)
        return LinalgPinvProduct.apply(vectors * inverse.unsqueeze(-2), mT_of(vectors))
    u, s, vh = svd(a, full_matrices=False)
    tol = np.maximum(atol, rtol * s.array[..., :1])
    with np.errstate(divide="ignore"):
        inverse = where(s.array > tol, 1 / s, zero)
    return LinalgPinvProduct.apply(mT_of(vh) * inverse.unsqueeze(-2), mT_of(u))


def tolerances(a: Tensor, atol, rtol) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's (atol, rtol) of pinv and matrix_rank as arrays (*, 1) over the batch: numbers
    or tensors; rtol defaults to eps·max(m, n) where atol is absent or 0, else to 0."""

    def as_array(value):
        value = value.array if isinstance(value, Tensor) else value
        return np.asarray(value, dtype=a.dtype)[..., None]

    atol = as_array(0.0 if atol is None else atol)
    if rtol is None:
        default = np.finfo(a.dtype).eps * max(a.shape[-2:], default=1)
        return atol, np.where(atol > 0, 0.0, default).astype(a.dtype)
    return atol, as_array(rtol)


def pinverse(input, rcond: float = 1e-15) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.pinverse``: :func:`pinv` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)
