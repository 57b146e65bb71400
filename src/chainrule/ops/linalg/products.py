"""The rest of ``torch.linalg`` that is built from other ops (so the gradients are theirs):
``matmul``, ``cross``, ``diagonal``, ``vecdot``, ``multi_dot``, ``solve_triangular``,
``cond``, ``vander``, ``tensorinv``, ``tensorsolve`` and ``matrix_rank`` (an integer count,
outside the graph)."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import LinAlgError, ShapeError
from chainrule.ops._util import operand, operands
from chainrule.ops.linalg._checks import floating, matrices, mT_of
from chainrule.tensor import Tensor


def matmul(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.linalg.matmul``: the same as ``cr.matmul``."""
    from chainrule.ops.matmul import matmul as _matmul

    return _matmul(input, other)


def cross(input, other, *, dim: int = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (default the last), as
    ``torch.linalg.cross``: the inputs need the same number of dims and broadcast.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cross(cr.tensor([1.0, 0.0, 0.0]), cr.tensor([0.0, 1.0, 0.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    from chainrule.ops.linalg_extra import cross as _cross

    return _cross(input, other, dim=dim)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """``torch.linalg.diagonal``: ``cr.diagonal`` over the last two dims by default."""
    from chainrule.ops.diagonal import diagonal as _diagonal

    return _diagonal(A, offset, dim1, dim2)


def vecdot(x, y, *, dim: int = -1) -> Tensor:
    """Σ x·y along ``dim``, the two broadcast, as ``torch.linalg.vecdot`` (floating point).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.vecdot(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([1.0, 1.0])).tolist()
        [3.0, 7.0]
    """
    a, b = operands(x, y)
    floating(a, "vecdot")
    return (a * b).sum(dim)


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices, as ``torch.linalg.multi_dot``: the first may be a
    vector (a row) and the last a vector (a column); the others are matrices. Multiplied from
    the left (PyTorch picks the cheapest order: the values agree to rounding).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.multi_dot([cr.tensor([1.0, 2.0]), cr.eye(2), cr.tensor([3.0, 4.0])]).item()
        11.0
    """
    tensors = [operand(t) for t in tensors]
    if len(tensors) < 2:
        raise ShapeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        ends = i in (0, len(tensors) - 1)
        if t.ndim != 2 and not (ends and t.ndim == 1):
            raise ShapeError(
                f"multi_dot(): tensor {i} must be 2-D (the first and last may be 1-D), got "
                f"shape {t.shape}"
            )
    # as matrices (a vector end as a row or column), then one view to the result's shape:
    # PyTorch's way, so its grad_fn is ViewBackward0 too
    shape = tensors[0].shape[:-1] + tensors[-1].shape[1:]
    out = tensors[0] if tensors[0].ndim == 2 else tensors[0].unsqueeze(0)
    for t in tensors[1:]:
        out = out @ (t if t.ndim == 2 else t.unsqueeze(-1))
    return out.reshape(shape)


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False):  # noqa: N803
    """X with A X = B (``left=False``: X A = B) for triangular ``A`` (*, n, n), as
    ``torch.linalg.solve_triangular``: only the ``upper`` (or lower) triangle of ``A`` is read,
    and its diagonal is taken as 1s when ``unitriangular``; ``B`` is (*, n, k) (*, k, n for
    ``left=False``), the batch dims broadcast. The gradient of ``A`` stays in its triangle.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[2.0, 1.0], [0.0, 4.0]])
        >>> cr.linalg.solve_triangular(A, cr.tensor([[3.0], [4.0]]), upper=True).tolist()
        [[1.0], [1.0]]
    """
    from chainrule.ops.linalg._named import SolveTriangularTransposedOutput, transposed
    from chainrule.ops.linalg.inverse import SolveTriangular, _check_rhs

    a, b = matrices(A, "solve_triangular"), operand(B)
    if b.ndim < 2:
        raise ShapeError(
            f"linalg.solve_triangular: the input tensor B must have at least 2 dimensions, got "
            f"shape {b.shape}; unsqueeze(-1) a vector"
        )
    if unitriangular:
        part = a.triu(1) if upper else a.tril(-1)
        part = part + Tensor._make(np.eye(a.shape[-1], dtype=a.dtype), False)
    else:
        part = a.triu() if upper else a.tril()
    if not left:  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        part, b = mT_of(part), mT_of(b)
    _check_rhs("solve_triangular", a, b, b)
    out = SolveTriangular.apply(part, b)
    return out if left else transposed(out, SolveTriangularTransposedOutput)


def cond(A, p=None) -> Tensor:  # noqa: N803
    """The condition number of each matrix, as ``torch.linalg.cond``: S_max / S_min for
    ``p=None`` or 2 (S_min / S_max for -2), else ``matrix_norm(A, p)·matrix_norm(A⁻¹, p)`` for
    square ``A`` (inf where A is singular, as PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cond(cr.tensor([[2.0, 0.0], [0.0, 0.5]])).item()
        4.0
    """
    from chainrule.ops.linalg.inverse import inv
    from chainrule.ops.linalg.norms import matrix_norm
    from chainrule.ops.linalg.spectral import svdvals
    from chainrule.ops.math import nan_to_num

    if p is None or (not isinstance(p, str) and abs(p) == 2):
        values = svdvals(matrices(A, "cond", square=False))
        big, small = values[..., :1], values[..., -1:]
        # the ratio, then squeeze: PyTorch's order (its grad_fn is SqueezeBackward1)
        return (small / big if p == -2 else big / small).squeeze(-1)
    a = matrices(A, "cond")
    try:
        product = matrix_norm(a, p) * matrix_norm(inv(a), p)
        if p == "nuc":
            return product
        # PyTorch's: 0·∞ (a huge or tiny norm) read as ∞, as NumPy's cond
        return nan_to_num(product, nan=math.inf, posinf=math.inf, neginf=-math.inf)
    except LinAlgError:  # PyTorch's answer for a singular matrix (per batch element: all inf)
        shape = a.shape[:-2]
        return Tensor._make(np.full(shape, math.inf, a.dtype), False)


def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:  # noqa: N803
    """The number of singular values (|eigenvalues| when ``hermitian``) above
    max(atol, rtol·S_max), as ``torch.linalg.matrix_rank``: int64, no gradient. ``rtol``
    defaults to eps·max(m, n), or 0 when a positive ``atol`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_rank(cr.ones(3, 3)).item()
        1
    """
    from chainrule.ops.linalg.spectral import tolerances

    a = matrices(A, "matrix_rank", square=bool(hermitian))
    atol, rtol = tolerances(a, atol, rtol)
    if hermitian:
        values = np.abs(np.linalg.eigvalsh(a.array))
    else:
        values = np.linalg.svd(a.array, compute_uv=False)
    top = np.max(values, axis=-1, keepdims=True, initial=0)
    tol = np.maximum(atol, rtol * top)
    return Tensor._make(np.sum(values > tol, axis=-1).astype(np.int64), False)


def vander(x, *, N: int | None = None) -> Tensor:  # noqa: N803 - PyTorch's name
    """The Vandermonde matrix of ``x`` (*, n), as ``torch.linalg.vander``: columns x⁰, x¹, …,
    x^(N−1) (N defaults to n), built as PyTorch builds it (a running product), so the
    gradient is PyTorch's, finite at x = 0.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.vander(cr.tensor([2, 3])).tolist()
        [[1, 2], [1, 3]]
    """
    from chainrule.ops.cumulative import cumprod
    from chainrule.ops.shape import cat

    x = operand(x)
    n = (x.shape[-1] if x.ndim else 0) if N is None else int(N)
    if x.ndim == 0 or n <= 1:
        raise ShapeError(
            f"linalg.vander: needs x of at least 1 dimension and N greater than 1, got shape "
            f"{x.shape} and N={N!r}"
        )
    column = x.unsqueeze(-1)
    ones = Tensor._make(np.ones(x.shape + (1,), x.dtype), False)
    return cat([ones, cumprod(column.expand(*x.shape, n - 1), -1)], dim=-1)


def tensorinv(A, ind: int = 2) -> Tensor:  # noqa: N803
    """The inverse of ``A`` read as a matrix of shape (prod(A.shape[:ind]),
    prod(A.shape[ind:])), as ``torch.linalg.tensorinv``: shape A.shape[ind:] + A.shape[:ind].

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.tensorinv(cr.eye(4).reshape(4, 2, 2), ind=1).shape
        (2, 2, 4)
    """
    from chainrule.ops.linalg.inverse import inv

    a = operand(A)
    if ind <= 0:
        raise ShapeError(f"linalg.tensorinv: ind must be a positive integer, got {ind}")
    rows, cols = math.prod(a.shape[:ind]), math.prod(a.shape[ind:])
    if rows != cols:
        raise ShapeError(
            f"linalg.tensorinv: prod(A.shape[ind:]) must equal prod(A.shape[:ind]), got {cols} "
            f"and {rows} for shape {a.shape} and ind={ind}"
        )
    from chainrule.ops.linalg._named import TensorinvOutput, reshaped

    return reshaped(inv(a.reshape(rows, cols)), a.shape[ind:] + a.shape[:ind], TensorinvOutput)


def tensorsolve(A, B, dims=None) -> Tensor:  # noqa: N803
    """X with ``tensordot(A, X, X.ndim) = B``, as ``torch.linalg.tensorsolve``: X has shape
    A.shape[B.ndim:] (after ``dims`` of A are moved to the end).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.tensorsolve(cr.eye(6).reshape(2, 3, 6), cr.ones(2, 3)).shape
        (6,)
    """
    from chainrule.ops.linalg.inverse import solve

    a, b = operand(A), operand(B)
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        a = a.movedim(dims, tuple(range(a.ndim - len(dims), a.ndim)))
    shape = a.shape[b.ndim :]
    rows, cols = math.prod(b.shape), math.prod(shape)
    if a.shape[: b.ndim] != b.shape or rows != cols:
        raise ShapeError(
            f"linalg.tensorsolve: A of shape {a.shape} does not fit B of shape {b.shape}: A must "
            f"start with B's shape and its remaining dims hold as many elements"
        )
    return solve(a.reshape(rows, cols), b.reshape(rows)).reshape(shape)
