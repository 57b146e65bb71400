"""Where PyTorch's indexing rules differ from NumPy's, the index is rewritten so NumPy gives
PyTorch's result.

* **Integers next to index arrays.** NumPy counts an integer as one more index array, and
  when index arrays are separated (``x[0, :, [0, 2]]``) it moves their dimension to the
  front: shape (2, 3, 5) for an x of shape (2, 3, 4, 5). PyTorch first selects with the
  integers and then indexes what is left, where ``[0, 2]`` stays in place: (3, 2, 5). So an
  index holding both is split into the integers (a view) and the rest.
* **uint8 index tensors** are masks in PyTorch (deprecated there, with a warning), integer
  positions in NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np


def _array(part):
    array = getattr(part, "array", None)  # a chainrule Tensor
    if array is not None and not isinstance(part, np.ndarray):
        part = array
    if isinstance(part, np.ndarray) and part.dtype == np.uint8:
        warnings.warn(
            "indexing with a uint8 tensor is deprecated, as in PyTorch; it is read as a mask "
            "(use a bool tensor)",
            UserWarning,
            stacklevel=4,
        )
        part = part.astype(bool)
    return part


def _is_integer(part) -> bool:
    if isinstance(part, (bool, np.bool_)):
        return False
    if isinstance(part, (int, np.integer)):
        return True
    return isinstance(part, np.ndarray) and part.ndim == 0 and part.dtype.kind in "iu"


def _is_array(part) -> bool:
    return isinstance(part, (list, np.ndarray)) and not _is_integer(part)


def _dims_taken(part) -> int:
    if isinstance(part, np.ndarray) and part.dtype == bool:
        return part.ndim  # a mask stands for as many dimensions as it has
    return 1


def torch_index(index) -> tuple:
    """The index as one or two NumPy indexes applied in turn (``x[a][b]``), with tensors as
    arrays, giving PyTorch's result."""
    if not isinstance(index, tuple):
        return (_array(index),)
    index = tuple(_array(part) for part in index)
    if not (any(map(_is_integer, index)) and any(map(_is_array, index))):
        return (index,)
    integers, rest = [], []
    for part in index:
        if _is_integer(part):
            integers.append(int(part))  # a 0-d array would index as an array: a copy, no view
        elif part is None:
            rest.append(part)
        elif part is Ellipsis:
            integers.append(part)
            rest.append(part)
        else:
            part = np.asarray(part) if isinstance(part, list) else part
            integers.extend([slice(None)] * _dims_taken(part))
            rest.append(part)
    return tuple(integers), tuple(rest)
