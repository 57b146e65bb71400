"""Dtype rules: float32 by default, float64 on request, integer data stays integer."""

from __future__ import annotations

import functools
import math

import numpy as np

from chainrule.errors import (
    ChainruleError,
    DataError,
    DTypeError,
    DTypeNotImplementedError,
    IntegerDivisionError,
    ShapeError,
)

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_ALLOWED_KINDS = "fiub"


def resolve_dtype(dtype) -> np.dtype | None:
    """A NumPy dtype from a dtype, a dtype's name (``"float64"``) or ``None``."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise DTypeError(f"unknown dtype {dtype!r}; use e.g. 'float32' or np.float64") from err
    check_kind(resolved, "tensor")
    return resolved


def check_kind(dtype: np.dtype, where: str) -> None:
    if dtype.kind not in _ALLOWED_KINDS:
        raise DTypeError(
            f"{where} got data of dtype {dtype}; chainrule works with float, integer and bool "
            f"data (convert strings or objects to numbers first)"
        )


def as_array(data, dtype=None) -> np.ndarray:
    """Convert ``data`` to an array with chainrule's defaults (floats become the default
    float dtype, float32 unless :func:`set_default_dtype` changed it)."""
    resolved = resolve_dtype(dtype)
    if resolved is not None:
        try:
            return np.asarray(data, dtype=resolved)
        except (TypeError, ValueError) as err:
            raise DTypeError(f"cannot convert data to {resolved}: {err}") from err
        except OverflowError:  # tensor([-1], dtype=uint8): PyTorch's checked conversion
            values = np.asarray(data)
            if values.dtype.kind in "iu" and values.size:
                checked_int(int(values.min()), resolved)
                checked_int(int(values.max()), resolved)
                return values.astype(resolved)
            raise
    try:
        array = np.asarray(data)
    except ValueError as err:  # ragged nested lists
        raise DTypeError(f"cannot make a tensor from this data: {err}") from err
    if (array.dtype == np.uint64 and isinstance(data, (int, list, tuple))) or (
        array.dtype.kind in "fO"
        and isinstance(data, (list, tuple))
        and _holds_huge_int(data, array)
    ):
        # Python ints from 2**63 up: NumPy picks uint64 (float64 or object beside other
        # numbers), PyTorch (int64 for ints) refuses
        raise DataError(
            "Overflow when unpacking long long: an integer of 2**63 or more does not fit "
            "int64, the dtype of Python ints (as in PyTorch); pass a float or a NumPy array"
        )
    check_kind(array.dtype, "tensor()")
    if array.dtype.kind == "f" and array.dtype != _DEFAULT[0]:
        array = array.astype(_DEFAULT[0])
    return array


def _holds_huge_int(data, array: np.ndarray) -> bool:
    """Whether nested ``data`` holds a Python int outside int64 among ints only (PyTorch reads
    ints as int64 and overflows; beside a float it reads them all as floats). Looked for only
    when a value that large is in the array, so float data pays one vectorised test."""
    if array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            if not array.size or not np.any(np.abs(array) >= 2.0**63):
                return False
    huge = False
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, float):
            return False
        elif isinstance(item, int) and not -(2**63) <= item < 2**63:
            huge = True
    return huge


# The float dtype that new float data takes (PyTorch's torch.get_default_dtype()).
_DEFAULT = [float32]


def get_default_dtype() -> np.dtype:
    """The dtype new float tensors get: float32 unless :func:`set_default_dtype` changed it."""
    return _DEFAULT[0]


def set_default_dtype(dtype) -> None:
    """Make new float tensors (``cr.tensor([1.5])``, int / float results) use ``dtype``."""
    resolved = resolve_dtype(dtype)
    if resolved is None or resolved.kind != "f" or resolved.itemsize < 4:
        raise DTypeError(f"set_default_dtype takes float32 or float64, got {dtype!r}")
    _DEFAULT[0] = resolved


def _category(dtype: np.dtype) -> int:
    return 0 if dtype.kind == "b" else 2 if dtype.kind == "f" else 1


def result_type(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """The dtype of an op on two arrays, by PyTorch's rules, not NumPy's.

    A float operand wins over integers and keeps its own dtype (float32 + int64 is float32,
    where NumPy says float64); within one category a dimensioned operand wins over a 0-d one
    (a float32 vector times a float64 scalar stays float32); otherwise the larger type.
    """
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _category(da), _category(db)
    if ca != cb:
        return da if ca > cb else db
    if a.ndim == 0 and b.ndim > 0:
        return db
    if b.ndim == 0 and a.ndim > 0:
        return da
    return np.promote_types(da, db)


def result_type_of(*arrays: np.ndarray) -> np.dtype:
    """:func:`result_type` of several arrays (``clamp(x, min, max)``): the highest category
    decides, and within it the dimensioned arrays win over the 0-d ones, as PyTorch's."""
    best = max(_category(a.dtype) for a in arrays)
    for group in ([a for a in arrays if a.ndim], [a for a in arrays if not a.ndim]):
        top = [a.dtype for a in group if _category(a.dtype) == best]
        if top:
            return functools.reduce(np.promote_types, top)
    raise ValueError("result_type_of needs at least one array")


