"""The matrix exponential, ``torch.linalg.matrix_exp``: scaling and squaring with the
degree-13 Padé approximant (Higham 2005), and PyTorch's derivative, read from the exponential
of a block matrix: with G the upstream gradient,

    exp([[Aᵀ, G], [0, Aᵀ]]) = [[exp(Aᵀ), ∂L/∂A], [0, exp(Aᵀ)]].
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.linalg._checks import matrices
from chainrule.ops.linalg._dual import concat, tr
from chainrule.tensor import Tensor

# Higham's Padé(13) numerator coefficients, and the 1-norm up to which it needs no scaling
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)  # fmt: skip
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """exp(A) for a stack of matrices, each scaled by its own power of 2, then squared back."""
    work = a.astype(np.float64)  # the Padé sums cancel: float64 inside, as accurate as PyTorch
    norms = np.abs(work).sum(axis=-2).max(axis=-1, initial=0.0)  # the 1-norm of each matrix
    with np.errstate(divide="ignore"):
        squarings = np.maximum(0, np.ceil(np.log2(norms / _THETA13))).astype(np.int64)
    work = work / (2.0**squarings)[..., None, None]
    b = _PADE13
    eye = np.eye(a.shape[-1])
    a2 = work @ work
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = work @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
                + b[1] * eye)  # fmt: skip
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    out = np.linalg.solve(v - u, v + u)
    for step in range(int(squarings.max(initial=0))):
        more = (squarings > step)[..., None, None]
        out = np.where(more, out @ out, out)
    return out.astype(a.dtype, copy=False)


class MatrixExp(Function):
    """exp(A).  Local derivative: the upper-right block of exp([[Aᵀ, G], [0, Aᵀ]])."""

    label = "exp(A)"
    formulas = ("[exp([[Aᵀ, G], [0, Aᵀ]])]₁₂",)

    def forward(self, a):
        self.a = a
        return _expm(a)

    def backward(self, grad):
        return (_block_grad(self.a, grad),)

    def backward_graph(self, grad):
        """The gradient as tensors in the graph (for second derivatives)."""
        (a,) = self.parents
        return (_block_grad(a, grad),)


def _block_grad(a, grad):
    """The upper-right n×n block of exp([[Aᵀ, G], [0, Aᵀ]]), on arrays or tensors."""
    n = a.shape[-1]
    a_t = tr(a)
    if isinstance(grad, Tensor) and grad.shape != a.shape:
        grad = grad.expand(*a.shape)
    elif not isinstance(grad, Tensor):
        grad = np.broadcast_to(grad, a.shape)
    zeros = np.zeros(a.shape, a.dtype)
    if isinstance(a, Tensor):
        zeros = Tensor._make(zeros, False)
    block = concat([concat([a_t, grad], -1), concat([zeros, a_t], -1)], -2)
    whole = MatrixExp.apply(block) if isinstance(block, Tensor) else _expm(block)
    return whole[..., :n, n:]


def matrix_exp(A) -> Tensor:  # noqa: N803 - PyTorch's name
    """The matrix exponential of each square matrix in ``A`` (*, n, n), as
    ``torch.linalg.matrix_exp`` (and ``torch.matrix_exp``, ``Tensor.matrix_exp``).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_exp(cr.tensor([[0.0, 1.0], [0.0, 0.0]])).tolist()
        [[1.0, 1.0], [0.0, 1.0]]
    """
    return MatrixExp.apply(matrices(A, "matrix_exp"))
