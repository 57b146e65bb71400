"""Helpers shared by the layers: turning user input into a tensor of the layer's dtype."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.errors import DTypeError
from chainrule.tensor import Tensor


def as_input(x, dtype: np.dtype | None, layer: str) -> Tensor:
    """``x`` as a tensor of ``dtype``: arrays, lists and integer tensors are converted; a float
    tensor of another dtype is an error, as in PyTorch (converting would hide a slow float64
    pass or a lost gradient). ``dtype=None`` keeps float input as it is (float32 otherwise)."""
    if dtype is None:
        kind = x.array.dtype.kind if isinstance(x, Tensor) else np.asarray(x).dtype.kind
        dtype = x.dtype if isinstance(x, Tensor) and kind == "f" else _dtype.float32
        if not isinstance(x, Tensor) and kind == "f":
            dtype = np.asarray(x).dtype
    if isinstance(x, Tensor):
        if x.array.dtype == dtype:
            return x
        if x.array.dtype.kind == "f":
            raise DTypeError(
                f"{layer} has {dtype} parameters but got a {x.array.dtype} tensor; convert one "
                f"side: x.astype('{dtype}') or model.to(cr.{x.array.dtype})"
            )
        return Tensor._make(x.array.astype(dtype), False)
    if isinstance(x, tuple) and hasattr(x, "batch_sizes"):
        # NumPy would read the named tuple as a ragged list and blame the array's shape
        raise DTypeError(
            f"{layer} got a PackedSequence; only RNN, LSTM and GRU take one. Unpack it first "
            "(padded, lengths = nn.utils.rnn.pad_packed_sequence(packed)), or apply the layer "
            "to packed.data and repack: packed._replace(data=layer(packed.data))"
        )
    try:
        array = np.asarray(x)
    except ValueError as err:
        raise DTypeError(f"{layer} cannot make an array from its input: {err}") from err
    _dtype.check_kind(array.dtype, layer)
    return Tensor._make(array.astype(dtype, copy=False), False)


def as_float_input(x, dtype: np.dtype, layer: str) -> Tensor:
    """:func:`as_input` for the layers that, as PyTorch's, refuse an integer or bool tensor
    (the recurrent ones): a tensor of token ids or counts is a bug there, not data to convert.
    Arrays and lists are still converted."""
    if isinstance(x, Tensor) and x.array.dtype.kind in "biu":
        raise DTypeError(
            f"{layer} input dtype ({x.array.dtype}) does not match weight dtype ({dtype}), as "
            f"PyTorch refuses too; convert the input: x.to(cr.{dtype}) (token ids go through "
            f"an nn.Embedding first)"
        )
    return as_input(x, dtype, layer)


def float_dtype(dtype) -> np.dtype:
    """A layer's parameter dtype: the default dtype (float32 unless ``set_default_dtype``
    changed it, as PyTorch's layers follow ``torch.set_default_dtype``), or float32/float64 on
    request."""
    resolved = _dtype.resolve_dtype(dtype) or _dtype.get_default_dtype()
    if resolved not in (_dtype.float32, _dtype.float64):
        raise DTypeError(f"layers hold float32 or float64 parameters, got dtype {dtype!r}")
    return resolved


def check_size(value, name: str, layer: str, minimum: int = 0) -> int:
    """A layer size: a non-negative integer (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{layer}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
