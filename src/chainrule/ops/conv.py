"""Convolution over images (NCHW) and sequences (NCL); pooling is in ``ops/pooling.py``.

Convolutions run as im2col plus one BLAS product: the padded input is stored channels-last
(N, H, W, C), a strided view of it holds every kernel window, and copying that view gives the
column matrix (N·OH·OW rows, kh·kw·C columns) that multiplies the weight. Channels-last columns
were measured faster than channels-first ones (see ``benchmarks/bench_conv_layout.py``). The
output is returned as an NCHW view of the (N, OH, OW, C_out) product, so the next layer's
channels-last copy is a plain contiguous read.

Stride-1 layers with one group (most layers) take the faster layouts of contiguous runs in
``ops/conv_flat.py`` instead; the channels-last windows serve every other stride and groups.

Backward reuses the forward's columns for the weight gradient (colsᵀ · grad) and scatters the
columns' gradient back to the input with one strided slice-add per kernel offset (col2im: kh·kw
adds, never a loop over pixels or batch items). Max pooling is an elementwise maximum over the
kh·kw strided views, keeping the arg-max offset so that backward routes each gradient to the
one input that won, as PyTorch does.
"""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops import conv_flat
from chainrule.ops._util import operand
from chainrule.ops.conv_graph import conv2d_graph, conv_transpose2d_graph
from chainrule.ops.conv_util import (  # noqa: F401 - some are re-exported
    _as_nchw,
    _borrow,
    _col2im,
    _float_input,
    _free,
    _give_back,
    _Lease,
    _out_size,
    _pad_nhwc,
    _windows,
    check_output_padding,
    clear_buffers,
    group_count,
    pair,
    single,
)
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
        "W[o, c, i, j] of the tap that met the pixel (summed over positions: col2im of grad · W)",
        "xpad[n, c, y·s + i·d, x·s + j·d], the input under tap (i, j) (summed: colsᵀ · grad)",
        "1 (summed over N, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, pads, dilation, groups):
        self.options = (stride, pads, dilation, groups)
        self.flat = stride == (1, 1) and groups == 1
        if self.flat:  # stride 1, one group: contiguous runs (ops/conv_flat.py)
            self.exact = conv_flat.exact_columns(x.shape, weight.shape, pads, dilation)
            forward = conv_flat.forward_exact if self.exact else conv_flat.forward_rows
            return forward(self, x, weight, bias, pads, dilation)
        return self._forward_windows(x, weight, bias, stride, pads, dilation, groups)

    def backward(self, grad):
        if self.flat:
            backward = conv_flat.backward_exact if self.exact else conv_flat.backward_rows
            return backward(self, grad)
        return self._backward_windows(grad)

    backward_graph = conv2d_graph  # the gradients as convolutions (ops/conv_graph.py)

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
            out = _mkl.dot(cols, w_mat)
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
                grad_w = _mkl.dot(cols.T, grad_m).reshape(kh, kw, c, out_ch).transpose(3, 2, 0, 1)
            if needs[0]:
                grad_cols = _mkl.dot(grad_m, self.w_mat.T).reshape(n, oh, ow, kh, kw, c)
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
            cols = _mkl.dot(x_m, w_mat).reshape(n, h, w, kh, kw, out_ch)
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
                grad_x = _as_nchw(_mkl.dot(cols, self.w_mat.T).reshape(n, h, w, c_in))
            if needs[1]:
                grad_w = _mkl.dot(self.x_m.T, cols).reshape(c_in, kh, kw, og).transpose(0, 3, 1, 2)
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

    backward_graph = conv_transpose2d_graph  # the gradients as convolutions


def _conv_args(x, weight, bias, op: str):
    x, weight = operand(x), operand(weight)
    _float_input(x, op)
    _float_input(weight, op)
    if x.array.dtype != weight.array.dtype:
        raise DTypeError(
            f"{op} got a {x.array.dtype} input and a {weight.array.dtype} weight; convert one "
            f"side: x.to(cr.{weight.array.dtype}) or model.to(cr.{x.array.dtype})"
        )
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = Tensor._make(np.asarray(bias, dtype=weight.array.dtype), False)
    return x, weight, bias


