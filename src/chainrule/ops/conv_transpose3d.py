"""Transposed 3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv_transpose3d``,
the way ``ConvTranspose2d`` runs (``ops/conv.py``): one BLAS product and one col2im.

Every input voxel scatters its value times the kernel into the output. With the input
channels first as a (C_in, N·D·H·W) matrix, one product with the weight seen as
(C_out·kd·kh·kw, C_in) gives every voxel's contribution through every tap: the columns of the
output, which col2im adds into place (``ops/conv3d_util.py``). Backward reads the output
gradient's columns (the forward convolution's im2col) for both gradients. The op's output is
channels first, (C_out, N, OD, OH, OW); the last step (a recorded permute, PyTorch's
``ConvolutionBackward0``) views it as NCDHW. Second derivatives: ``ops/conv3d_graph.py``.
"""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops.conv3d_graph import conv_transpose3d_graph
from chainrule.ops.conv3d_util import as_batch_of_volumes, col2im, im2col, triple
from chainrule.ops.conv_util import _give_back, check_output_padding, group_count
from chainrule.tensor import Tensor


class ConvTranspose3d(Function):
    """The gradient of a 3-D convolution with respect to its input, used as a layer, channels
    first: out[o, n, z·s + i·d − p, y·s + j·d − p, x·s + k·d − p] += x[n, c, z, y, x] ·
    W[c, o, i, j, k].
    """

    label = "conv_transpose3d"
    formulas = (
        "Σ over the positions the voxel was scattered to: W[c, o, i, j, k]  (Wᵀ · im2col of grad)",
        "Σ over input positions: x[n, c, z, y, x] · grad at the position it reached",
        "1 (summed over N, OD, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, padding, output_padding, dilation, groups):
        n, c_in, *sizes = x.shape
        og, kernel = weight.shape[1], weight.shape[2:]
        g = groups
        full = tuple(
            (size - 1) * s + d * (k - 1) + 1 + o
            for size, s, d, k, o in zip(sizes, stride, dilation, kernel, output_padding)
        )
        self.x_shape, self.weight, self.stride, self.dilation = x.shape, weight, stride, dilation
        self.padding, self.groups, self.full = padding, g, full
        # (C_in, N·D·H·W): each group's channels one block of rows
        x_c = np.ascontiguousarray(x.transpose(1, 0, 2, 3, 4)).reshape(c_in, -1)
        self.x_c = x_c
        if g == 1:  # (C_out·taps, C_in) · (C_in, N·D·H·W) → the columns of the output
            cols = _mkl.dot(weight.reshape(c_in, -1).T, x_c)
        else:
            w_g = weight.reshape(g, c_in // g, -1).transpose(0, 2, 1)
            cols = np.matmul(w_g, x_c.reshape(g, c_in // g, -1))
        cols = cols.reshape(og * g, *kernel, n, *sizes)
        out = col2im(cols, full, stride, dilation)
        (pd, ph, pw), (fd, fh, fw) = padding, full
        out = out[:, :, pd : fd - pd, ph : fh - ph, pw : fw - pw]
        if bias is not None:
            out += bias[:, None, None, None, None]  # (col2im's array is new: add in place)
        return out

    def backward(self, grad):
        needs = self.needs_grad
        n, c_in, *sizes = self.x_shape
        og, kernel = self.weight.shape[1], self.weight.shape[2:]
        g, out_ch = self.groups, og * self.groups
        (pd, ph, pw), (fd, fh, fw) = self.padding, self.full
        # the output gradient, zero-padded back to the full scatter area, and its columns
        gp = np.zeros((out_ch, n, fd, fh, fw), grad.dtype)
        gp[:, :, pd : fd - pd, ph : fh - ph, pw : fw - pw] = grad
        cols = im2col(gp, kernel, self.stride, self.dilation, sizes)
        cols_g = cols.reshape(g, self.weight[0].size, n * sizes[0] * sizes[1] * sizes[2])
        w_g = self.weight.reshape(g, c_in // g, -1)
        grad_x = grad_w = grad_b = None
        if needs[0]:
            if g == 1:
                grad_x = _mkl.dot(w_g[0], cols_g[0])
            else:
                grad_x = np.matmul(w_g, cols_g)  # (g, C_in/g, N·D·H·W)
            grad_x = grad_x.reshape(c_in, n, *sizes).transpose(1, 0, 2, 3, 4)
        if needs[1]:
            if g == 1:
                grad_w = _mkl.dot(self.x_c, cols_g[0].T)
            else:
                x_g = self.x_c.reshape(g, c_in // g, -1)
                grad_w = np.matmul(x_g, cols_g.transpose(0, 2, 1))  # (g, C_in/g, og·taps)
            grad_w = grad_w.reshape(self.weight.shape)
        _give_back(cols)
        if len(needs) == 3 and needs[2]:
            grad_b = grad.sum(axis=(1, 2, 3, 4))
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
    return ConvolutionPermute.apply(out, axes=(1, 0, 2, 3, 4))


def conv_transpose3d(
    input,  # noqa: A002 - PyTorch's name (keyword callers write input=)
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 3-D convolution, as ``torch.nn.functional.conv_transpose3d``.

    Args:
        input: (N, C_in, D, H, W) or (C_in, D, H, W).
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
    x, weight, bias = _conv_args(input, weight, bias, op)
    stride = triple(stride, "stride", op, 1)
    dilation = triple(dilation, "dilation", op, 1)
    padding = triple(padding, "padding", op, 0)
    output_padding = triple(output_padding, "output_padding", op, 0)
    groups = group_count(groups, op)
    check_output_padding(output_padding, stride, dilation, op)
    x, unbatched = as_batch_of_volumes(x, weight, op, "(C_in, C_out/groups, kD, kH, kW)")
    _check_shapes(x, weight, bias, (stride, padding, output_padding, dilation, groups), op)
    out = apply_conv_transpose3d(x, weight, bias, stride, padding, output_padding, dilation, groups)
    # (PyTorch's grad_fn name when unbatched: SqueezeBackward1)
    return out.squeeze(0) if unbatched else out