def scalar_dtype(like: np.dtype, value) -> np.dtype:
    """The dtype of an op on an array of dtype ``like`` and a Python/NumPy scalar ``value``.

    The scalar adapts to the array unless it is of a higher category: a float scalar with an
    integer array gives the default float dtype, an int scalar with a bool array gives int64.
    """
    if isinstance(value, (bool, np.bool_)):
        category = 0
    elif isinstance(value, (float, np.floating)):
        category = 2
    else:
        category = 1
    if category <= _category(like):
        return like
    return _DEFAULT[0] if category == 2 else int64


def wrap_int(value, dtype: np.dtype):
    """A Python int that ``dtype`` cannot hold, wrapped around as PyTorch's arithmetic does
    (``uint8 + (-3)`` adds 253, ``int8 + 300`` adds 44; NumPy 2 raises OverflowError). As in
    PyTorch, an int beyond 64 bits (below −2⁶³ or from 2⁶⁴ on) still raises OverflowError."""
    if dtype.kind not in "iu" or value.__class__ is not int:
        return value
    if not -(1 << 63) <= value < 1 << 64:
        raise OverflowError(
            f"Python integer {value} does not fit in 64 bits (PyTorch refuses it too)"
        )
    bits = dtype.itemsize * 8
    value &= (1 << bits) - 1
    return value - (1 << bits) if dtype.kind == "i" and value >> (bits - 1) else value


def checked_int(value, dtype: np.dtype):
    """A Python int written into an integer tensor (``fill_``, ``masked_fill``, ``x[i] = v``,
    ``full``, ``tensor``, clamp bounds), checked as PyTorch checks it: within the dtype's
    range, or for an unsigned dtype down to −max, wrapped (uint8: −1 is 255, as in PyTorch,
    where NumPy 2 raises OverflowError); anything else raises."""
    if value.__class__ is not int or dtype.kind not in "iu":
        return value
    bits = dtype.itemsize * 8
    high = (1 << bits) - 1 if dtype.kind == "u" else (1 << (bits - 1)) - 1
    low = -high if dtype.kind == "u" else -high - 1
    if not low <= value <= high:
        raise DTypeError(
            f"value {value} cannot be converted to type {dtype} without overflow (as in "
            f"PyTorch); use a wider dtype, e.g. .long()"
        )
    return value + (1 << bits) if value < 0 and dtype.kind == "u" else value


def check_integer_divisor(a: np.ndarray, b: np.ndarray, op: str) -> None:
    """Raise for integer division by zero (``//``, ``%``, fmod): NumPy answers 0 with a
    warning, PyTorch raises, as integers have no inf or NaN to give. An empty ``a`` divides
    nothing (every element of ``b`` meets one of ``a`` only when the result is not empty)."""
    if b.dtype.kind in "biu" and a.dtype.kind in "biu" and a.size and not np.all(b):
        raise IntegerDivisionError(
            f"integer division by zero in {op}; divide floats to get inf/NaN"
        )


def refuse_non_float(dtype: np.dtype, op: str) -> None:
    """PyTorch draws random floats only (``rand``, ``randn``, their ``_like``, ``normal_``,
    ``uniform_``); an integer or bool dtype raises its ``NotImplementedError`` (NumPy would
    truncate the draws to zeros)."""
    if dtype.kind != "f":
        raise DTypeNotImplementedError(
            f"{op} is not implemented for {dtype} tensors, as in PyTorch; draw floats and "
            f"convert them, or use randint for random integers"
        )


def refuse_bool(dtype: np.dtype, op: str) -> None:
    """PyTorch has no ``//``, ``%``, ``fmod`` or tensor ``**`` whose result is bool (NumPy
    would answer in int8); raise its ``NotImplementedError``."""
    if dtype.kind == "b":
        raise DTypeNotImplementedError(
            f"{op} is not implemented for bool tensors, as in PyTorch (NumPy would answer in "
            f"int8); convert first, e.g. mask.long()"
        )


_BOOL = np.dtype(bool)
_NOT_BOOL = np.empty(0)


