"""Shared by the convolution and pooling ops: argument checks, channels-last im2col/col2im
and a small pool of reused scratch buffers."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.errors import DTypeError
from chainrule.tensor import Tensor


# ---- argument helpers ---------------------------------------------------------------------------
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


def group_count(groups, op: str) -> int:
    """``groups`` checked to be an integer >= 1 (not a bool), as an int."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be an integer >= 1, got {groups!r}")
    return int(groups)


def check_output_padding(output_padding, stride, dilation, op: str) -> None:
    """A transposed convolution's output_padding must be below the stride or the dilation."""
    from chainrule.errors import ShapeError

    for o, s, d in zip(output_padding, stride, dilation):
        if o >= max(s, d):
            raise ShapeError(  # a ValueError, and PyTorch's RuntimeError
                f"{op}: output_padding {output_padding} must be smaller than the stride "
                f"{stride} or the dilation {dilation}"
            )


def _out_size(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _float_input(x: Tensor, op: str) -> None:
    if x.array.dtype.kind != "f":
        raise DTypeError(
            f"{op} expects a floating-point input, got {x.array.dtype}; convert it with "
            f"x.astype('float32')"
        )


# ---- im2col / col2im, channels-last -------------------------------------------------------------
def _pad_nhwc(x: np.ndarray, pads: tuple[int, int, int, int], fill=0.0) -> np.ndarray:
    """NCHW ``x`` as a padded channels-last array (N, H + top + bottom, W + left + right, C)."""
    n, c, h, w = x.shape
    top, bottom, left, right = pads
    nhwc = x.transpose(0, 2, 3, 1)
    if not (top or bottom or left or right):
        return nhwc  # a view; the column copy reads it once
    xp = _borrow((n, h + top + bottom, w + left + right, c), x.dtype)
    if fill == 0.0:
        xp[:, :top] = 0
        xp[:, top + h :] = 0
        xp[:, top : top + h, :left] = 0
        xp[:, top : top + h, left + w :] = 0
    else:
        xp.fill(fill)
    xp[:, top : top + h, left : left + w] = nhwc
    return xp


def _windows(xp, kernel, stride, dilation, out_hw) -> np.ndarray:
    """Read-only view (N, OH, OW, kh, kw, C) of every kernel window of channels-last ``xp``."""
    sn, sh, sw, sc = xp.strides
    n, _, _, c = xp.shape
    (kh, kw), (st_h, st_w), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    return as_strided(
        xp,
        shape=(n, oh, ow, kh, kw, c),
        strides=(sn, sh * st_h, sw * st_w, sh * dh, sw * dw, sc),
        writeable=False,
    )


def _col2im(cols, padded_hw, kernel, stride, dilation) -> np.ndarray:
    """Sum the columns' gradient (N, OH, OW, kh, kw, C) back into (N, Hp, Wp, C): one strided
    slice-add per kernel offset."""
    n, oh, ow, kh, kw, c = cols.shape
    (st_h, st_w), (dh, dw) = stride, dilation
    out = np.zeros((n, padded_hw[0], padded_hw[1], c), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + st_h * (oh - 1) + 1, st_h)
            columns = slice(j * dw, j * dw + st_w * (ow - 1) + 1, st_w)
            out[:, rows, columns] += cols[:, :, :, i, j]
    return out


def _as_nchw(nhwc: np.ndarray) -> np.ndarray:
    return nhwc.transpose(0, 3, 1, 2)


# ---- scratch buffers ----------------------------------------------------------------------------
# A training step allocates the same large scratch arrays (columns, padded planes) every time.
# Fresh multi-megabyte arrays come from the system's allocator as new pages that fault in on
# first write: on LeNet-5 that churn measured 6 of 16 ms per step. Buffers are therefore reused:
# an op borrows one and gives it back when done (at the end of backward, or, for the columns
# that backward needs, when the op's saved state is freed).
_SMALL = 1 << 16  # bytes: below this the allocator is fast enough
_free: dict[tuple, list] = {}


def _borrow(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape``, reused from an earlier step when one is free."""
    stack = _free.get((shape, np.dtype(dtype)))
    if stack:
        return stack.pop()
    return np.empty(shape, dtype)


def _give_back(array: np.ndarray) -> None:
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


class _Lease:
    """Holds a borrowed array for an op and gives it back when the op's state is freed (the
    engine drops saved values after backward; an op never recorded is dropped at once)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def __del__(self):
        try:
            _give_back(self.array)
        except Exception:  # interpreter shutdown: the module's globals may be gone
            pass