def _same_pads(size: int, kernel: int, dilation: int) -> tuple[int, int]:
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def _conv_pads(padding, stride, dilation, size, kernel, op: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from ``padding``: numbers, ``"valid"`` or ``"same"``."""
    h, w = size
    kh, kw = kernel
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ShapeError(  # a ValueError, and PyTorch's RuntimeError
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
    return pads


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) over an NCHW batch, as ``torch.nn.functional.conv2d``.

    Args:
        input: input of shape (N, C_in, H, W) or (C_in, H, W).
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
    input, weight, bias = _conv_args(input, weight, bias, op)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    group_count(groups, op)
    wshape = weight.array.shape
    if len(wshape) != 4:
        raise ShapeError(f"{op} expects a 4-D weight (C_out, C_in/groups, kH, kW), got {wshape}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.reshape(1, *input.shape)
    if input.ndim != 4:
        raise ShapeError(
            f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {tuple(input.shape)}"
        )
    n, c, h, w = input.array.shape
    out_ch, cg, kh, kw = wshape
    if out_ch % groups or c % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the input channels ({c}) and the output "
            f"channels ({out_ch})"
        )
    if cg * groups != c:
        raise ShapeError(
            f"{op} got input of shape {tuple(input.shape)} with {c} channels, but the weight "
            f"{wshape} expects {cg * groups} (= {cg} per group × groups={groups})"
        )
    if bias is not None and bias.array.shape != (out_ch,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({out_ch},)")
    pads = _conv_pads(padding, stride, dilation, (h, w), (kh, kw), op)
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
        out = Conv2d.apply(input, weight, **options)
    else:
        out = Conv2d.apply(input, weight, bias, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C_in, L), as ``torch.nn.functional.conv1d`` (built on
    :func:`conv2d` with a unit height).

    Shape:
        x (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k) → (N, C_out, L_out).
    """
    op = "conv1d"
    input, weight, bias = _conv_args(input, weight, bias, op)
    if weight.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D weight (C_out, C_in/groups, k), got {weight.shape}")
    if input.ndim not in (2, 3):
        raise ShapeError(f"{op} expects input of shape (N, C, L) or (C, L), got {input.shape}")
    if not isinstance(padding, str):
        padding = (0, single(padding, "padding", op))
    x4 = input.reshape(*input.shape[:-1], 1, input.shape[-1])
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
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW) (PyTorch's layout).
        bias: (C_out,) or None.
        stride, padding, output_padding, groups, dilation: as in PyTorch; ``output_padding``
            must be smaller than the stride or the dilation.

    Shape:
        OH = (H − 1)·sH − 2pH + dH(kH − 1) + output_paddingH + 1.
    """
    op = "conv_transpose2d"
    input, weight, bias = _conv_args(input, weight, bias, op)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    padding = pair(padding, "padding", op, 0)
    output_padding = pair(output_padding, "output_padding", op, 0)
    group_count(groups, op)
    check_output_padding(output_padding, stride, dilation, op)
    if weight.ndim != 4:
        raise ShapeError(
            f"{op} expects a 4-D weight (C_in, C_out/groups, kH, kW), got {weight.shape}"
        )
    unbatched = input.ndim == 3
    if unbatched:
        input = input.reshape(1, *input.shape)
    if input.ndim != 4:
        raise ShapeError(
            f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {input.shape}"
        )
    c_in, og, kh, kw = weight.shape
    if input.shape[1] != c_in or c_in % groups:
        raise ShapeError(
            f"{op} got input of shape {input.shape}; the weight {weight.shape} expects {c_in} "
            f"input channels, divisible by groups={groups}"
        )
    if bias is not None and bias.shape != (og * groups,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({og * groups},)")
    h, w = input.shape[2:]
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
        out = ConvTranspose2d.apply(input, weight, **options)
    else:
        out = ConvTranspose2d.apply(input, weight, bias, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 1-D convolution over (N, C_in, L) (``conv_transpose2d`` with a unit height)."""
    op = "conv_transpose1d"
    input, weight, bias = _conv_args(input, weight, bias, op)
    if weight.ndim != 3 or input.ndim not in (2, 3):
        raise ShapeError(
            f"{op} expects input (N, C, L) and weight (C_in, C_out/groups, k), got {input.shape} "
            f"and {weight.shape}"
        )
    out = conv_transpose2d(
        input.reshape(*input.shape[:-1], 1, input.shape[-1]),
        weight.reshape(*weight.shape[:-1], 1, weight.shape[-1]),
        bias,
        stride=(1, single(stride, "stride", op, 1)),
        padding=(0, single(padding, "padding", op)),
        output_padding=(0, single(output_padding, "output_padding", op)),
        groups=groups,
        dilation=(1, single(dilation, "dilation", op, 1)),
    )
    return out.reshape(*out.shape[:-2], out.shape[-1])


# The pooling ops lived here first: their old import path keeps working.
# isort: split
from chainrule.ops.pooling import (  # noqa: E402
    AdaptiveAvgPool2d,
    AvgPool2d,
    MaxPool2d,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
