"""Stride-1, one-group convolutions (most layers) as one BLAS product over contiguous runs.

Two layouts of the columns, both built from copies of contiguous runs (never one window at a
time), picked per layer by ``exact_columns``:

- "full-width rows" (``forward_rows``): each padded plane is flattened, so the window at kernel
  offset (i, j) is one contiguous run of it, starting at i·d·Wp + j·d, for every output row at
  once. The run also covers the Wp − OW columns past the right edge, computed and dropped.
- "exact" (``forward_exact``): no dropped columns. The planes are first shifted by each kernel
  column j (kw copies, (C, kw, N, Hp, OW)); in a shifted plane the window of kernel row i is
  then one contiguous run of OH·OW, so the columns (C·kh·kw, N·OH·OW) are kh copies of runs.
  The product is one GEMM over the whole batch, and the weight gradient another.
"""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule.ops.conv_util import _borrow, _give_back, _Lease

# Below this many positions per row the column gradients are added through a zero-gapped
# buffer, flat (see _col2im_rows); above it, row by row. Measured crossover: rows of 1,680
# gain a third, rows of 2,400 lose a quarter.
_GAPPED_MAX_LENGTH = 2048


def exact_columns(x_shape, weight_shape, pads, dilation) -> bool:
    """Whether a layer takes the exact columns (else full-width rows): when full-width rows
    would drop an eighth of their columns or more, or when the planes are small (one GEMM over
    the batch beats a small product per image). Measured, fwd + bwd, exact ÷ rows: LeNet-5's
    layers 0.76 and 0.92, 16×16 and 32×32 planes with 3×3 kernels 0.92-1.02; 56×56 1.03,
    96×96 (5×5) 1.20, 128×128 1.12-1.25."""
    _, _, h, w = x_shape
    _, _, kh, kw = weight_shape
    top, bottom, left, right = pads
    wp = w + left + right
    dropped = dilation[1] * (kw - 1)
    oh, ow = h + top + bottom - dilation[0] * (kh - 1), wp - dropped
    return dropped * 8 >= wp or oh * ow <= 2048


def _col2im_rows(blocks: np.ndarray, row: int, wp: int, dilation) -> np.ndarray:
    """Sum the kernel offsets' column gradients into padded planes (N, C, row) from ``blocks``
    (N, C, kh, kw, L), the offset (i, j) added at i·dh·wp + j·dw of each plane.

    A strided add costs NumPy about four times a contiguous one when rows are short (LeNet's
    second layer: rows of 140), while a strided copy does not. So for short rows each offset
    is copied into a buffer shaped like the planes, zero past L (the zeros set once), and added
    as one flat run at its start: entries of a plane land in that plane (start + L ≤ row), and
    only zeros spill into the next, or into one spare row after the last. Long rows take the
    plain strided adds. Measured on LeNet's layers: 696 → 408 µs and 659 → 355 µs.
    """
    n, c, kh, kw, length = blocks.shape
    dh, dw = dilation
    if length > _GAPPED_MAX_LENGTH:
        plane = np.zeros((n, c, row), blocks.dtype)
        for i in range(kh):
            for j in range(kw):
                start = i * dh * wp + j * dw
                plane[:, :, start : start + length] += blocks[:, :, i, j]
        return plane
    flat = np.zeros((n * c + 1) * row, blocks.dtype)
    buffer = _borrow((n, c, row), blocks.dtype)
    buffer[:, :, length:] = 0
    source = buffer.reshape(-1)
    size = source.size
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            buffer[:, :, :length] = blocks[:, :, i, j]
            flat[start : start + size] += source
    _give_back(buffer)
    return flat[: n * c * row].reshape(n, c, row)


def _per_image_product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None):
    """``a @ b[i]`` for each image i of ``b`` (N, k, L), into ``out`` (N, m, L): one MKL product
    per image where that route takes them (1.3-2.4x faster than OpenBLAS at these shapes on
    an Intel Xeon, see ``chainrule._mkl``), else NumPy's batched matmul."""
    if out is None:
        out = np.empty((b.shape[0], a.shape[0], b.shape[2]), np.result_type(a, b))
    if _mkl.gemm(a, b[0], out[0]) is None:
        return np.matmul(a, b, out=out)
    for i in range(1, b.shape[0]):
        if _mkl.gemm(a, b[i], out[i]) is None:
            np.matmul(a, b[i], out=out[i])
    return out


