"""Transposed 3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv_transpose3d``,
the way ``ConvTranspose2d`` runs (``ops/conv.py``): one BLAS product and one col2im.

Every input voxel scatters its value times the kernel into the output. With the input
channels-last as an (N·D·H·W, C_in) matrix, one product with the weight as a
(C_in, kd·kh·kw·C_out) matrix gives every voxel's contribution to every tap, and col2im adds
them into place, one strided slice-add per kernel tap (``ops/conv3d_util.py``). Backward reads
the output gradient's windows (the forward convolution's im2col) for both gradients. The op's
output is channels-last; the last step (a recorded permute, PyTorch's ``ConvolutionBackward0``)
views it as NCDHW. Second derivatives: ``ops/conv3d_graph.py``.
"""

from __future__ import annotations

import numpy as np

from chainrule._gemm import product
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops.conv3d_graph import conv_transpose3d_graph
from chainrule.ops.conv3d_util import col2im, triple, windows
from chainrule.ops.conv_util import check_output_padding, group_count
from chainrule.tensor import Tensor


class ConvTranspose3d(Function):
    """The gradient of a 3-D convolution with respect to its input, used as a layer, with a
    channels-last output: out[n, z·s + i·d − p, y·s + j·d − p, x·s + k·d − p, o] +=
    x[n, c, z, y, x] · W[c, o, i, j, k].
    """

    label = "conv_transpose3d"
    formulas = (
        "Σ over the positions the voxel was scattered to: W[c, o, i, j, k]  (im2col of grad · Wᵀ)",
        "Σ over input positions: x[n, c, z, y, x] · grad at the position it reached",
        "1 (summed over N, OD, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, padding, output_padding, dilation, groups):
        n, c_in, *sizes = x.shape
        _, og, *kernel = weight.shape
        g = groups
        cg, out_ch = c_in // g, og * g
        taps = kernel[0] * kernel[1] * kernel[2]
        full = tuple(
            (size - 1) * s + d * (k - 1) + 1 + o
            for size, s, d, k, o in zip(sizes, stride, dilation, kernel, output_padding)
        )
        self.x_shape, self.weight, self.stride, self.dilation = x.shape, weight, stride, dilation
        self.padding, self.groups, self.full = padding, g, full
        m = n * sizes[0] * sizes[1] * sizes[2]
        x_m = np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1)).reshape(m, c_in)
        self.x_m = x_m
        if g == 1:
            # (M, C_in) · (C_in, taps·C_out) → the columns of the output
            w_mat = weight.transpose(0, 2, 3, 4, 1).reshape(c_in, taps * og)
            cols = product(x_m, w_mat)
        else:
            w_mat = weight.reshape(g, cg, og, *kernel).transpose(0, 1, 3, 4, 5, 2)
            w_mat = w_mat.reshape(g, cg, taps * og)
            x_g = x_m.reshape(m, g, cg).transpose(1, 0, 2)
            cols = np.moveaxis(np.matmul(x_g, w_mat).reshape(g, m, taps, og), 0, 2)
        self.w_mat = w_mat
        cols = cols.reshape(n, *sizes, *kernel, out_ch)
        out = col2im(cols, full, stride, dilation)
        (pd, ph, pw), (fd, fh, fw) = padding, full
        out = out[:, pd : fd - pd, ph : fh - ph, pw : fw - pw]
        if bias is not None:
            out = out + bias
        return out

    def backward(self, grad):
        needs = self.needs_grad
        n, c_in, *sizes = self.x_shape
        _, og, *kernel = self.weight.shape
        g = self.groups
        cg, out_ch, m = c_in // g, og * g, n * sizes[0] * sizes[1] * sizes[2]
        taps = kernel[0] * kernel[1] * kernel[2]
        (pd, ph, pw), (fd, fh, fw) = self.padding, self.full
        # the output gradient, zero-padded back to the full scatter area, read as windows
        gp = np.zeros((n, fd, fh, fw, out_ch), grad.dtype)
        gp[:, pd : fd - pd, ph : fh - ph, pw : fw - pw] = grad
        win = windows(gp, kernel, self.stride, self.dilation, sizes)
        grad_x = grad_w = grad_b = None
        if g == 1:
            cols = win.reshape(m, taps * out_ch)  # the one copy of im2col
            if needs[0]:
                grad_x = product(cols, self.w_mat.T).reshape(n, *sizes, c_in)
            if needs[1]:
                grad_w = product(self.x_m.T, cols).reshape(c_in, *kernel, og)
        else:
            win = win.reshape(*win.shape[:-1], g, og)
            cols = np.moveaxis(win, -2, 0).reshape(g, m, taps * og)
            if needs[0]:
                grad_x = np.matmul(cols, self.w_mat.transpose(0, 2, 1))  # (g, M, Cg)
                grad_x = grad_x.transpose(1, 0, 2).reshape(n, *sizes, c_in)
            if needs[1]:
                x_g = self.x_m.reshape(m, g, cg).transpose(1, 0, 2)
                grad_w = np.matmul(x_g.transpose(0, 2, 1), cols)  # (g, Cg, taps·Og)
                grad_w = grad_w.reshape(c_in, *kernel, og)
        if grad_x is not None:
            grad_x = grad_x.transpose(0, 4, 1, 2, 3)
        if grad_w is not None:
            grad_w = np.ascontiguousarray(grad_w.transpose(0, 4, 1, 2, 3))
        if len(needs) == 3 and needs[2]:
            grad_b = grad.sum(axis=(0, 1, 2, 3))
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    backward_graph = conv_transpose3d_graph  # the gradients as convolutions


