"""PyTorch's CPU range kernels (arange, linspace, logspace) in NumPy, bit for bit: the same
count, the same order of roundings, the same conversions of the bounds to the dtype."""

from __future__ import annotations

import math

import numpy as np

from chainrule import _dtype
from chainrule.errors import ArgumentError

# PyTorch's CPU arange kernel writes vectors of 32 bytes (4 doubles, 8 floats, 16 halves), two
# at a time, each from its own base; the elements left over one by one
_ARANGE_LANES = {2: 16, 4: 8, 8: 4}


def float_arange(start, end, step, dtype: np.dtype) -> np.ndarray:
    """PyTorch's float arange, bit for bit: the count is ⌈(end − start) / step⌉ in double; in
    the vector part each group of lanes starts from base = start + step·i rounded to the dtype
    and adds k·step, the rest is start + step·i; each a fused multiply-add in the accumulation
    type (double, float for float16), then rounded to the dtype. (Past 32768 elements PyTorch
    splits the range between its threads, each part with its own vector groups.)"""
    if not (np.isfinite(float(start)) and np.isfinite(float(end))):
        raise ArgumentError(f"arange: unsupported range: {start} -> {end}")
    size = math.ceil((float(end) - float(start)) / float(step))
    lanes = _ARANGE_LANES[dtype.itemsize]
    vector_part = size // (2 * lanes) * (2 * lanes)
    accumulate = np.float32 if dtype == np.float16 else np.float64
    first, stride = np.float64(accumulate(start)), np.float64(accumulate(step))
    with np.errstate(over="ignore"):  # past float16's range: inf, as PyTorch's
        bases = _multiply_add(stride, np.arange(0, vector_part, lanes), first, accumulate)
        bases = bases.astype(dtype).astype(np.float64)[:, None]
        lane = np.arange(lanes, dtype=np.float64)[None, :]
        vectors = _multiply_add(lane, stride, bases, accumulate).astype(dtype)
        rest = _multiply_add(stride, np.arange(vector_part, size), first, accumulate)
        return np.concatenate([vectors.reshape(-1), rest.astype(dtype)])


def _multiply_add(a, b, c, accumulate) -> np.ndarray:
    """a·b + c rounded once to ``accumulate`` (float64 operands; for float32 the product of a
    float32 and a count and its sum with a float32 are exact in float64 but in extreme ranges)."""
    a, b, c = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64)
    if accumulate is np.float64:
        return fma(a, b, c)
    return (a * b + c).astype(accumulate)


def integer_arange(start, end, step, dtype: np.dtype) -> np.ndarray:
    # PyTorch accumulates integer dtypes in int64: start, end and step are truncated to it
    try:
        first, last, stride = int(start), int(end), int(step)
    except (OverflowError, ValueError):
        raise ArgumentError(f"arange: unsupported range: {start} -> {end}") from None
    if not stride:  # PyTorch: an error for int64, a constant for the other integer dtypes
        raise ArgumentError(
            f"arange: step must be nonzero (step {step} truncates to 0 for dtype {dtype}); "
            f"use a float dtype, or an integer step"
        )
    if dtype == np.int64:  # exact integer arithmetic (int64 holds more than a double)
        sign = 1 if stride > 0 else -1
        size = (last - first + stride - sign) // stride
    else:  # the other integer dtypes count in double, from the values as given
        size = math.ceil((float(end) - float(start)) / float(step))
    values = first + stride * np.arange(max(size, 0), dtype=np.int64)
    return values.astype(dtype)  # wraps past the dtype's range, as PyTorch's cast