def forward_rows(op, x, weight, bias, pads, dilation):
    """Full-width rows: one batched product per image keeps the output NCHW. Measured on
    LeNet-5's layers against the channels-last windows: 3-5x faster."""
    n, c, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    top, bottom, left, right = pads
    hp, wp = h + top + bottom, w + left + right
    (dh, dw) = dilation
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    length = oh * wp
    plane = _borrow((n, c, hp * wp + dw * (kw - 1)), x.dtype)
    if top or bottom or left or right or dw > 1 or kw > 1:
        plane.fill(0)
    plane[:, :, : hp * wp].reshape(n, c, hp, wp)[:, :, top : top + h, left : left + w] = x
    cols = _borrow((n, c * kh * kw, length), x.dtype)
    blocks = cols.reshape(n, c, kh, kw, length)
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            blocks[:, :, i, j] = plane[:, :, start : start + length]
    _give_back(plane)
    w_mat = weight.reshape(out_ch, c * kh * kw)
    out = _per_image_product(w_mat, cols)  # (N, C_out, OH·Wp)
    if bias is not None:
        out += bias[:, None]
    op.lease = _Lease(cols)
    op.w_mat, op.weight, op.x_shape = w_mat, weight, x.shape
    op.pads, op.dilation, op.geometry = pads, dilation, (hp, wp, oh, ow)
    return out.reshape(n, out_ch, oh, wp)[:, :, :, :ow]


def backward_rows(op, grad):
    needs = op.needs_grad
    n, c, h, w = op.x_shape
    out_ch, _, kh, kw = op.weight.shape
    hp, wp, oh, ow = op.geometry
    dw = op.dilation[1]
    length = oh * wp
    grad_rows = _borrow((n, out_ch, length), grad.dtype)
    rows = grad_rows.reshape(n, out_ch, oh, wp)
    rows[:, :, :, ow:] = 0
    rows[:, :, :, :ow] = grad
    cols = op.lease.array
    grad_x = grad_w = grad_b = None
    if needs[1]:
        # colsᵀ's transpose would make matmul copy or loop; the gradient's is small (measured
        # 4x faster on LeNet's second layer than grad_rows @ colsᵀ)
        grad_t = _borrow((n, length, out_ch), grad.dtype)
        grad_t[...] = grad_rows.transpose(0, 2, 1)
        grad_w = np.matmul(cols, grad_t).sum(axis=0).T.reshape(op.weight.shape)
        _give_back(grad_t)
    if needs[0]:
        grad_cols = _borrow((n, c * kh * kw, length), grad.dtype)
        _per_image_product(op.w_mat.T, grad_rows, out=grad_cols)
        blocks = grad_cols.reshape(n, c, kh, kw, length)
        plane = _col2im_rows(blocks, hp * wp + dw * (kw - 1), wp, op.dilation)
        _give_back(grad_cols)
        top, _, left, _ = op.pads
        grad_x = plane[:, :, : hp * wp].reshape(n, c, hp, wp)[:, :, top : top + h, left : left + w]
    _give_back(grad_rows)
    if len(needs) == 3 and needs[2]:
        grad_b = grad.sum(axis=(0, 2, 3))
    return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


def _add_runs(blocks: np.ndarray, row: int, step: int) -> np.ndarray:
    """Σ_k of ``blocks[k]`` (each (..., length)) placed at offset k·step of rows of ``row``
    positions, as a flat array (..., row): the kernel offsets' gradients summed into place.

    A strided add costs NumPy about four times a contiguous one when rows are short, while a
    strided copy does not: so each block is copied into a buffer shaped like the rows, zero
    past its length (the zeros set once), and added as one flat run at its offset. Entries of
    a row land in that row (k·step + length ≤ row); only zeros spill into the next one, or into
    a spare row after the last. Long rows take plain strided adds (measured crossover: between
    rows of 1,680, where the flat adds gain a third, and of 2,400, where they lose a quarter).
    """
    count, *lead, length = blocks.shape
    if length > _GAPPED_MAX_LENGTH:
        out = np.zeros((*lead, row), blocks.dtype)
        for k in range(count):
            out[..., k * step : k * step + length] += blocks[k]
        return out
    buffer = _borrow((*lead, row), blocks.dtype)
    buffer[..., length:] = 0
    source = buffer.reshape(-1)
    size = source.size
    flat = np.zeros(size + row, blocks.dtype)
    for k in range(count):
        buffer[..., :length] = blocks[k]
        flat[k * step : k * step + size] += source
    _give_back(buffer)
    return flat[:size].reshape(*lead, row)


