"""Convolution and pooling over images (NCHW) and sequences (NCL).

Convolutions run as im2col plus one BLAS product: the padded input is stored channels-last
(N, H, W, C), a strided view of it holds every kernel window, and copying that view gives the
column matrix (N·OH·OW rows, kh·kw·C columns) that multiplies the weight. Channels-last columns
were measured faster than channels-first ones (see ``benchmarks/bench_conv_layout.py``). The
output is returned as an NCHW view of the (N, OH, OW, C_out) product, so the next layer's
channels-last copy is a plain contiguous read.

Backward reuses the forward's columns for the weight gradient (colsᵀ · grad) and scatters the
columns' gradient back to the input with one strided slice-add per kernel offset (col2im: kh·kw
adds, never a loop over pixels or batch items). Max pooling is an elementwise maximum over the
kh·kw strided views, keeping the arg-max offset so that backward routes each gradient to the
one input that won, as PyTorch does.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.matmul import column_sum
from chainrule.tensor import Tensor

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "clear_buffers",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
]


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


# ---- convolution --------------------------------------------------------------------------------
class Conv2d(Function):
    """2-D cross-correlation: out[n, o, y, x] = b[o] + Σ_{c,i,j} W[o, c, i, j] ·
    xpad[n, c, y·s + i·d, x·s + j·d], with the input channels of each group only.

    One output position is a dot product of the kernel with the window it was applied to, so
    ∂out/∂W[o, c, i, j] is that window's input value, ∂out/∂x is the kernel weight that met the
    pixel, and a weight's gradient sums over every position where the kernel was applied.
    """

    label = "conv2d"
    formulas = (
        "Σ over kernels that covered the pixel: W[o, c, i, j]  (col2im of grad · W)",
        "Σ over output positions: x[window(y, x), c, i, j]  (colsᵀ · grad)",
        "1 (summed over N, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, pads, dilation, groups):
        self.flat = stride == (1, 1) and groups == 1
        if self.flat:
            return self._forward_flat(x, weight, bias, pads, dilation)
        return self._forward_windows(x, weight, bias, stride, pads, dilation, groups)

    def backward(self, grad):
        if self.flat:
            return self._backward_flat(grad)
        return self._backward_windows(grad)

    # Stride 1, one group (most layers): "full-width rows". Each image plane is padded and
    # flattened, so the window at kernel offset (i, j) is one contiguous run of the flat plane,
    # starting at i·d·Wp + j·d, for every output row at once (the run also covers the Wp − OW
    # columns past the right edge, computed and dropped). im2col and col2im become kh·kw copies
    # and adds of contiguous runs, and one batched product per image keeps the output NCHW.
    # Measured on LeNet-5's layers against the channels-last windows below: 3-5x faster.
    def _forward_flat(self, x, weight, bias, pads, dilation):
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
        out = np.matmul(w_mat, cols)  # (N, C_out, OH·Wp)
        if bias is not None:
            out += bias[:, None]
        self.lease = _Lease(cols)
        self.w_mat, self.weight, self.x_shape = w_mat, weight, x.shape
        self.pads, self.dilation, self.geometry = pads, dilation, (hp, wp, oh, ow)
        return out.reshape(n, out_ch, oh, wp)[:, :, :, :ow]

    def _backward_flat(self, grad):
        needs = self.needs_grad
        n, c, h, w = self.x_shape
        out_ch, _, kh, kw = self.weight.shape
        hp, wp, oh, ow = self.geometry
        dh, dw = self.dilation
        length = oh * wp
        grad_rows = _borrow((n, out_ch, length), grad.dtype)
        rows = grad_rows.reshape(n, out_ch, oh, wp)
        rows[:, :, :, ow:] = 0
        rows[:, :, :, :ow] = grad
        cols = self.lease.array
        grad_x = grad_w = grad_b = None
        if needs[1]:
            # colsᵀ's transpose would make matmul copy or loop; the gradient's is small (measured
            # 4x faster on LeNet's second layer than grad_rows @ colsᵀ)
            grad_t = _borrow((n, length, out_ch), grad.dtype)
            grad_t[...] = grad_rows.transpose(0, 2, 1)
            grad_w = np.matmul(cols, grad_t).sum(axis=0).T.reshape(self.weight.shape)
            _give_back(grad_t)
        if needs[0]:
            grad_cols = np.matmul(self.w_mat.T, grad_rows, out=_borrow(cols.shape, grad.dtype))
            blocks = grad_cols.reshape(n, c, kh, kw, length)
            plane = np.zeros((n, c, hp * wp + dw * (kw - 1)), grad.dtype)
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    plane[:, :, start : start + length] += blocks[:, :, i, j]
            _give_back(grad_cols)
            top, _, left, _ = self.pads
            grad_x = plane[:, :, : hp * wp].reshape(n, c, hp, wp)[
                :, :, top : top + h, left : left + w
            ]
        _give_back(grad_rows)
        if len(needs) == 3 and needs[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    # Any stride, dilation and groups: channels-last windows of the padded input.
    def _forward_windows(self, x, weight, bias, stride, pads, dilation, groups):
        n, c, h, w = x.shape
        out_ch, cg, kh, kw = weight.shape
        top, bottom, left, right = pads
        oh = _out_size(h, top + bottom, kh, stride[0], dilation[0])
        ow = _out_size(w, left + right, kw, stride[1], dilation[1])
        self.x_shape, self.pads, self.stride, self.dilation = x.shape, pads, stride, dilation
        self.groups, self.weight = groups, weight
        xp = _pad_nhwc(x, pads)
        self.padded_hw = xp.shape[1:3]
        win = _windows(xp, (kh, kw), stride, dilation, (oh, ow))
        m, og = n * oh * ow, out_ch // groups
        if groups == 1:
            cols = _borrow((m, kh * kw * c), x.dtype)
            cols.reshape(win.shape)[...] = win  # the one copy of im2col
            w_mat = weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, out_ch)
            out = cols.dot(w_mat)
        else:
            # (N, OH, OW, kh, kw, g, Cg) → (g, M, kh·kw·Cg): one batched product per group
            win = win.reshape(n, oh, ow, kh, kw, groups, cg)
            cols = _borrow((groups, m, kh * kw * cg), x.dtype)
            cols.reshape(groups, n, oh, ow, kh, kw, cg)[...] = win.transpose(5, 0, 1, 2, 3, 4, 6)
            w_mat = weight.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1)
            w_mat = w_mat.reshape(groups, kh * kw * cg, og)
            out = np.matmul(cols, w_mat).transpose(1, 0, 2).reshape(m, out_ch)
        if xp.base is None:
            _give_back(xp)
        self.lease, self.w_mat, self.out_hw = _Lease(cols), w_mat, (oh, ow)
        if bias is not None:
            out += bias
        return _as_nchw(out.reshape(n, oh, ow, out_ch))

    def _backward_windows(self, grad):
        needs = self.needs_grad
        n, c, h, w = self.x_shape
        out_ch, cg, kh, kw = self.weight.shape
        oh, ow = self.out_hw
        g = self.groups
        cols = self.lease.array
        m, og = n * oh * ow, out_ch // g
        grad_m = grad.transpose(0, 2, 3, 1).reshape(m, out_ch)
        grad_x = grad_w = grad_b = None
        if g == 1:
            if needs[1]:
                grad_w = cols.T.dot(grad_m).reshape(kh, kw, c, out_ch).transpose(3, 2, 0, 1)
            if needs[0]:
                grad_cols = grad_m.dot(self.w_mat.T).reshape(n, oh, ow, kh, kw, c)
        else:
            grad_g = grad_m.reshape(m, g, og).transpose(1, 0, 2)  # (g, M, Og)
            if needs[1]:
                grad_w = np.matmul(cols.transpose(0, 2, 1), grad_g)  # (g, kh·kw·Cg, Og)
                grad_w = grad_w.reshape(g, kh, kw, cg, og).transpose(0, 4, 3, 1, 2)
                grad_w = grad_w.reshape(out_ch, cg, kh, kw)
            if needs[0]:
                grad_cols = np.matmul(grad_g, self.w_mat.transpose(0, 2, 1))  # (g, M, K)
                grad_cols = grad_cols.reshape(g, n, oh, ow, kh, kw, cg)
                grad_cols = grad_cols.transpose(1, 2, 3, 4, 5, 0, 6).reshape(n, oh, ow, kh, kw, c)
        if needs[0]:
            xp = _col2im(grad_cols, self.padded_hw, (kh, kw), self.stride, self.dilation)
            top, _, left, _ = self.pads
            grad_x = _as_nchw(xp[:, top : top + h, left : left + w])
        if len(needs) == 3 and needs[2]:
            grad_b = column_sum(grad_m)
        if grad_w is not None:
            grad_w = np.ascontiguousarray(grad_w)
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


class ConvTranspose2d(Function):
    """The gradient of a convolution with respect to its input, used as a layer ("deconvolution").

    Every input pixel scatters its value times the kernel into the output:
    out[n, o, y·s + i·d − p, x·s + j·d − p] += x[n, c, y, x] · W[c, o, i, j].
    """

    label = "conv_transpose2d"
    formulas = (
        "Σ over the positions the pixel was scattered to: W[c, o, i, j]  (im2col of grad · Wᵀ)",
        "Σ over input positions: x[n, c, y, x] · grad at the position it reached",
        "1 (summed over N, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, padding, output_padding, dilation, groups):
        n, c_in, h, w = x.shape
        _, og, kh, kw = weight.shape
        g = groups
        cg, out_ch = c_in // g, og * g
        (st_h, st_w), (dh, dw) = stride, dilation
        full_h = (h - 1) * st_h + dh * (kh - 1) + 1 + output_padding[0]
        full_w = (w - 1) * st_w + dw * (kw - 1) + 1 + output_padding[1]
        self.x_shape, self.weight, self.stride, self.dilation = x.shape, weight, stride, dilation
        self.padding, self.groups, self.full_hw = padding, g, (full_h, full_w)
        m = n * h * w
        x_m = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(m, c_in)
        self.x_m = x_m
        if g == 1:
            # (M, C_in) · (C_in, kh·kw·C_out) → the columns of the output
            w_mat = weight.transpose(0, 2, 3, 1).reshape(c_in, kh * kw * og)
            cols = x_m.dot(w_mat).reshape(n, h, w, kh, kw, out_ch)
        else:
            w_mat = weight.reshape(g, cg, og, kh, kw).transpose(0, 1, 3, 4, 2)
            w_mat = w_mat.reshape(g, cg, kh * kw * og)
            x_g = x_m.reshape(m, g, cg).transpose(1, 0, 2)
            cols = np.matmul(x_g, w_mat).reshape(g, n, h, w, kh, kw, og)
            cols = cols.transpose(1, 2, 3, 4, 5, 0, 6).reshape(n, h, w, kh, kw, out_ch)
        self.w_mat = w_mat
        full = _col2im(cols, (full_h, full_w), (kh, kw), stride, dilation)
        ph, pw = padding
        out = full[:, ph : full_h - ph, pw : full_w - pw]
        if bias is not None:
            out = out + bias
        return _as_nchw(out)

    def backward(self, grad):
        needs = self.needs_grad
        n, c_in, h, w = self.x_shape
        _, og, kh, kw = self.weight.shape
        g = self.groups
        cg, out_ch, m = c_in // g, og * g, n * h * w
        ph, pw = self.padding
        full_h, full_w = self.full_hw
        # the output gradient, zero-padded back to the full scatter area, read as windows
        gp = np.zeros((n, full_h, full_w, out_ch), grad.dtype)
        gp[:, ph : full_h - ph, pw : full_w - pw] = grad.transpose(0, 2, 3, 1)
        win = _windows(gp, (kh, kw), self.stride, self.dilation, (h, w))
        grad_x = grad_w = grad_b = None
        if g == 1:
            cols = win.reshape(m, kh * kw * out_ch)
            if needs[0]:
                grad_x = _as_nchw(cols.dot(self.w_mat.T).reshape(n, h, w, c_in))
            if needs[1]:
                grad_w = self.x_m.T.dot(cols).reshape(c_in, kh, kw, og).transpose(0, 3, 1, 2)
        else:
            cols = win.reshape(n, h, w, kh, kw, g, og).transpose(5, 0, 1, 2, 3, 4, 6)
            cols = cols.reshape(g, m, kh * kw * og)
            if needs[0]:
                grad_x = np.matmul(cols, self.w_mat.transpose(0, 2, 1))  # (g, M, Cg)
                grad_x = _as_nchw(grad_x.transpose(1, 0, 2).reshape(n, h, w, c_in))
            if needs[1]:
                x_g = self.x_m.reshape(m, g, cg).transpose(1, 0, 2)
                grad_w = np.matmul(x_g.transpose(0, 2, 1), cols)  # (g, Cg, kh·kw·Og)
                grad_w = grad_w.reshape(c_in, kh, kw, og).transpose(0, 3, 1, 2)
        if grad_w is not None:
            grad_w = np.ascontiguousarray(grad_w)
        if len(needs) == 3 and needs[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


def _conv_args(x, weight, bias, op: str):
    x, weight = operand(x), operand(weight)
    _float_input(x, op)
    _float_input(weight, op)
    if x.array.dtype != weight.array.dtype:
        raise DTypeError(
            f"{op} got a {x.array.dtype} input and a {weight.array.dtype} weight; convert one "
            f"side: x.astype('{weight.array.dtype}') or model.to('{x.array.dtype}')"
        )
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = Tensor._make(np.asarray(bias, dtype=weight.array.dtype), False)
    return x, weight, bias


def _same_pads(size: int, kernel: int, dilation: int) -> tuple[int, int]:
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) over an NCHW batch, as ``torch.nn.functional.conv2d``.

    Args:
        x: input of shape (N, C_in, H, W) or (C_in, H, W).
        weight: kernels of shape (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride: step between windows, an int or (sH, sW).
        padding: zeros added on each side, an int, (pH, pW), ``"valid"`` (0) or ``"same"``
            (output as large as the input; stride 1 only, extra padding on the bottom/right).
        dilation: spacing between kernel elements.
        groups: split input and output channels into this many independent groups.

    Shape:
        (N, C_in, H, W) → (N, C_out, OH, OW), OH = ⌊(H + 2pH − dH(kH − 1) − 1) / sH⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.ones(2, 3, 8, 8), cr.ones(4, 3, 3, 3)
        >>> cr.functional.conv2d(x, w, padding=1).shape
        (2, 4, 8, 8)
    """
    op = "conv2d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be an integer >= 1, got {groups!r}")
    wshape = weight.array.shape
    if len(wshape) != 4:
        raise ShapeError(f"{op} expects a 4-D weight (C_out, C_in/groups, kH, kW), got {wshape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape(1, *x.shape)
    if x.ndim != 4:
        raise ShapeError(
            f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}"
        )
    n, c, h, w = x.array.shape
    out_ch, cg, kh, kw = wshape
    if out_ch % groups or c % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the input channels ({c}) and the output "
            f"channels ({out_ch})"
        )
    if cg * groups != c:
        raise ShapeError(
            f"{op} got input of shape {tuple(x.shape)} with {c} channels, but the weight "
            f"{wshape} expects {cg * groups} (= {cg} per group × groups={groups})"
        )
    if bias is not None and bias.array.shape != (out_ch,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({out_ch},)")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"{op}: padding='same' needs stride 1 (got stride={stride}); give the "
                    f"padding as numbers instead"
                )
            pads = (*_same_pads(h, kh, dilation[0]), *_same_pads(w, kw, dilation[1]))
        else:
            raise ValueError(
                f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
    else:
        ph, pw = pair(padding, "padding", op, 0)
        pads = (ph, ph, pw, pw)
    oh = _out_size(h, pads[0] + pads[1], kh, stride[0], dilation[0])
    ow = _out_size(w, pads[2] + pads[3], kw, stride[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"{op}: input of spatial size {(h, w)} (padded by {pads}) is smaller than the "
            f"dilated kernel {(dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)}; "
            f"use a smaller kernel or more padding"
        )
    options = dict(stride=stride, pads=pads, dilation=dilation, groups=int(groups))
    if bias is None:
        out = Conv2d.apply(x, weight, **options)
    else:
        out = Conv2d.apply(x, weight, bias, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C_in, L), as ``torch.nn.functional.conv1d`` (built on
    :func:`conv2d` with a unit height).

    Shape:
        x (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k) → (N, C_out, L_out).
    """
    op = "conv1d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    if weight.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D weight (C_out, C_in/groups, k), got {weight.shape}")
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op} expects input of shape (N, C, L) or (C, L), got {x.shape}")
    if not isinstance(padding, str):
        padding = (0, single(padding, "padding", op))
    x4 = x.reshape(*x.shape[:-1], 1, x.shape[-1])
    w4 = weight.reshape(*weight.shape[:-1], 1, weight.shape[-1])
    out = conv2d(
        x4,
        w4,
        bias,
        stride=(1, single(stride, "stride", op, 1)),
        padding=padding,
        dilation=(1, single(dilation, "dilation", op, 1)),
        groups=groups,
    )
    return out.reshape(*out.shape[:-2], out.shape[-1])


def conv_transpose2d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    Args:
        x: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW) (PyTorch's layout).
        bias: (C_out,) or None.
        stride, padding, output_padding, groups, dilation: as in PyTorch; ``output_padding``
            must be smaller than the stride or the dilation.

    Shape:
        OH = (H − 1)·sH − 2pH + dH(kH − 1) + output_paddingH + 1.
    """
    op = "conv_transpose2d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    padding = pair(padding, "padding", op, 0)
    output_padding = pair(output_padding, "output_padding", op, 0)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be an integer >= 1, got {groups!r}")
    for i in range(2):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise ValueError(
                f"{op}: output_padding {output_padding} must be smaller than the stride "
                f"{stride} or the dilation {dilation}"
            )
    if weight.ndim != 4:
        raise ShapeError(
            f"{op} expects a 4-D weight (C_in, C_out/groups, kH, kW), got {weight.shape}"
        )
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape(1, *x.shape)
    if x.ndim != 4:
        raise ShapeError(f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    c_in, og, kh, kw = weight.shape
    if x.shape[1] != c_in or c_in % groups:
        raise ShapeError(
            f"{op} got input of shape {x.shape}; the weight {weight.shape} expects {c_in} input "
            f"channels, divisible by groups={groups}"
        )
    if bias is not None and bias.shape != (og * groups,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({og * groups},)")
    h, w = x.shape[2:]
    for size, k, s, d, p, o in zip((h, w), (kh, kw), stride, dilation, padding, output_padding):
        if (size - 1) * s - 2 * p + d * (k - 1) + o + 1 < 1:
            raise ShapeError(f"{op}: padding {padding} leaves no output for input of size {(h, w)}")
    options = dict(
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=int(groups),
    )
    if bias is None:
        out = ConvTranspose2d.apply(x, weight, **options)
    else:
        out = ConvTranspose2d.apply(x, weight, bias, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose1d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 1-D convolution over (N, C_in, L) (``conv_transpose2d`` with a unit height)."""
    op = "conv_transpose1d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    if weight.ndim != 3 or x.ndim not in (2, 3):
        raise ShapeError(
            f"{op} expects input (N, C, L) and weight (C_in, C_out/groups, k), got {x.shape} "
            f"and {weight.shape}"
        )
    out = conv_transpose2d(
        x.reshape(*x.shape[:-1], 1, x.shape[-1]),
        weight.reshape(*weight.shape[:-1], 1, weight.shape[-1]),
        bias,
        stride=(1, single(stride, "stride", op, 1)),
        padding=(0, single(padding, "padding", op)),
        output_padding=(0, single(output_padding, "output_padding", op)),
        groups=groups,
        dilation=(1, single(dilation, "dilation", op, 1)),
    )
    return out.reshape(*out.shape[:-2], out.shape[-1])


# ---- pooling ------------------------------------------------------------------------------------
def _pool_size(size, kernel, stride, pad, dilation, ceil_mode) -> tuple[int, int]:
    """PyTorch's pooled length and the extra right padding its last window may need."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad:  # the last window would start in the padding
            out -= 1
    else:
        out = span // stride + 1
    extra = max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - (size + 2 * pad))
    return out, extra


def _offset_slices(i, j, stride, dilation, out_hw):
    (st_h, st_w), (dh, dw), (oh, ow) = stride, dilation, out_hw
    return (
        slice(None),
        slice(None),
        slice(i * dh, i * dh + st_h * (oh - 1) + 1, st_h),
        slice(j * dw, j * dw + st_w * (ow - 1) + 1, st_w),
    )


def _pad_nchw(x, pads, fill) -> np.ndarray:
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + top + bottom, w + left + right), fill, x.dtype)
    xp[:, :, top : top + h, left : left + w] = x
    return xp


class MaxPool2d(Function):
    """Largest value of each window; the gradient goes to the one input that won (the first
    maximum in row-major window order, as in PyTorch)."""

    label = "max_pool2d"
    formulas = ("1 at the window's arg-max, else 0",)

    def forward(self, x, *, kernel, stride, pads, dilation, out_hw):
        self.x_shape, self.pads, self.kernel = x.shape, pads, kernel
        self.stride, self.dilation, self.out_hw = stride, dilation, out_hw
        xp = _pad_nchw(x, pads, -np.inf)
        self.padded_hw = xp.shape[2:]
        kh, kw = kernel
        windows = [
            xp[_offset_slices(k // kw, k % kw, stride, dilation, out_hw)] for k in range(kh * kw)
        ]
        out = windows[0].copy()
        for window in windows[1:]:
            np.maximum(out, window, out=out)  # NaN wins, as in PyTorch
        # The arg-max: the first offset whose value equals the maximum, found by writing the
        # offsets last to first (cheaper than tracking it through the comparisons above).
        arg = np.zeros(out.shape, np.int16 if kh * kw < 32000 else np.int32)
        hit = np.empty(out.shape, bool)
        for k in range(kh * kw - 1, -1, -1):
            np.equal(windows[k], out, out=hit)
            np.copyto(arg, k, where=hit)
        nan = np.isnan(out)
        if nan.any():  # PyTorch keeps the last NaN of a window
            for k in range(kh * kw):
                np.copyto(arg, k, where=nan & np.isnan(windows[k]))
        self.arg = arg
        return out

    def indices(self) -> np.ndarray:
        """PyTorch's ``return_indices``: the flat index h·W + w of each maximum in its plane."""
        kh, kw = self.kernel
        oh, ow = self.out_hw
        top, _, left, _ = self.pads
        row = (np.arange(oh) * self.stride[0])[:, None] + (self.arg // kw) * self.dilation[0] - top
        col = (np.arange(ow) * self.stride[1])[None, :] + (self.arg % kw) * self.dilation[1] - left
        return (row * self.x_shape[3] + col).astype(np.int64)

    def backward(self, grad):
        kh, kw = self.kernel
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_hw), grad.dtype)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1
        hit = np.empty(grad.shape, bool)
        for k in range(kh * kw):
            where = _offset_slices(k // kw, k % kw, self.stride, self.dilation, self.out_hw)
            np.equal(self.arg, k, out=hit)
            if disjoint:  # every input sits in one window: write, no read-modify-write
                np.multiply(grad, hit, out=grad_xp[where])
            else:
                grad_xp[where] += grad * hit
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        return (grad_xp[:, :, top : top + h, left : left + w],)


class AvgPool2d(Function):
    """Mean of each window: out = Σ window / divisor, where the divisor counts the window's
    cells inside the input (``count_include_pad=False``), inside the padded input (True), or is
    ``divisor_override``."""

    label = "avg_pool2d"
    formulas = ("1/divisor for every input in the window",)

    def forward(self, x, *, kernel, stride, pads, out_hw, count_include_pad, divisor_override):
        self.x_shape, self.pads, self.kernel, self.stride = x.shape, pads, kernel, stride
        self.out_hw = out_hw
        if divisor_override is not None:
            divisor = np.full(out_hw, float(divisor_override))
        else:
            h, w = x.shape[-2:]
            rows = _avg_divisor(h, kernel[0], stride[0], pads[0], out_hw[0], count_include_pad)
            cols = _avg_divisor(w, kernel[1], stride[1], pads[2], out_hw[1], count_include_pad)
            divisor = rows[:, None] * cols[None, :]
        xp = _pad_nchw(x, pads, 0.0)
        self.padded_hw = xp.shape[2:]
        kh, kw = kernel
        one = (1, 1)
        out = xp[_offset_slices(0, 0, stride, one, out_hw)].copy()
        for k in range(1, kh * kw):
            out += xp[_offset_slices(k // kw, k % kw, stride, one, out_hw)]
        self.scale = (1.0 / divisor).astype(x.dtype)
        out *= self.scale
        return out

    def backward(self, grad):
        kh, kw = self.kernel
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_hw), grad.dtype)
        scaled = grad * self.scale
        for k in range(kh * kw):
            grad_xp[_offset_slices(k // kw, k % kw, self.stride, (1, 1), self.out_hw)] += scaled
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        return (grad_xp[:, :, top : top + h, left : left + w],)


def _avg_divisor(size, kernel, stride, pad, out, count_include_pad) -> np.ndarray:
    """How many cells each window along one axis counts (PyTorch's rule)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if count_include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    x = operand(x)
    _float_input(x, op)
    kernel = pair(kernel_size, "kernel_size", op, 1)
    stride = (
        kernel if stride is None or stride == () or stride == [] else pair(stride, "stride", op, 1)
    )
    padding = pair(padding, "padding", op, 0)
    dilation = pair(dilation, "dilation", op, 1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ValueError(
                f"{op}: padding {padding} must be at most half the kernel size {kernel}"
            )
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    h, w = x.shape[-2:]
    oh, extra_h = _pool_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow, extra_w = _pool_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"{op}: input of spatial size {(h, w)} is smaller than the kernel {kernel} "
            f"(padding {padding}); use a smaller kernel or a larger input"
        )
    pads = (padding[0], padding[0] + extra_h, padding[1], padding[1] + extra_w)
    return x, kernel, stride, padding, dilation, pads, (oh, ow)


def _batched(x: Tensor):
    return (x.reshape(1, *x.shape), True) if x.ndim == 3 else (x, False)


def max_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (padding counts as −∞).

    Args:
        x: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows (default: the kernel size).
        padding: −∞ padding on each side, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a last, partial window), never starting a window
            in the right padding.
        return_indices: also return the flat index (h·W + w) of each maximum, as an int64
            array.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.max_pool2d(cr.ones(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    x, kernel, stride, _, dilation, pads, out_hw = _pool_args(
        x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d"
    )
    x, unbatched = _batched(x)
    out = MaxPool2d.apply(
        x, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_hw=out_hw
    )
    if not return_indices:
        return out.reshape(out.shape[1:]) if unbatched else out
    fn = out._ctx if out._ctx is not None else None
    if fn is None:  # no graph was recorded: run the op once more to read its arg-max
        fn = MaxPool2d()
        fn.forward(
            x.array, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_hw=out_hw
        )
    indices = fn.indices()
    if unbatched:
        return out.reshape(out.shape[1:]), indices[0]
    return out, indices


def avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        x: (N, C, H, W) or (C, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool2d` (zero padding).
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window by this instead.
    """
    op = "avg_pool2d"
    x, kernel, stride, padding, _, pads, out_hw = _pool_args(
        x, kernel_size, stride, padding, 1, ceil_mode, op
    )
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, int)
        or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    x, unbatched = _batched(x)
    out = AvgPool2d.apply(
        x,
        kernel=kernel,
        stride=stride,
        pads=pads,
        out_hw=out_hw,
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )
    return out.reshape(out.shape[1:]) if unbatched else out


def _as_2d_pool(x, op):
    x = operand(x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op} expects input of shape (N, C, L) or (C, L), got {x.shape}")
    return x.reshape(*x.shape[:-1], 1, x.shape[-1])


def _squeeze_height(out: Tensor) -> Tensor:
    return out.reshape(*out.shape[:-2], out.shape[-1])


def max_pool1d(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """1-D max pooling over (N, C, L), as ``torch.nn.functional.max_pool1d``."""
    op = "max_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op, 1))
    result = max_pool2d(
        _as_2d_pool(x, op),
        (1, single(kernel_size, "kernel_size", op, 1)),
        stride,
        (0, single(padding, "padding", op)),
        (1, single(dilation, "dilation", op, 1)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        out, indices = result
        return _squeeze_height(out), indices.reshape(*indices.shape[:-2], indices.shape[-1])
    return _squeeze_height(result)


def avg_pool1d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """1-D average pooling over (N, C, L), as ``torch.nn.functional.avg_pool1d``."""
    op = "avg_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op, 1))
    out = avg_pool2d(
        _as_2d_pool(x, op),
        (1, single(kernel_size, "kernel_size", op, 1)),
        stride,
        (0, single(padding, "padding", op)),
        ceil_mode,
        count_include_pad,
    )
    return _squeeze_height(out)


class AdaptiveAvgPool2d(Function):
    """Average over PyTorch's adaptive windows [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉), written as two
    averaging matrices: out = A_h · x · A_wᵀ, so backward is A_hᵀ · grad · A_w."""

    label = "adaptive_avg_pool2d"
    formulas = ("1/(window size) for every input in the window",)

    def forward(self, x, *, output_size):
        h, w = x.shape[-2:]
        a_h, a_w = _adaptive_matrix(h, output_size[0]), _adaptive_matrix(w, output_size[1])
        self.a_h, self.a_w = a_h.astype(x.dtype), a_w.astype(x.dtype)
        return np.matmul(np.matmul(self.a_h, x), self.a_w.T)

    def backward(self, grad):
        return (np.matmul(np.matmul(self.a_h.T, grad), self.a_w),)


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    positions = np.arange(size)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return inside / (end - start)[:, None]


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        x: (N, C, H, W) or (C, H, W).
        output_size: (OH, OW), an int for both, or ``None`` in a place to keep that size.
    """
    op = "adaptive_avg_pool2d"
    x = operand(x)
    _float_input(x, op)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    h, w = x.shape[-2:]
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(s if s is not None else d for s, d in zip(sizes, (h, w)))
    oh, ow = pair(sizes, "output_size", op, 1)
    if h < 1 or w < 1:
        raise ShapeError(f"{op} got an empty input of shape {x.shape}")
    return AdaptiveAvgPool2d.apply(x, output_size=(oh, ow))


def adaptive_avg_pool1d(x, output_size) -> Tensor:
    """Adaptive average pooling over (N, C, L) to ``output_size`` positions."""
    op = "adaptive_avg_pool1d"
    return _squeeze_height(
        adaptive_avg_pool2d(_as_2d_pool(x, op), (1, single(output_size, "output_size", op, 1)))
    )