def torch_linspace(start, end, steps: int, dtype: np.dtype) -> np.ndarray:
    # PyTorch's CPU kernel: step = (end − start) / (steps − 1) in the dtype (in double for
    # integers); i < steps/2 gives start + step·i, the rest end − step·(steps − 1 − i), each
    # one fused multiply-add (one rounding: PyTorch's kernels are built with FMA contraction).
    if steps == 0:
        return np.empty(0, dtype)
    if steps == 1:  # PyTorch fills with start alone
        return _one_element(start, dtype)
    # the bounds are converted to the dtype first (checked; truncated for integers)
    start, end = _dtype.checked_scalar(start, dtype), _dtype.checked_scalar(end, dtype)
    if dtype == np.float16:
        return _half_linspace(start, end, steps)
    work = np.dtype(np.float64) if dtype.kind in "iub" else dtype
    first, last = work.type(start), work.type(end)
    step = (last - first) / work.type(steps - 1)
    i = np.arange(steps)
    up = i < steps // 2
    base = np.where(up, first, last)
    signed = np.where(up, step, -step)
    count = np.where(up, i, steps - 1 - i)
    if work == np.float64:
        values = fma(signed, count.astype(np.float64), base)
    else:  # a float32 product is exact in float64: one rounding to float32 at the end
        values = signed.astype(np.float64) * count + base.astype(np.float64)
    if dtype.kind in "iu":
        return np.trunc(values).astype(dtype)  # C++'s conversion truncates
    return values.astype(dtype)


def _half_linspace(start, end, steps: int) -> np.ndarray:
    # PyTorch's float16 arithmetic: every operation (the step, step·i with i made a float16,
    # the sum) rounds to float16, as NumPy's float16 ufuncs do
    first, last = np.float16(start), np.float16(end)
    step = (last - first) / np.float16(steps - 1)
    i = np.arange(steps)
    up = i < steps // 2
    count = np.where(up, i, steps - 1 - i).astype(np.float16)
    offset = step * count
    return np.where(up, first + offset, last - offset)


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a·b + c in float64 with (almost always) one rounding: Dekker's exact product, then an
    exact sum (NumPy has no fused multiply-add)."""
    product = a * b
    split = 134217729.0 * a  # 2**27 + 1: halves of 26 bits whose products are exact
    a_hi = split - (split - a)
    split = 134217729.0 * b
    b_hi = split - (split - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product + c
    back = total - product
    rest = (product - (total - back)) + (c - back)
    return total + (rest + error)


def torch_logspace(start, end, steps: int, base: float, dtype: np.dtype) -> np.ndarray:
    """PyTorch's logspace: the bounds converted to the dtype, the step (end − start)/(steps − 1)
    in double, base ** (start + step·i) (the second half counted down from ``end``) with the
    C library's ``pow`` (NumPy's vectorised power differs in the last bit), then the dtype
    (float16 through float32, integers truncated)."""
    if steps == 0:
        return np.empty(0, dtype)
    if steps == 1:  # PyTorch fills with base ** start
        return _one_element(_c_pow(base, float(start)), dtype)
    first, last = (
        np.array(_dtype.checked_scalar(bound, dtype)).astype(dtype)[()] for bound in (start, end)
    )
    if dtype.kind in "iu":
        difference = float(last) - float(first)
    else:
        difference = float(last - first)  # subtracted in the dtype, as PyTorch's scalar_t
    step = difference / (steps - 1)
    i = np.arange(steps, dtype=np.float64)
    up = i < steps // 2
    exponents = np.where(
        up, float(first) + step * i, float(last) - step * (steps - 1 - i)
    )  # this kernel is compiled without fused multiply-adds
    values = np.fromiter((_c_pow(base, x) for x in exponents), np.float64, count=steps)
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == np.float16:  # C++ converts a double to float16 through float
            return values.astype(np.float32).astype(dtype)
        return (np.trunc(values) if dtype.kind in "iu" else values).astype(dtype)


def _c_pow(base: float, exponent: float) -> float:
    """C's ``pow``: ``math.pow`` (the same libm function), with IEEE's inf and NaN where Python
    raises (0 ** −1, (−2) ** 0.5, an overflow)."""
    try:
        return math.pow(base, exponent)
    except (ValueError, OverflowError):
        with np.errstate(all="ignore"):
            return float(np.power(np.float64(base), np.float64(exponent)))


def _one_element(value, dtype: np.dtype) -> np.ndarray:
    """PyTorch's fill of a one-element tensor: a checked conversion, but for float16, which
    it fills unchecked (inf past its range)."""
    if dtype != np.float16:
        value = _dtype.checked_scalar(value, dtype)
    with np.errstate(over="ignore"):
        return np.array([value]).astype(dtype)
