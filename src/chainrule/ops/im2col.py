"""im2col and col2im over channels-last arrays, the layout the convolution ops compute in.

The padded input is stored channels-last (N, H, W, C); a strided view of it holds every kernel
window, and copying that view gives the column matrix (N·OH·OW rows, kh·kw·C columns) that
multiplies the weight. Channels-last columns were measured faster than channels-first ones
(see ``benchmarks/bench_conv_layout.py``). col2im undoes it for the gradient with one strided
slice-add per kernel offset, never a loop over pixels or batch items.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.ops.scratch import borrow

__all__ = ["as_nchw", "col2im", "pad_nhwc", "windows"]


def pad_nhwc(x: np.ndarray, pads: tuple[int, int, int, int], fill=0.0) -> np.ndarray:
    """NCHW ``x`` as a padded channels-last array (N, H + top + bottom, W + left + right, C)."""
    n, c, h, w = x.shape
    top, bottom, left, right = pads
    nhwc = x.transpose(0, 2, 3, 1)
    if not (top or bottom or left or right):
        return nhwc  # a view; the column copy reads it once
    xp = borrow((n, h + top + bottom, w + left + right, c), x.dtype)
    if fill == 0.0:
        xp[:, :top] = 0
        xp[:, top + h :] = 0
        xp[:, top : top + h, :left] = 0
        xp[:, top : top + h, left + w :] = 0
    else:
        xp.fill(fill)
    xp[:, top : top + h, left : left + w] = nhwc
    return xp


def windows(xp, kernel, stride, dilation, out_hw) -> np.ndarray:
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


def col2im(cols, padded_hw, kernel, stride, dilation) -> np.ndarray:
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


def as_nchw(nhwc: np.ndarray) -> np.ndarray:
    """A channels-last (N, H, W, C) array as an NCHW view, without copying."""
    return nhwc.transpose(0, 3, 1, 2)