def forward_exact(op, x, weight, bias, pads, dilation):
    """Exact columns (C·kh·kw, N·OH·OW), channels first, and one GEMM over the batch. The
    output is an NCHW view of the (C_out, N·OH·OW) product: copying it to NCHW cost LeNet-5's
    first layer a fifth of its forward (1279 → 1031 µs without the copy, step 2.5 % faster).
    Measured on LeNet-5's second layer against full-width rows: fwd 1380 → 1075 µs."""
    n, c, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    top, bottom, left, right = pads
    hp, wp = h + top + bottom, w + left + right
    dh, dw = dilation
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    size = oh * ow
    xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W): the columns' rows are channels first
    if top or bottom or left or right:
        padded = _borrow((c, n, hp, wp), x.dtype)
        padded.fill(0)
        padded[:, :, top : top + h, left : left + w] = xc
    else:
        padded = xc
    shifted = _borrow((c, kw, n, hp, ow), x.dtype)
    for j in range(kw):
        shifted[:, j] = padded[:, :, :, j * dw : j * dw + ow]
    if padded is not xc:
        _give_back(padded)
    if kh == 1:  # (1-d convolutions) the shifted planes are the columns
        cols = shifted
    else:
        runs = shifted.reshape(c, kw, n, hp * ow)
        cols = _borrow((c, kh, kw, n, size), x.dtype)
        for i in range(kh):
            cols[:, i] = runs[:, :, :, i * dh * ow : i * dh * ow + size]
        _give_back(shifted)
    w_mat = weight.reshape(out_ch, c * kh * kw)
    out = _mkl.dot(w_mat, cols.reshape(c * kh * kw, n * size))  # (C_out, N·OH·OW)
    if bias is not None:
        out += bias[:, None]
    op.lease = _Lease(cols)
    op.w_mat, op.weight, op.x_shape = w_mat, weight, x.shape
    op.pads, op.dilation, op.geometry = pads, dilation, (hp, wp, oh, ow)
    return out.reshape(out_ch, n, oh, ow).transpose(1, 0, 2, 3)


def backward_exact(op, grad):
    """The gradient in the columns' order (C_out, N·OH·OW): the weight's is one GEMM with the
    saved columns (no sum over per-image products), the bias's a sum of contiguous rows."""
    needs = op.needs_grad
    n, c, h, w = op.x_shape
    out_ch, _, kh, kw = op.weight.shape
    hp, wp, oh, ow = op.geometry
    size = oh * ow
    grad_c = grad.transpose(1, 0, 2, 3)  # channels first, as the columns
    if not grad_c.flags.c_contiguous:  # (it is when it comes from the forward's own layout)
        grad_c = _borrow((out_ch, n, oh, ow), grad.dtype)
        grad_c[...] = grad.transpose(1, 0, 2, 3)
    grad_m = grad_c.reshape(out_ch, n * size)
    cols = op.lease.array.reshape(c * kh * kw, n * size)
    grad_x = grad_w = grad_b = None
    if needs[1]:
        grad_w = _mkl.dot(grad_m, cols.T).reshape(op.weight.shape)
    if needs[0]:
        grad_x = _input_grad_exact(op, grad_m)
    if len(needs) == 3 and needs[2]:
        grad_b = grad_m.sum(axis=1)
    if grad_c.base is None:
        _give_back(grad_c)
    return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


def _input_grad_exact(op, grad_m):
    """The reverse of the forward's two stages. The kernel rows first: the gradient's planes,
    shifted down by each kernel row i into planes of Hp rows (kh copies of runs,
    (C_out·kh, N·Hp·OW)), times the kernel as a (C·kw, C_out·kh) matrix give the shifted
    planes' gradient (C, kw, N, Hp, OW) directly; those are then added into the padded planes
    at each kernel column's offset. Measured against w_matᵀ · grad (C·kh·kw rows) followed by a
    col2im of both stages: 1755 → 1538 µs on LeNet-5's second layer, 6432 → 4079 on 32
    channels of 16×16 with a 3×3 kernel (a smaller product than the columns, and no col2im of
    the kernel rows). Copying the gradient straight into each kernel row's planes, rather than
    through one copy padded above and below, measured 0.94-0.96× of that."""
    n, c, h, w = op.x_shape
    out_ch, _, kh, kw = op.weight.shape
    hp, wp, oh, ow = op.geometry
    dh, dw = op.dilation
    dtype = grad_m.dtype
    run = hp * ow
    if kh == 1:  # no kernel rows to shift over
        shifted_grad = grad_m
    else:
        # kernel row i: the gradient's rows at i·dh, zero above and below (only those rows)
        shifted_grad = _borrow((out_ch, kh, n, hp, ow), dtype)
        grad_planes = grad_m.reshape(out_ch, n, oh, ow)
        for i in range(kh):
            shifted_grad[:, i, :, : i * dh] = 0
            shifted_grad[:, i, :, i * dh + oh :] = 0
            shifted_grad[:, i, :, i * dh : i * dh + oh] = grad_planes
    w_rows = op.weight.transpose(1, 3, 0, 2).reshape(c * kw, out_ch * kh)
    shifted = _borrow((c * kw, n * run), dtype)
    _mkl.dot(w_rows, shifted_grad.reshape(out_ch * kh, n * run), out=shifted)
    if shifted_grad is not grad_m:
        _give_back(shifted_grad)
    # the kernel columns: shifted planes → padded planes (C, N, Hp, Wp)
    planes = _add_runs(shifted.reshape(c, kw, n, hp, ow).transpose(1, 0, 2, 3, 4), wp, dw)
    _give_back(shifted)
    top, _, left, _ = op.pads
    return planes[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3)
