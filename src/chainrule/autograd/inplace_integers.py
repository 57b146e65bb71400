"""Integer kernels of the in-place ops (autograd/inplace.py), where PyTorch's integer rules
differ from NumPy's."""

from __future__ import annotations

import numpy as np

from chainrule._dtype import integer_power


def _integer_pow(base, exponent, out, casting):
    """Integer ** integer in place, as PyTorch: a negative exponent in a tensor gives the
    quotient rounded toward 0 (NumPy refuses)."""
    exponent = np.asarray(exponent)
    if exponent.ndim > out.ndim:  # np.copyto below would drop leading size-1 dimensions
        raise ValueError(f"exponent shape {exponent.shape} does not fit {out.shape}")
    if exponent.dtype.kind not in "iu" or not (exponent < 0).any():
        return np.power(base, exponent, out=out, casting=casting)
    np.copyto(out, integer_power(base, exponent), casting=casting)


def _integer_into_integer(ufunc, array: np.ndarray, values) -> bool:
    """Whether an integer result may go into an integer tensor: PyTorch casts any integer into
    any other in place (uint8 += int64 wraps), where NumPy's same_kind refuses int into uint.
    A float result (int / int) stays refused, as there."""
    dtypes = [np.asarray(v).dtype for v in values if v is not None]
    if array.dtype.kind not in "iu" or any(d.kind not in "biu" for d in dtypes):
        return False
    if not isinstance(ufunc, np.ufunc):  # chainrule's own integer kernels (clamp, floor, pow)
        return True
    try:
        return ufunc.resolve_dtypes((array.dtype, *dtypes, None))[-1].kind in "iu"
    except TypeError:
        return False


def _single_numbers_cast(values, dtype: np.dtype) -> list:
    """Integer 0-d operands in the tensor's dtype, wrapped around: PyTorch's promotion ignores a
    0-d tensor (or NumPy scalar) of the tensor's own category, so uint8.clamp_min_(t(-3)) clamps
    at 253."""
    return [
        np.asarray(v).astype(dtype) if np.ndim(v) == 0 and np.asarray(v).dtype.kind in "biu" else v
        for v in values
    ]
