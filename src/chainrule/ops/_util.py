"""Helpers shared by the op families: turning operands into tensors, normalising axes."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.errors import DimensionError, ShapeError
from chainrule.tensor import Tensor

_SCALARS = (bool, int, float, np.generic)

# 0 and 1 as 0-d int8 arrays, for arithmetic with float arrays: an int8 operand takes the float
# array's dtype (float16, float32 or float64) as a Python int does, and NumPy 2.4 spends about
# 0.2 µs less per call on it than on converting a Python scalar (measured on one element).
ZERO = np.zeros((), np.int8)
ONE = np.ones((), np.int8)
MINUS_ONE = np.full((), -1, np.int8)  # np.copysign(z, MINUS_ONE) is −|z| in one call


def operand(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor; a Python scalar takes ``like``'s dtype (NumPy 2's weak scalars)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, _SCALARS):
        # A scalar takes the tensor's dtype unless it is of a higher kind (PyTorch's rule; a
        # NumPy float64 scalar too, so a float32 tensor times np.float64(2) stays float32).
        dtype = _dtype.scalar_dtype(like.array.dtype, value)
        try:
            return Tensor._make(np.asarray(value, dtype=dtype), False)
        except OverflowError:  # uint8 + (-3): PyTorch wraps the number around
            return Tensor._make(np.asarray(_dtype.wrap_int(value, dtype), dtype=dtype), False)
    if isinstance(value, (np.ndarray, np.generic)):
        _dtype.check_kind(value.dtype, "op")
        return Tensor._make(np.asarray(value), False)
    return Tensor(value)


def operands(a, b) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors; scalars adapt to the tensor's dtype."""
    if not isinstance(a, Tensor):
        a = operand(a, b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = operand(b, a)
    if a.array.dtype != b.array.dtype:
        dtype = _dtype.result_type(a.array, b.array)
        if a.array.dtype != dtype:
            a = _cast(a, dtype)
        if b.array.dtype != dtype:
            b = _cast(b, dtype)
    return a, b


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    if t.requires_grad:  # float to float: the cast is part of the graph
        from chainrule.ops.elementwise import cast

        return cast(t, dtype)
    return Tensor._make(t.array.astype(dtype), False)


def check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op} got shapes {a.shape} and {b.shape}, which do not broadcast together"
        ) from None


def normalize_axis(axis, dim, ndim: int, op: str, empty_is_all: bool = False):
    """Resolve NumPy's ``axis`` / PyTorch's ``dim`` to ``None`` or a sorted tuple of axes.

    ``empty_is_all``: an empty tuple means every axis, as for PyTorch's reductions
    (``x.sum(dim=())`` is the sum of all; NumPy's would reduce nothing), and a 0-d tensor's
    dim 0 or -1 (which PyTorch accepts) means all of it, since NumPy has no axis there to name.
    An axis named twice is refused, as in PyTorch.
    """
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}() got both axis= and dim=; pass one")
        axis = dim
    if axis is None:
        return None
    try:
        axes = (axis,) if isinstance(axis, (int, np.integer, Tensor)) else tuple(axis)
    except TypeError:  # a float: not iterable
        axes = (axis,)
    if not axes and empty_is_all:
        return None
    resolved = []
    for a in axes:
        a = check_dim_type(a, axis, op)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise DimensionError(f"{op}() got axis {a} for a tensor with {ndim} dimensions")
        resolved.append(int(a) % max(ndim, 1))
    if len(set(resolved)) < len(resolved):
        raise ShapeError(f"{op}(): dim {axis!r} names an axis more than once")
    if ndim == 0 and empty_is_all:
        return None
    return tuple(sorted(resolved))


def check_dim_type(a, dim, op: str) -> int:
    """A dim as an int. Refuses what is not an integer: ``True`` would be read as dim 1 and
    ``1.7`` as dim 1, where PyTorch raises (``x.max(True)`` means ``keepdim=True`` to no one).
    A one-element integer (or bool) tensor is its value, as PyTorch reads it."""
    if isinstance(a, Tensor) and a.array.size == 1 and a.array.dtype.kind in "iub":
        return int(a.array.reshape(()))
    if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
        raise TypeError(f"{op}(): dim must be an integer or a tuple of integers, got {dim!r:.60}")
    return int(a)