def _check_shapes(x, weight, bias, sizes, op: str) -> None:
    """The channels, the bias and the output size, PyTorch's errors in chainrule's words."""
    stride, padding, output_padding, dilation, groups = sizes
    c_in, og = weight.shape[:2]
    if x.shape[1] != c_in or c_in % groups:
        raise ShapeError(
            f"{op} got input of shape {x.shape}; the weight {weight.shape} expects {c_in} input "
            f"channels, divisible by groups={groups}"
        )
    if bias is not None and bias.shape != (og * groups,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({og * groups},)")
    for i, size in enumerate(x.shape[2:]):
        k = weight.shape[2 + i]
        if (size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + output_padding[i] < 0:
            raise ShapeError(
                f"{op}: padding {padding} leaves no output for input of size {x.shape[2:]}"
            )


def apply_conv_transpose3d(
    x: Tensor, weight: Tensor, bias, stride, padding, output_padding, dilation, groups
) -> Tensor:
    """The recorded op on a checked NCDHW batch, its output viewed as NCDHW (the view carries
    PyTorch's grad_fn name, ``ConvolutionBackward0``)."""
    from chainrule.ops.conv_named import ConvolutionPermute

    options = dict(
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )
    if bias is None:
        out = ConvTranspose3d.apply(x, weight, **options)
    else:
        out = ConvTranspose3d.apply(x, weight, bias, **options)
    return ConvolutionPermute.apply(out, axes=(0, 4, 1, 2, 3))


def conv_transpose3d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 3-D convolution, as ``torch.nn.functional.conv_transpose3d``.

    Args:
        x: (N, C_in, D, H, W) or (C_in, D, H, W).
        weight: (C_in, C_out / groups, kD, kH, kW) (PyTorch's layout).
        bias: (C_out,) or None.
        stride, padding, output_padding, groups, dilation: as in PyTorch, ints or triples;
            ``output_padding`` must be smaller than the stride or the dilation.

    Shape:
        OD = (D − 1)·sD − 2pD + dD(kD − 1) + output_paddingD + 1 (OH, OW alike).

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.ones(1, 4, 3, 5, 5), cr.ones(4, 2, 2, 2, 2)
        >>> cr.nn.functional.conv_transpose3d(x, w, stride=2).shape
        (1, 2, 6, 10, 10)
    """
    from chainrule.ops.conv import _conv_args

    op = "conv_transpose3d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    stride = triple(stride, "stride", op, 1)
    dilation = triple(dilation, "dilation", op, 1)
    padding = triple(padding, "padding", op, 0)
    output_padding = triple(output_padding, "output_padding", op, 0)
    groups = group_count(groups, op)
    check_output_padding(output_padding, stride, dilation, op)
    if weight.ndim != 5:
        raise ShapeError(
            f"{op} expects a 5-D weight (C_in, C_out/groups, kD, kH, kW), got {weight.shape}"
        )
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape(1, *x.shape)
    if x.ndim != 5:
        raise ShapeError(
            f"{op} expects input of shape (N, C, D, H, W) or (C, D, H, W), got {tuple(x.shape)}"
        )
    _check_shapes(x, weight, bias, (stride, padding, output_padding, dilation, groups), op)
    out = apply_conv_transpose3d(x, weight, bias, stride, padding, output_padding, dilation, groups)
    # (PyTorch's grad_fn name when unbatched: SqueezeBackward1)
    return out.squeeze(0) if unbatched else out
