"""Norms with ``torch.linalg``'s names and dispatch: ``vector_norm``, ``matrix_norm`` and ``norm``.

Each is a composition of differentiable ops (the vector norms of ``ops/norm.py``, abs, sum,
amax/amin, and ``svdvals`` for the spectral and nuclear norms), written the way PyTorch writes
them, so the gradients are PyTorch's: ties share the gradient evenly, the 2-norm of a zero
vector has gradient 0.
"""

from __future__ import annotations

import math

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import normalize_axis, operand
from chainrule.ops.linalg._checks import floating
from chainrule.ops.norm import norm as _vector_norm
from chainrule.tensor import Tensor

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _cast(x: Tensor, dtype, op: str) -> Tensor:
    """PyTorch's ``dtype=`` of the norms: a floating input, cast without narrowing."""
    floating(x, op)
    if dtype is None:
        return x
    cast = x.to(dtype=dtype)  # a dtype name too
    wanted = cast.dtype
    if wanted.kind != "f" or wanted.itemsize < x.dtype.itemsize:
        raise DTypeError(
            f"linalg.{op}: the dtype of the input ({x.dtype}) should be convertible without "
            f"narrowing to the specified dtype ({wanted})"
        )
    return cast


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The vector ``ord``-norm of ``x`` over all elements (``dim=None``) or over ``dim`` (an
    int or a tuple), as ``torch.linalg.vector_norm``: 2 (√Σx²), 1 (Σ|x|), ``inf`` (max |x|),
    ``-inf`` (min |x|), 0 (the count of nonzeros) or any other number ((Σ|x|^ord)^(1/ord)).

    Args:
        x: a floating-point tensor of any shape.
        ord: the order, a number (``float("inf")`` included).
        dim: the dimensions to reduce; ``None`` reduces all of them.
        keepdim: keep the reduced dimensions with size 1.
        dtype: compute and return in this floating dtype (no narrowing: float64 → float32 is
            refused, as PyTorch refuses it).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.vector_norm(cr.tensor([[3.0, 4.0], [0.0, 0.0]]), dim=1).tolist()
        [5.0, 0.0]
    """
    x = _cast(operand(x), dtype, "vector_norm")
    if isinstance(ord, (bool, str)) or not isinstance(ord, (int, float)):
        raise TypeError(
            f"linalg.vector_norm: ord must be a number, got {ord!r}; for the Frobenius norm of "
            f"a matrix use cr.linalg.matrix_norm(A, 'fro') (or ord=2 here)"
        )
    return _vector_norm(x, float(ord), dim, keepdim)


def _matrix_dims(x: Tensor, dim, op: str) -> tuple[int, int]:
    if x.ndim < 2:
        raise ShapeError(
            f"linalg.{op}: the input tensor A must have at least 2 dimensions, got shape "
            f"{x.shape}; use cr.linalg.vector_norm for a vector"
        )
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) != 2:
        raise ShapeError(f"linalg.{op}: dim must be a 2-tuple, got {dim!r}")
    d0, d1 = (normalize_axis(None, d, x.ndim, op)[0] for d in dims)
    if d0 == d1:
        raise ShapeError(f"linalg.{op}: the two dims must be different, got {dim!r}")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The matrix ``ord``-norm of each matrix in ``A`` (its last two dims, or ``dim``), as
    ``torch.linalg.matrix_norm``: ``"fro"`` (√Σa²), ``"nuc"`` (the sum of the singular
    values), 2 / -2 (the largest / smallest singular value), 1 / -1 (the largest / smallest
    column sum of |a|), ``inf`` / ``-inf`` (the largest / smallest row sum of |a|).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_norm(cr.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
        6.0
    """
    x = _cast(operand(A), dtype, "matrix_norm")
    d0, d1 = _matrix_dims(x, dim, "matrix_norm")
    key = ord if isinstance(ord, str) else float(ord) if isinstance(ord, (int, float)) else None
    if isinstance(ord, bool) or key not in _MATRIX_ORDS:
        raise ValueError(
            f"linalg.matrix_norm: order {ord!r} is not supported; it takes 'fro', 'nuc', "
            f"1, -1, 2, -2, inf and -inf"
        )
    if key == "fro":
        return _vector_norm(x, 2.0, (d0, d1), keepdim)
    if key in (1, -1, math.inf, -math.inf):
        # PyTorch's: the sums along one dim, then their max or min along the other
        summed, pick = (d0, d1) if abs(key) == 1 else (d1, d0)
        sums = x.abs().sum(dim=summed, keepdim=keepdim)
        if not keepdim and summed < pick:
            pick -= 1  # (the summed dim is gone)
        # ending in amax/amin, as PyTorch's, so grad_fn is AmaxBackward0 there too
        return sums.amax(dim=pick, keepdim=keepdim) if key > 0 else sums.amin(pick, keepdim)
    from chainrule.ops.linalg.spectral import svdvals

    values = svdvals(x.movedim((d0, d1), (-2, -1)))
    out = values.sum(-1) if key == "nuc" else values.amax(-1) if key == 2 else values.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """A vector or matrix norm, as ``torch.linalg.norm`` chooses: a matrix norm when ``ord``
    is given and ``dim`` is a 2-tuple (or ``dim`` is ``None`` and ``A`` is 2-D), or when
    ``ord`` is a string; else a vector norm (``ord=None``: the 2-norm of all elements, or over
    ``dim``). Without ``dim``, a given ``ord`` needs a 1-D or 2-D ``A``.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> cr.linalg.norm(A, ord=float("inf")).item(), cr.linalg.norm(A[0], ord=1).item()
        (7.0, 3.0)
    """
    x = operand(A)
    dims = None if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if dims is not None and len(dims) not in (1, 2):
        raise ShapeError(
            f"linalg.norm: if dim is given it must have 1 or 2 dims, got {dim!r}; use "
            f"cr.linalg.vector_norm for more"
        )
    if dims is None and (ord is not None) and x.ndim not in (1, 2):
        raise ShapeError(
            f"linalg.norm: if dim is not given but ord is, the input must be 1-D or 2-D, got "
            f"{x.ndim}-D; pass dim"
        )
    two_dims = len(dims) == 2 if dims is not None else x.ndim == 2
    if isinstance(ord, str) or (ord is not None and two_dims):
        return matrix_norm(x, ord, dims or (0, 1), keepdim, dtype=dtype)
    return vector_norm(x, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
