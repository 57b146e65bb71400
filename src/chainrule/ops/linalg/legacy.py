"""PyTorch's older spellings of three decompositions, ``torch.svd``, ``torch.qr`` and
``torch.cholesky`` (and the Tensor methods ``svd`` / ``qr`` / ``cholesky``): thin layers over
``cr.linalg.svd``, ``cr.linalg.qr`` and ``cr.linalg.cholesky``, whose gradients they share."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule.ops.linalg._checks import matrices, mT_of
from chainrule.tensor import Tensor

SVDOldResult = namedtuple("SVDOldResult", ["U", "S", "V"])


def svd(input, some: bool = True, compute_uv: bool = True) -> SVDOldResult:  # noqa: A002
    """``torch.svd``: (U, S, V) with A = U diag(S) Vᵀ, so V is ``cr.linalg.svd``'s Vh
    transposed; ``some=False`` gives square U and V. With ``compute_uv=False``, U and V are
    zeros of shapes (*, m, m) and (*, n, n), and only S is computed (and differentiable).

    Example:
        >>> import chainrule as cr
        >>> U, S, V = cr.svd(cr.tensor([[3.0, 0.0], [0.0, -2.0]]))
        >>> S.tolist()
        [3.0, 2.0]
    """
    from chainrule.ops.linalg.spectral import svd as linalg_svd
    from chainrule.ops.linalg.spectral import svdvals

    a = matrices(input, "svd", square=False)
    if not compute_uv:
        batch, (m, n) = a.shape[:-2], a.shape[-2:]
        zeros = [Tensor._make(np.zeros(batch + (k, k), a.dtype), False) for k in (m, n)]
        return SVDOldResult(zeros[0], svdvals(a), zeros[1])
    u, s, vh = linalg_svd(a, full_matrices=not some)
    return SVDOldResult(u, s, mT_of(vh))


def qr(input, some: bool = True):  # noqa: A002
    """``torch.qr``: ``cr.linalg.qr(input, "reduced" if some else "complete")``.

    Example:
        >>> import chainrule as cr
        >>> Q, R = cr.qr(cr.tensor([[3.0, 1.0], [4.0, 2.0]]))
        >>> R.shape
        (2, 2)
    """
    from chainrule.ops.linalg.decompositions import qr as linalg_qr

    return linalg_qr(input, "reduced" if some else "complete")


def cholesky(input, upper: bool = False):  # noqa: A002
    """``torch.cholesky``: ``cr.linalg.cholesky(input, upper=upper)``, its grad_fn named
    ``CholeskyBackward0`` as PyTorch's older function.

    Example:
        >>> import chainrule as cr
        >>> cr.cholesky(cr.tensor([[4.0, 2.0], [2.0, 2.0]]), upper=True).tolist()
        [[2.0, 1.0], [0.0, 1.0]]
    """
    from chainrule.ops.linalg.decompositions import TorchCholesky

    return TorchCholesky.apply(matrices(input, "cholesky"), upper=bool(upper))
