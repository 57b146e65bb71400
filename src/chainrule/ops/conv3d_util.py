"""Channels-last im2col and col2im over volumes, shared by ``conv3d`` and ``conv_transpose3d``
(the 3-D forms of ``conv_util``'s ``_pad_nhwc``, ``_windows`` and ``_col2im``).

A volume is stored channels-last, (N, D, H, W, C), so that one kernel tap's channels are one
contiguous run: a strided view then holds every window (N, OD, OH, OW, kd, kh, kw, C) with no
copy, and copying that view once gives the column matrix (N·OD·OH·OW rows, kd·kh·kw·C
columns) that one BLAS product multiplies with the weight.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.ops.conv_util import _borrow


def triple(value, name: str, op: str, minimum: int = 0) -> tuple[int, int, int]:
    """An int or a triple of ints as a triple, each an integer >= ``minimum``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise ValueError(f"{op}: {name} must be an int or a triple of ints, got {value!r}")
        values = tuple(value)
    else:
        values = (value,) * 3
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{op}: {name} must be integers >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def out_sizes(sizes, pads, kernel, stride, dilation) -> tuple[int, int, int]:
    """(OD, OH, OW) of a convolution over ``sizes`` padded by ``pads`` (front, back, ...)."""
    return tuple(
        (size + pads[2 * i] + pads[2 * i + 1] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        for i, size in enumerate(sizes)
    )


def pad_channels_last(x: np.ndarray, pads) -> np.ndarray:
    """NCDHW ``x`` as a zero-padded, contiguous, borrowed (N, Dp, Hp, Wp, C) array. Always a
    copy: the window copy then reads each tap's channels as one run, not C strided values."""
    n, c, d, h, w = x.shape
    front, back, top, bottom, left, right = pads
    xp = _borrow((n, d + front + back, h + top + bottom, w + left + right, c), x.dtype)
    if front or back or top or bottom or left or right:
        # only the border is zeroed; the inside is written once, below
        xp[:, :front] = 0
        xp[:, front + d :] = 0
        inner = xp[:, front : front + d]
        inner[:, :, :top] = 0
        inner[:, :, top + h :] = 0
        inner[:, :, top : top + h, :left] = 0
        inner[:, :, top : top + h, left + w :] = 0
    xp[:, front : front + d, top : top + h, left : left + w] = x.transpose(0, 2, 3, 4, 1)
    return xp


def windows(xp: np.ndarray, kernel, stride, dilation, out_size) -> np.ndarray:
    """Read-only view (N, OD, OH, OW, kd, kh, kw, C) of every window of channels-last ``xp``."""
    sn, sd, sh, sw, sc = xp.strides
    n, c = xp.shape[0], xp.shape[4]
    return as_strided(
        xp,
        shape=(n, *out_size, *kernel, c),
        strides=(
            sn,
            sd * stride[0],
            sh * stride[1],
            sw * stride[2],
            sd * dilation[0],
            sh * dilation[1],
            sw * dilation[2],
            sc,
        ),
        writeable=False,
    )


def col2im(cols: np.ndarray, padded_size, stride, dilation) -> np.ndarray:
    """Sum the columns' gradient (N, OD, OH, OW, kd, kh, kw, C) back into (N, Dp, Hp, Wp, C):
    one strided slice-add per kernel tap, each over the whole batch (never a loop over
    positions). The window axes stay innermost, so each add's inner loop runs over a tap's C
    channels, and with stride 1 the output side of it is one contiguous OW·C run."""
    n, od, oh, ow, kd, kh, kw, c = cols.shape
    out = np.zeros((n, *padded_size, c), cols.dtype)
    spans = [(od, stride[0]), (oh, stride[1]), (ow, stride[2])]
    for i in range(kd):
        depth = _taps(i * dilation[0], *spans[0])
        for j in range(kh):
            rows = _taps(j * dilation[1], *spans[1])
            for k in range(kw):
                columns = _taps(k * dilation[2], *spans[2])
                out[:, depth, rows, columns] += cols[:, :, :, :, i, j, k]
    return out


def _taps(start: int, count: int, step: int) -> slice:
    """The positions a kernel tap at offset ``start`` reads for ``count`` outputs."""
    return slice(start, start + step * (count - 1) + 1, step)
