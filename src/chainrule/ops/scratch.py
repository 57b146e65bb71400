"""Scratch buffers reused across training steps by the convolution ops.

A training step allocates the same large scratch arrays (columns, padded planes) every time.
Fresh multi-megabyte arrays come from the system's allocator as new pages that fault in on
first write: on LeNet-5 that churn measured 6 of 16 ms per step. Buffers are therefore reused:
an op borrows one and gives it back when done (at the end of backward, or, for the columns
that backward needs, when the op's saved state is freed).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Lease", "borrow", "clear_buffers", "give_back"]

_SMALL = 1 << 16  # bytes: below this the allocator is fast enough
_free: dict[tuple, list] = {}


def borrow(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape``, reused from an earlier step when one is free."""
    stack = _free.get((shape, np.dtype(dtype)))
    if stack:
        return stack.pop()
    return np.empty(shape, dtype)


def give_back(array: np.ndarray) -> None:
    """Return a borrowed array; the caller must hold no view of it any more."""
    if array.nbytes < _SMALL or array.base is not None:
        return
    if len(_free) > 64:  # many shapes (changing batch sizes): start over rather than hoard
        _free.clear()
    stack = _free.setdefault((array.shape, array.dtype), [])
    if len(stack) < 2:
        stack.append(array)


def clear_buffers() -> None:
    """Drop the scratch arrays kept for reuse (at most two per shape and dtype), e.g. to return
    their memory after training a large network."""
    _free.clear()


class Lease:
    """Holds a borrowed array for an op and gives it back when the op's state is freed (the
    engine drops saved values after backward; an op never recorded is dropped at once)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def __del__(self):
        try:
            give_back(self.array)
        except Exception:  # interpreter shutdown: the module's globals may be gone
            pass


# ---- convolution --------------------------------------------------------------------------------
