"""Argument checks shared by the convolution and pooling ops: sizes given as an int or a tuple,
the output length of a sliding window, and the floating-point input rule."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError
from chainrule.tensor import Tensor

__all__ = ["float_input", "out_size", "pair", "single"]


def pair(value, name: str, op: str, minimum: int = 0) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each checked to be an integer >= ``minimum``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        values = tuple(value)
    else:
        values = (value, value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{op}: {name} must be integers >= {minimum}, got {value!r}")
    return int(values[0]), int(values[1])


def single(value, name: str, op: str, minimum: int = 0) -> int:
    """A 1-d option: an int or a one-element tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return pair(value, name, op, minimum)[0]


def out_size(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    """How many windows of a dilated ``kernel`` fit along a padded axis at ``stride``."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def float_input(x: Tensor, op: str) -> None:
    """Raise a DTypeError naming ``op`` unless ``x`` holds floating-point values."""
    if x.array.dtype.kind != "f":
        raise DTypeError(
            f"{op} expects a floating-point input, got {x.array.dtype}; convert it with "
            f"x.astype('float32')"
        )
