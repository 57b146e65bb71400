"""``chainrule.linalg``: PyTorch's ``torch.linalg``, differentiable, on NumPy's LAPACK.

Norms (``vector_norm``, ``matrix_norm``, ``norm``), ``inv``, ``det``, ``slogdet``, ``solve``,
``matrix_power``, the decompositions ``cholesky``, ``qr``, ``eigh`` / ``eigvalsh``, ``svd`` /
``svdvals`` and ``pinv``, and ``solve_triangular``, ``cond``, ``matrix_rank``, ``multi_dot``,
``vecdot``, ``cross``, ``diagonal``, ``matmul``, ``vander``, ``tensorinv``, ``tensorsolve``,
``lstsq``, ``matrix_exp``, batched over leading dims, float32 and float64, with PyTorch's
gradients (docs/linalg.md). A ``torch.linalg`` name chainrule lacks raises NotSupportedError
naming the nearest spelling.
"""

from __future__ import annotations

from chainrule.ops.linalg import (  # noqa: F401 - the public names
    EighResult,
    LinAlgError,
    LstsqResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    cond,
    cross,
    det,
    diagonal,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matmul,
    matrix_exp,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    norm,
    pinv,
    qr,
    slogdet,
    solve,
    solve_triangular,
    svd,
    svdvals,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
    vector_norm,
)

# torch.linalg's other names (PyTorch 2.13), with the nearest chainrule spelling
_NOT_YET = {
    "eig": "cr.linalg.eigh for a symmetric matrix (chainrule has real dtypes only)",
    "eigvals": "cr.linalg.eigvalsh for a symmetric matrix (chainrule has real dtypes only)",
}
_NOT_YET.update(
    dict.fromkeys(
        ("cholesky_ex", "inv_ex", "solve_ex"),
        "the function without _ex (it raises cr.linalg.LinAlgError instead of returning info)",
    )
)
_NOT_YET.update(
    dict.fromkeys(
        (
            "lu",
            "lu_factor",
            "lu_factor_ex",
            "lu_solve",
            "ldl_factor",
            "ldl_factor_ex",
            "ldl_solve",
            "householder_product",
        ),
        "not yet in chainrule; cr.linalg.solve / inv / qr cover the common uses",
    )
)


def __getattr__(name: str):
    if name in _NOT_YET:
        from chainrule._nearest import message
        from chainrule.errors import NotSupportedError

        raise NotSupportedError(message(f"torch.linalg.{name}", _NOT_YET[name]))
    raise AttributeError(f"module 'chainrule.linalg' has no attribute {name!r}")
