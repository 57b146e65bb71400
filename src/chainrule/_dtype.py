"""Dtype rules: float32 by default, float64 on request, integer data stays integer."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError

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
    """Convert ``data`` to an array with chainrule's defaults (floats become float32)."""
    resolved = resolve_dtype(dtype)
    if resolved is not None:
        try:
            return np.asarray(data, dtype=resolved)
        except (TypeError, ValueError) as err:
            raise DTypeError(f"cannot convert data to {resolved}: {err}") from err
    try:
        array = np.asarray(data)
    except ValueError as err:  # ragged nested lists
        raise DTypeError(f"cannot make a tensor from this data: {err}") from err
    check_kind(array.dtype, "tensor()")
    if array.dtype.kind == "f" and array.dtype != float32:
        array = array.astype(float32)
    return array
