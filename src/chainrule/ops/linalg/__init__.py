"""Differentiable linear algebra, ``torch.linalg``'s names: norms, inverse / determinant /
solve, and the decompositions. One concept a file; ``chainrule.linalg`` is the public face."""

from chainrule.errors import LinAlgError
from chainrule.ops.linalg.decompositions import QRResult, cholesky, qr
from chainrule.ops.linalg.inverse import (
    SlogdetResult,
    det,
    inv,
    logdet,
    matrix_power,
    slogdet,
    solve,
)
from chainrule.ops.linalg.lstsq import LstsqResult, lstsq
from chainrule.ops.linalg.matrix_exp import matrix_exp
from chainrule.ops.linalg.norms import matrix_norm, norm, vector_norm
from chainrule.ops.linalg.products import (
    cond,
    cross,
    diagonal,
    matmul,
    matrix_rank,
    multi_dot,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)
from chainrule.ops.linalg.spectral import (
    EighResult,
    SVDResult,
    eigh,
    eigvalsh,
    pinv,
    pinverse,
    svd,
    svdvals,
)

__all__ = [
    "LinAlgError",
    "LstsqResult",
    "lstsq",
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "diagonal",
    "matmul",
    "matrix_exp",
    "matrix_rank",
    "multi_dot",
    "solve_triangular",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "logdet",
    "matrix_norm",
    "matrix_power",
    "norm",
    "pinv",
    "pinverse",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]
