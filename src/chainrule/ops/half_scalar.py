"""A float16 tensor times or divided by a number, as PyTorch computes it: in float32 with the
number in float32 (its "opmath"), rounded once to float16. Rounding the number to float16 first
gives other bits (x · 0.1 differs in a third of the elements) or none at all (x / 1e5 is 0, as
1e5 is inf in float16). PyTorch's + and − do round the number to float16, as chainrule does.

Also here, PyTorch's other float16 arithmetic where NumPy's float16 ufuncs give other bits:
``//`` of two tensors (PyTorch's SIMD kernel rounds every step to float16), ``**`` (C's pow
in float32, rounded once) and the in-place forms (the out-of-place result, written back)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd import inplace
from chainrule.tensor import Tensor

_NUMBERS = (int, float, np.integer, np.floating)
HALF = np.dtype(np.float16)


def is_half_and_number(a, b) -> bool:
    """One operand a float16 tensor, the other a (non-bool) number."""
    for tensor, number in ((a, b), (b, a)):
        if (
            isinstance(tensor, Tensor)
            and tensor.array.dtype is HALF
            and isinstance(number, _NUMBERS)
            and not isinstance(number, (bool, np.bool_))
        ):
            return True
    return False


def is_half_by_scalar_tensor(a, b) -> bool:
    """A float16 tensor (not 0-d) by a 0-d tensor of another float dtype: PyTorch's ``*``, ``/``
    and ``//`` read that right-hand value in float32 too, as a number (on the left it is cast)."""
    return (
        b.__class__ is Tensor
        and b.array.ndim == 0
        and b.array.dtype.kind == "f"
        and b.array.dtype is not HALF
        and isinstance(a, Tensor)
        and a.array.dtype is HALF
        and a.array.ndim > 0
    )


def half_by_number(op, a, b, **options) -> Tensor:
    """``op`` (Mul or Div) of a float16 tensor and a number in float32, rounded to float16; the
    casts are in the graph, so the gradient is rounded the same way (as PyTorch's)."""
    from chainrule.ops.elementwise import cast

    with np.errstate(over="ignore"):  # a number past float32's range is inf, as PyTorch's
        a, b = (
            cast(x, np.float32) if isinstance(x, Tensor) else Tensor._make(np.float32(x), False)
            for x in (a, b)
        )
    return cast(op.apply(a, b, **options), np.float16)


def number_over_half(x: Tensor, number) -> Tensor:
    """``number / x``: PyTorch's reciprocal of x (in float16), times the number in float32."""
    from chainrule.ops.elementwise import Mul
    from chainrule.ops.math import reciprocal

    return half_by_number(Mul, reciprocal(x), number)


def floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's float16 ``a // b`` where b has more than one element: its vectorised kernel
    (``div_floor_floating_vec``), each step rounded to float16 as NumPy's float16 ops round.
    (A one-element b takes PyTorch's float32 path, whose bits are NumPy's ``floor_divide``.)"""
    one, zero = np.float16(1), np.float16(0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quotient = a / b
        mod = np.fmod(a, b)
        whole = np.where((np.abs(quotient) == np.inf) & (np.abs(a) != np.inf), a, a - mod)
        div = whole / b
        div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - one, div)
        floor = np.floor(div)
        floor = np.where(div - floor > np.float16(0.5), floor + one, floor)
        floor = np.where(div == 0, np.copysign(zero, quotient), floor)
        return np.where(b == 0, quotient, floor)


def power(x, p) -> np.ndarray:
    """float16 ``x ** p`` as PyTorch's: C's pow in float32 (here in float64, rounded to float32:
    the same bits but where PyTorch's SIMD powf is one float32 ulp off, about once in a
    million), rounded to float16. ``p`` is float16 (a number exponent rounded by the caller)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.power(np.asarray(x, np.float64), np.asarray(p, np.float64))
        out = out.astype(np.float32).astype(np.float16)
    root = np.asarray(p) == 0.5  # NumPy's power by 0.5 is its sqrt: −0 and −∞ give −0 and NaN
    if root.any():
        out = np.where(root & (x == -np.inf), np.float16(np.inf), out)
        out = np.where(root & (x == 0), np.float16(0), out)
    return out


def exponent(p) -> np.float16:
    """A number exponent as PyTorch's float16 pow takes it: through float32 to float16."""
    with np.errstate(over="ignore"):
        return np.float16(np.float32(p))


def write_in_place(tensor: Tensor, ufunc, values) -> bool:
    """``tensor op= value`` on a float16 tensor as PyTorch: the out-of-place op's result written
    back (``x *= 0.1`` in float32, ``x //= y`` in float16 steps). False where the result would be
    of another dtype or shape: NumPy's in-place path (and its errors) answers those."""
    op = _in_place_ops().get(ufunc)
    if op is None or len(values) != 1:
        return False
    (other,) = values
    shape = tensor.array.shape
    try:
        if np.broadcast_shapes(shape, np.shape(other)) != shape:
            return False
    except ValueError:
        return False
    if isinstance(other, np.ndarray):
        other = Tensor._make(other, False)
    out = op(Tensor._make(tensor.array, False), other).array
    if out.dtype != HALF:
        return False
    np.copyto(tensor.array, out)
    return True


_IN_PLACE_OPS: dict = {}


def _trunc_divide(a, b) -> Tensor:
    from chainrule.ops.rounded_division import divide

    return divide(a, b, rounding_mode="trunc")


def _in_place_ops() -> dict:
    """ufunc (as ``autograd.inplace.write`` gets it) → the out-of-place op (imported late)."""
    if not _IN_PLACE_OPS:
        from chainrule.ops import elementwise, power, rounded_division

        _IN_PLACE_OPS.update(
            {
                np.add: elementwise.add,
                np.subtract: elementwise.sub,
                np.multiply: elementwise.mul,
                np.true_divide: elementwise.div,
                np.power: power.pow,
                inplace._floor_divide: rounded_division.floor_divide,
                inplace._remainder: rounded_division.remainder,
                inplace._trunc: _trunc_divide,
            }
        )
    return _IN_PLACE_OPS


inplace.HALF_WRITER[0] = write_in_place