def check_int(value, name: str, op: str) -> int:
    """An integer argument (an offset, a count of turns): a float or bool is refused, as PyTorch
    refuses it, rather than truncated (``diagonal(x, 1.5)`` is not ``diagonal(x, 1)``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}(): {name} must be an integer, got {value!r:.60}")
    return int(value)


def expand_reduced(grad: np.ndarray, in_shape: tuple, axes, keepdims: bool) -> np.ndarray:
    """Reshape a reduction's gradient so it broadcasts back over the reduced axes."""
    if axes is None:
        return grad.reshape((1,) * len(in_shape)) if in_shape else grad
    if not keepdims:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        grad = grad.reshape(shape)
    return grad


def floating(x) -> Tensor:
    """``x`` as a tensor of floats for a float-valued op (exp, sqrt, sigmoid, ...): integer
    and bool tensors become the default float dtype first, as in PyTorch (NumPy would give
    float64 for int64, float16 for uint8 and bool, and wrap −x around for unsigned ints)."""
    x = x if isinstance(x, Tensor) else operand(x)
    if x.array.dtype.kind in "biu":
        from chainrule import _dtype

        return Tensor._make(x.array.astype(_dtype.get_default_dtype()), False)
    return x


def float_operand(x, op: str) -> Tensor:
    """``x`` as a tensor that must hold floating-point numbers (activations, softmax)."""
    x = operand(x)
    if x.array.dtype.kind != "f":
        from chainrule.errors import DTypeNotImplementedError  # PyTorch has no such kernel

        raise DTypeNotImplementedError(
            f"{op} needs floating-point input, got dtype {x.array.dtype}; convert it with "
            f".astype('float32')"
        )
    return x


def sgn(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: −1, 0 or 1 in ``x``'s dtype, and 0 (not NaN) where ``x`` is NaN.

    ``np.sign`` gives NaN there, and the derivatives of |x|, ‖x‖₁ and the L1 loss built on it
    would pass NaN where PyTorch's give 0. From 4,096 elements: two comparisons and one
    subtraction, about the time of ``np.sign`` itself (15.2 against 14.0 µs on 32K float32).
    """
    if x.dtype == np.bool_:
        return x.copy()  # sign(True) is True, as in PyTorch
    if x.size < 4096:  # few elements: NumPy's sign and a NaN test cost fewer calls (2 vs 4 µs)
        s = np.sign(x)
        if x.dtype.kind == "f" and np.isnan(s).any():
            s[np.isnan(s)] = 0
        return s
    return np.subtract(x > 0, x < 0, dtype=x.dtype)


def no_bool_running(x: Tensor, op: str) -> None:
    """PyTorch has no running sum or product in bool (``cumsum(dtype=torch.bool)``)."""
    if x.array.dtype.kind == "b":
        raise NotImplementedError(
            f"{op}(dtype=bool) is not supported, as in PyTorch; accumulate in an integer dtype "
            f"(dtype=int64) and compare the result with 0"
        )


def to_result_dtype(x, dtype, op: str) -> Tensor:
    """``x`` converted to the ``dtype=`` of sum, prod, cumsum or cumprod. An integer or bool
    result has no gradient: PyTorch raises ("Autograd not support dtype") rather than return
    it silently detached from the graph, and so does chainrule."""
    from chainrule.autograd.grad_mode import is_grad_enabled
    from chainrule.errors import GraphError

    x = operand(x)
    out = x.to(dtype=dtype)
    if out.array.dtype.kind not in "fc" and x.requires_grad and is_grad_enabled():
        raise GraphError(
            f"{op}(dtype={out.array.dtype}) of a tensor that requires grad: an integer result "
            f"has no gradient (PyTorch raises too); call .detach() first, or use a float dtype"
        )
    return out


def in_dtype_of(result: Tensor, x: Tensor) -> Tensor:
    """``result`` in ``x``'s dtype: PyTorch's ``dtype=`` of sum, prod, cumsum and cumprod is the
    result's dtype too, where NumPy accumulates int8 to int32 and bool as int64 (cast back, the
    value wraps as PyTorch's does: modulo 2^bits)."""
    if result.array.dtype != x.array.dtype:
        return result.to(x.array.dtype)
    return result


def opmath(x: np.ndarray) -> np.ndarray:
    """``x`` in the dtype PyTorch accumulates it in: float16 widened to float32 (its CPU
    reductions sum float16 in float32 and round once, so Σx² of 3000 tens is 3e5, not inf);
    other dtypes as they are. Cast the result back with ``.astype(x.dtype, copy=False)``."""
    return x.astype(np.float32) if x.dtype == np.float16 else x
