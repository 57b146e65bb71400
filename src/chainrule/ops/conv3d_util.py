"""im2col and col2im over volumes, shared by ``conv3d`` and ``conv_transpose3d``: copies of
whole runs, one kernel axis at a time, never one window or one position at a time.

The columns are channels first, (C, kd, kh, kw, N, OD, OH, OW): their rows (C, kd, kh, kw)
are the weight's own (C_out, C·kd·kh·kw) layout, so one BLAS product over the whole batch
multiplies them, and with groups each group's rows are one contiguous block.

They are built in three stages, as the 2-D "exact" columns are (``ops/conv_flat.py``): the
padded volumes (C, N, Dp, Hp, Wp) shifted by each kernel column (kw copies, (C, kw, N, Dp, Hp,
OW)), those shifted by each kernel row (kh copies, (C, kh, kw, N, Dp, OH, OW)), then by each
depth tap (kd copies). Each copy is one NumPy call over the whole batch, and with stride 1 the
rows of a stage are one contiguous run (OH·OW, then OD·OH·OW values), which NumPy copies at
memcpy speed. Callgrind, Conv3d(8→16, k=3) forward + backward on 4×8×16×16×16 (float32, one
BLAS thread): 72.8 M instructions with these columns, 122 M with one copy of a channels-last
window view (N·OD·OH·OW rows of kd·kh·kw·C, whose runs are one tap's C = 8 channels), 119 M
for the earlier per-depth-tap gathers and 2-D convolutions. col2im runs the same stages
backwards, as adds.
"""

from __future__ import annotations

import numpy as np

from chainrule.ops.conv_util import _borrow, _give_back


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


def as_batch_of_volumes(x, weight, op: str, weight_layout: str):
    """``(x as (N, C, D, H, W), whether it came unbatched)``, after checking that the weight
    is 5-D (``weight_layout`` names its axes in the message) and the input 4-D or 5-D."""
    from chainrule.errors import ShapeError

    if weight.ndim != 5:
        raise ShapeError(f"{op} expects a 5-D weight {weight_layout}, got {weight.shape}")
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape(1, *x.shape)
    if x.ndim != 5:
        raise ShapeError(
            f"{op} expects input of shape (N, C, D, H, W) or (C, D, H, W), got {tuple(x.shape)}"
        )
    return x, unbatched


def out_sizes(sizes, pads, kernel, stride, dilation) -> tuple[int, int, int]:
    """(OD, OH, OW) of a convolution over ``sizes`` padded by ``pads`` (front, back, ...)."""
    return tuple(
        (size + pads[2 * i] + pads[2 * i + 1] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        for i, size in enumerate(sizes)
    )


def pad_channels_first(x: np.ndarray, pads) -> np.ndarray:
    """NCDHW ``x`` as zero-padded (C, N, Dp, Hp, Wp) volumes: a borrowed copy when padded
    (give it back), else a view."""
    n, c, d, h, w = x.shape
    front, back, top, bottom, left, right = pads
    xc = x.transpose(1, 0, 2, 3, 4)
    if not (front or back or top or bottom or left or right):
        return xc
    xp = _borrow((c, n, d + front + back, h + top + bottom, w + left + right), x.dtype)
    # only the border is zeroed; the inside is written once, below
    xp[:, :, :front] = 0
    xp[:, :, front + d :] = 0
    inner = xp[:, :, front : front + d]
    inner[:, :, :, :top] = 0
    inner[:, :, :, top + h :] = 0
    inner[:, :, :, top : top + h, :left] = 0
    inner[:, :, :, top : top + h, left + w :] = 0
    inner[:, :, :, top : top + h, left : left + w] = xc
    return xp


def im2col(xp: np.ndarray, kernel, stride, dilation, out_size) -> np.ndarray:
    """The columns (C, kd, kh, kw, N, OD, OH, OW) of volumes ``xp`` (C, N, Dp, Hp, Wp), in a
    borrowed array (give it back when done)."""
    c, n, dp, hp, _ = xp.shape
    (kd, kh, kw), (od, oh, ow) = kernel, out_size
    columns = _borrow((c, kw, n, dp, hp, ow), xp.dtype)
    for k in range(kw):
        columns[:, k] = xp[..., _taps(k * dilation[2], ow, stride[2])]
    rows = _borrow((c, kh, kw, n, dp, oh, ow), xp.dtype)
    for j in range(kh):
        rows[:, j] = columns[..., _taps(j * dilation[1], oh, stride[1]), :]
    _give_back(columns)
    cols = _borrow((c, kd, kh, kw, n, od, oh, ow), xp.dtype)
    for i in range(kd):
        cols[:, i] = rows[..., _taps(i * dilation[0], od, stride[0]), :, :]
    _give_back(rows)
    return cols


def col2im(cols: np.ndarray, padded_size, stride, dilation) -> np.ndarray:
    """Sum the columns' gradient (C, kd, kh, kw, N, OD, OH, OW) back into new volumes
    (C, N, Dp, Hp, Wp): :func:`im2col`'s stages backwards, each copy an add."""
    c, kd, kh, kw, n, od, oh, ow = cols.shape
    dp, hp, wp = padded_size
    rows = _borrow((c, kh, kw, n, dp, oh, ow), cols.dtype)
    rows.fill(0)
    for i in range(kd):
        rows[..., _taps(i * dilation[0], od, stride[0]), :, :] += cols[:, i]
    columns = _borrow((c, kw, n, dp, hp, ow), cols.dtype)
    columns.fill(0)
    for j in range(kh):
        columns[..., _taps(j * dilation[1], oh, stride[1]), :] += rows[:, j]
    _give_back(rows)
    out = np.zeros((c, n, dp, hp, wp), cols.dtype)
    for k in range(kw):
        out[..., _taps(k * dilation[2], ow, stride[2])] += columns[:, k]
    _give_back(columns)
    return out


def _taps(start: int, count: int, step: int) -> slice:
    """The positions a kernel tap at offset ``start`` reads for ``count`` outputs."""
    return slice(start, start + step * (count - 1) + 1, step)
