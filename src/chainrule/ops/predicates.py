"""Tests on values: NaN, infinity, closeness and equality, as PyTorch spells them.

None of them is differentiable: each answers a bool tensor (or a Python bool) and records
nothing in the graph.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule import _dtype
from chainrule.errors import DTypeError, DTypeNotImplementedError
from chainrule.ops._util import normalize_axis, operand
from chainrule.tensor import Tensor


def _bools(values: np.ndarray) -> Tensor:
    return Tensor._make(np.asarray(values), False)


def isnan(x) -> Tensor:
    """Where ``x`` is NaN (a bool tensor); integer and bool tensors are never NaN.

    Example:
        >>> import chainrule as cr
        >>> cr.isnan(cr.tensor([1.0, float("nan")])).tolist()
        [False, True]
    """
    return _bools(np.isnan(operand(x).array))


def isinf(x) -> Tensor:
    """Where ``x`` is +∞ or −∞ (a bool tensor)."""
    return _bools(np.isinf(operand(x).array))


def isfinite(x) -> Tensor:
    """Where ``x`` is neither NaN nor ±∞ (a bool tensor)."""
    return _bools(np.isfinite(operand(x).array))


def _pair(a, b, op: str) -> tuple[np.ndarray, np.ndarray]:
    """Two tensors of one dtype, as PyTorch's isclose and allclose require."""
    a, b = operand(a).array, operand(b).array
    if a.dtype != b.dtype:
        raise DTypeError(
            f"{op}: the tensors have different dtypes ({a.dtype} and {b.dtype}); convert one, "
            f"e.g. {op}(a, b.to(a.dtype)), as PyTorch requires"
        )
    return a, b


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Where |a − b| ≤ atol + rtol·|b|, elementwise (a bool tensor), as ``torch.isclose``."""
    a, b = _pair(a, b, "isclose")
    return _bools(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when every element satisfies |a − b| ≤ atol + rtol·|b| (shapes broadcast), as
    ``torch.allclose``.

    Example:
        >>> import chainrule as cr
        >>> cr.allclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-7]))
        True
    """
    a, b = _pair(a, b, "allclose")
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b) -> bool:
    """True when ``a`` and ``b`` have the same shape and the same elements (NaN is never equal),
    as ``torch.equal``."""
    a, b = operand(a).array, operand(b).array
    return a.shape == b.shape and bool(np.array_equal(a, b))


def count_nonzero(x, dim=None) -> Tensor:
    """How many entries are not zero (NaN counts), over all or over ``dim`` (an int or a
    tuple), as ``torch.count_nonzero``: an int64 tensor."""
    array = operand(x).array
    axis = normalize_axis(None, dim, array.ndim, "count_nonzero", empty_is_all=True)
    return Tensor._make(np.asarray(np.count_nonzero(array, axis=axis), dtype=np.int64), False)


def _reduce_truth(reduce, x, dim, keepdim: bool, op: str) -> Tensor:
    array = operand(x).array
    # dim=() reduces nothing here, as in PyTorch's any/all (its sum(dim=()) sums everything)
    nothing = dim is not None and not isinstance(dim, (int, np.integer)) and not tuple(dim)
    axis = () if nothing else normalize_axis(None, dim, array.ndim, op, empty_is_all=True)
    out = np.asarray(reduce(array, axis=axis, keepdims=bool(keepdim)))
    # PyTorch: uint8 in, uint8 out (0 or 1); any other dtype gives bool
    return _bools(out.astype(np.uint8) if array.dtype == np.uint8 else out)


def any(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002 - PyTorch's
    """Whether any element is true (non-zero), over all or along ``dim`` (an int or a tuple):
    a bool tensor, uint8 for a uint8 input, as ``torch.any``.

    Example:
        >>> import chainrule as cr
        >>> cr.any(cr.tensor([[0, 1], [0, 0]]), 1).tolist()
        [True, False]
    """
    return _reduce_truth(np.any, input, dim, keepdim, "any")


def all(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Whether every element is true (non-zero), as ``torch.all`` (uint8 for uint8 input)."""
    return _reduce_truth(np.all, input, dim, keepdim, "all")


def _truth(x) -> np.ndarray:
    a = operand(x).array
    return a if a.dtype == np.bool_ else a != 0


def logical_and(a, b) -> Tensor:
    """Where both are true (non-zero), a bool tensor with broadcasting (``torch.logical_and``).

    Example:
        >>> import chainrule as cr
        >>> cr.logical_and(cr.tensor([0.0, 1.0, 2.0]), cr.tensor([1, 1, 0])).tolist()
        [False, True, False]
    """
    return _bools(np.logical_and(_truth(a), _truth(b)))


def logical_or(a, b) -> Tensor:
    """Where either is true (non-zero), a bool tensor (``torch.logical_or``)."""
    return _bools(np.logical_or(_truth(a), _truth(b)))


def logical_xor(a, b) -> Tensor:
    """Where exactly one is true (non-zero), a bool tensor (``torch.logical_xor``)."""
    return _bools(np.logical_xor(_truth(a), _truth(b)))


def logical_not(x) -> Tensor:
    """Where ``x`` is false (zero), a bool tensor (``torch.logical_not``)."""
    return _bools(np.logical_not(_truth(x)))


def bitwise(ufunc, a, b) -> Tensor:
    """``&``, ``|``, ``^`` on bool or integer tensors (never part of the graph). A Python or
    NumPy scalar takes the tensor's dtype unless it is of a higher kind, as in PyTorch
    (int32 & 3 is int32, a bool tensor & 3 is int64)."""
    tensor = a if isinstance(a, Tensor) else b
    arrays = [
        x.array
        if isinstance(x, Tensor)
        else np.asarray(
            _dtype.wrap_int(x, tensor.array.dtype),  # uint8 & -1: wrapped, as PyTorch
            _dtype.scalar_dtype(tensor.array.dtype, x),
        )
        if np.ndim(x) == 0 and not isinstance(x, np.ndarray)
        else np.asarray(x)
        for x in (a, b)
    ]
    for array in arrays:
        if array.dtype.kind not in "biu":
            raise DTypeNotImplementedError(  # PyTorch has no float kernel
                f"{ufunc.__name__} needs bool or integer tensors, got {array.dtype}"
            )
    dtype = _dtype.result_type(*arrays)  # PyTorch's: int8 & a 0-d int64 stays int8
    return Tensor._make(ufunc(*(x.astype(dtype, copy=False) for x in arrays)), False)


def _comparison(name: str, symbol: str, compare_values):
    """``torch.eq`` and its kin: an operator as a function of a tensor and a tensor or number
    (PyTorch's promotion, a bool tensor, no graph)."""

    def compare(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
        if not isinstance(input, Tensor):
            kind = type(input).__name__
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {kind}")
        return compare_values(input, other)

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"``input {symbol} other`` as a bool tensor (``torch.{name}``)."
    return compare


eq = _comparison("eq", "==", operator.eq)
ne = not_equal = _comparison("ne", "!=", operator.ne)
lt = less = _comparison("lt", "<", operator.lt)
le = less_equal = _comparison("le", "<=", operator.le)
gt = greater = _comparison("gt", ">", operator.gt)
ge = greater_equal = _comparison("ge", ">=", operator.ge)