def refuse_bool_sub(a, b=0) -> tuple:
    """``(a, b)`` for ``a - b``; PyTorch refuses ``-`` with a bool tensor or a bool number on
    either side (NumPy would count True as 1, or refuse bool − bool with a TypeError of its
    own). Four identity tests (0.2 µs), on subtraction's slow path only."""
    if (
        a.__class__ is bool
        or b.__class__ is bool
        or getattr(a, "array", _NOT_BOOL).dtype is _BOOL  # a Tensor's (Tensor comes later)
        or getattr(b, "array", _NOT_BOOL).dtype is _BOOL
    ):
        raise DTypeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported (as in "
            "PyTorch). If you are trying to invert a mask, use the `~` or logical_not() "
            "operator instead; else convert first, e.g. mask.float()"
        )
    return a, b


def integer_power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a ** b for integer tensors with some b < 0, as PyTorch: the quotient 1 / a^|b| rounded
    toward 0 (so 1 for a = 1, ±1 for a = −1, else 0, also for a = 0). NumPy refuses."""
    out = a ** np.maximum(b, 0)
    negative = b < 0
    odd = (b % 2) == 1
    small = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, small, out).astype(out.dtype, copy=False)


def checked_scalar(value, dtype: np.dtype):
    """A Python number written into a tensor of ``dtype`` (``full``, ``full_like``, the bounds
    of ``linspace``), checked as PyTorch's scalar conversion: a finite number past a float
    dtype's range or outside an integer dtype's range raises (NaN and inf too); a float for
    an integer dtype is truncated (2.7 is 2). Bool dtypes, arrays and tensors pass as given."""
    if not isinstance(value, (int, float)) or dtype.kind == "b":
        return value
    if dtype.kind in "iu":
        return _integer_bound(value, dtype)
    if dtype.kind == "f":
        number = float(value)
        if math.isfinite(number) and abs(number) > float(np.finfo(dtype).max):
            raise DTypeError(f"value {value} cannot be converted to type {dtype} without overflow")
    return value


def assign(target: np.ndarray, index, value) -> None:
    """``target[index] = value`` with PyTorch's conversion of a number (:func:`checked_scalar`),
    but for float16, which PyTorch writes unchecked (inf past its range)."""
    if target.dtype == np.float16:
        with np.errstate(over="ignore"):
            target[index] = value
    else:
        target[index] = checked_scalar(value, target.dtype)


def assign_checked(target: np.ndarray, index, value, from_tensor: bool) -> None:
    """``target[index] = value`` as PyTorch's index assignment: a tensor's leading 1s dropped
    (``x[i] = t`` of shape (1,) works), a shape that does not fit a :class:`ShapeError` (a
    RuntimeError, as PyTorch's; NumPy's ValueError is not one)."""
    if from_tensor:
        ones = 0
        while ones < value.ndim and value.shape[ones] == 1:
            ones += 1
        value = value.reshape(value.shape[ones:]) if ones else value
    try:
        assign(target, index, value)
    except ValueError as err:
        if not target.flags.writeable:  # a broadcast view: see autograd/inplace_errors.py
            raise ShapeError(
                "index assignment: the tensor is a broadcast view (expand, broadcast_to): more "
                "than one element refers to a single memory location; clone() it first"
            ) from None
        words = ("broadcast", "input values", "with a sequence")  # NumPy's, on shapes
        if isinstance(err, ChainruleError) or not any(word in str(err) for word in words):
            raise
        raise ShapeError(
            f"index assignment: {str(err).rstrip('.')}; the value must broadcast to the "
            f"shape of the part it is written into"
        ) from None


def _integer_bound(value, dtype: np.dtype) -> int:
    """``value`` converted to an integer dtype as PyTorch converts a scalar: an int within the
    dtype's range (an unsigned one wraps −1 to 255), a float checked on its own value (127.5
    overflows int8, −0.5 overflows uint8), then truncated."""
    if isinstance(value, (int, np.integer)):
        return checked_int(int(value), dtype)
    info = np.iinfo(dtype)
    if not info.min <= value <= info.max:  # NaN fails too
        raise DTypeError(f"value {value} cannot be converted to type {dtype} without overflow")
    return int(value)


def alpha_product(dtype: np.dtype, value, alpha):
    """``alpha·value`` for an in-place ``add_``/``sub_`` into a tensor of ``dtype``: integer and
    bool arrays are multiplied in ``dtype``, as PyTorch computes ``x + alpha·y`` in the result
    dtype and wraps integers (``value``'s own uint8 would wrap 255·2 to 254, and NumPy refuses
    a uint8 times −3); a bool tensor takes alpha as a bool."""
    if dtype == np.bool_ and np.asarray(value).dtype == np.bool_:
        return np.logical_and(value, bool(alpha))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu" and dtype.kind in "fiu":
        return np.multiply(value.astype(dtype), np.asarray(alpha).astype(dtype))
    return value * alpha
