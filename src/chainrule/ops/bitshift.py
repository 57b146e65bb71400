"""Bit shifts of integer tensors, ``<<`` and ``>>`` (``bitwise_left_shift``,
``bitwise_right_shift``), never part of the graph; and ``bitwise_and``/``or``/``xor``/``not``
by name, the operators ``&``, ``|``, ``^``, ``~``.

PyTorch defines every shift count: a count that is negative or at least the bit width gives 0
for ``<<`` and the sign (0 or −1) for ``>>``; NumPy's are undefined there, so counts are
clipped first.
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.errors import DTypeNotImplementedError
from chainrule.tensor import Tensor


def _integer_arrays(a, b, op: str) -> tuple[np.ndarray, np.ndarray]:
    tensor = a if isinstance(a, Tensor) else b
    arrays = []
    for x in (a, b):
        if isinstance(x, Tensor):
            arrays.append(x.array)
        elif np.ndim(x) == 0 and not isinstance(x, np.ndarray):
            dtype = _dtype.scalar_dtype(tensor.array.dtype, x)
            # wrapped as PyTorch's: uint8 << -3 shifts by 253 (so gives 0), << 2**40 by 0
            arrays.append(np.asarray(_dtype.wrap_int(x, dtype), dtype))
        else:
            arrays.append(np.asarray(x))
    dtype = _dtype.result_type(*arrays)
    if dtype.kind not in "biu":
        raise DTypeNotImplementedError(  # PyTorch has no float kernel
            f"{op} needs integer tensors, got {arrays[0].dtype} and {arrays[1].dtype}"
        )
    if dtype == np.bool_:
        raise DTypeNotImplementedError(  # a bool beside an int number shifts as int64
            f"{op} is not implemented for two bool operands, as in PyTorch; convert one to an "
            f"integer dtype first, e.g. x.long()"
        )
    return arrays[0].astype(dtype, copy=False), arrays[1].astype(dtype, copy=False)


def bitwise_left_shift(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """``input << other`` on integers, as ``torch.bitwise_left_shift`` (bits shifted out are
    lost; a count below 0 or of the bit width or more gives 0).

    Example:
        >>> import chainrule as cr
        >>> (cr.tensor([1, 3]) << 2).tolist()
        [4, 12]
    """
    a, b = _integer_arrays(input, other, "<<")
    bits = a.dtype.itemsize * 8
    valid = (b >= 0) & (b < bits)
    out = np.where(valid, np.left_shift(a, np.where(valid, b, 0).astype(a.dtype)), 0)
    return Tensor._make(np.asarray(out, a.dtype), False)


def bitwise_right_shift(input, other) -> Tensor:  # noqa: A002
    """``input >> other`` on integers (arithmetic: the sign is kept), as
    ``torch.bitwise_right_shift``."""
    a, b = _integer_arrays(input, other, ">>")
    bits = a.dtype.itemsize * 8
    valid = (b >= 0) & (b < bits)
    shifted = np.right_shift(a, np.where(valid, b, 0).astype(a.dtype))
    out = np.where(valid, shifted, np.where(a < 0, -1, 0).astype(a.dtype))
    return Tensor._make(np.asarray(out, a.dtype), False)


def bitwise_and(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """``input & other`` for integer and bool tensors, as ``torch.bitwise_and``."""
    return _as_tensor(input) & other


def bitwise_or(input, other) -> Tensor:  # noqa: A002
    """``input | other``, as ``torch.bitwise_or``."""
    return _as_tensor(input) | other


def bitwise_xor(input, other) -> Tensor:  # noqa: A002
    """``input ^ other``, as ``torch.bitwise_xor``."""
    return _as_tensor(input) ^ other


def bitwise_not(input) -> Tensor:  # noqa: A002
    """``~input``, as ``torch.bitwise_not``."""
    return ~_as_tensor(input)


def _as_tensor(value) -> Tensor:
    from chainrule.ops._util import operand

    return operand(value)
