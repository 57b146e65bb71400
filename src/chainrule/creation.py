"""Ways to make tensors: from data, filled with a constant, or drawn from a seeded generator."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.random import Generator, get_generator
from chainrule.tensor import Tensor


def _wrap(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A tensor around an array already in its final dtype (no second conversion)."""
    t = Tensor._make(array, False)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a tensor from a number, a (nested) list, an array or another tensor (copied).

    Floating-point data becomes float32 unless ``dtype`` says otherwise (``"float64"`` for
    gradient checks); integer and bool data keep their kind (class labels stay integers).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]], dtype="float64").dtype
        dtype('float64')
    """
    if dtype is None and type(data) is np.ndarray:
        kind = data.dtype.kind
        if (kind == "f" and data.dtype == _dtype.float32) or kind in "iub":
            # A batch that needs no conversion (the common call in a training loop): copied
            # and wrapped here, in half the time of the general path below.
            return _wrap(data.copy(), requires_grad)
    if isinstance(data, Tensor):
        data = data.data
    array = _dtype.as_array(data, dtype)
    if isinstance(data, np.ndarray) and array is data:
        array = array.copy()  # a tensor owns its data, as torch.tensor() copies
    return _wrap(array, requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with ``data`` when no conversion is needed."""
    if dtype is None and type(data) is np.ndarray:
        kind = data.dtype.kind
        if (kind == "f" and data.dtype == _dtype.float32) or kind in "iub":
            return _wrap(data)  # nothing to convert (tensor()'s fast path, without the copy)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    array = _dtype.as_array(data.data if isinstance(data, Tensor) else data, dtype)
    return _wrap(array)


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(dtype) -> np.dtype:
    return _dtype.resolve_dtype(dtype) or _dtype.float32


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.zeros(_shape(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.ones(_shape(shape), _float_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _wrap(np.full(shape, fill_value, _float_dtype(dtype)), requires_grad)


def zeros_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    other = np.asarray(other)
    return _wrap(np.zeros(other.shape, _dtype.resolve_dtype(dtype) or other.dtype), requires_grad)


def ones_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    other = np.asarray(other)
    return _wrap(np.ones(other.shape, _dtype.resolve_dtype(dtype) or other.dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Evenly spaced values; integer arguments give an integer tensor, as in NumPy."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _wrap(_dtype.as_array(values, dtype))


def randn(*shape, dtype=None, requires_grad: bool = False, generator: Generator | None = None):
    """Standard normal samples from the seeded generator (see :func:`chainrule.manual_seed`)."""
    dt = _float_dtype(dtype)
    values = get_generator(generator).standard_normal(_shape(shape)).astype(dt)
    return _wrap(values, requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, generator: Generator | None = None):
    """Uniform samples in [0, 1) from the seeded generator."""
    dt = _float_dtype(dtype)
    values = get_generator(generator).random(_shape(shape)).astype(dt)
    return _wrap(values, requires_grad)
