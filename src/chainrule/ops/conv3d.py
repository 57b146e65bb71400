"""3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv3d``.

As the 2-D convolution (``ops/conv.py``), im2col and one BLAS product: the columns
(C·kd·kh·kw rows, N·OD·OH·OW columns, ``ops/conv3d_util.py``) are copied from the padded
volumes in whole runs, and the weight, as its own (C_out, C·kd·kh·kw) matrix, multiplies them
for the whole batch at once. The product is the output channels first, (C_out, N, OD, OH, OW);
the op returns it as such, and the last step (a recorded permute, PyTorch's
``ConvolutionBackward0``) views it as NCDHW.

Backward reuses the columns for the weight gradient (grad · colsᵀ), multiplies the gradient
by the weight for the columns' gradient (Wᵀ · grad) and adds that back into the input by
col2im. Second derivatives write the same gradients as recorded convolutions
(``ops/conv3d_graph.py``).
"""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops.conv3d_graph import conv3d_graph
from chainrule.ops.conv3d_util import (
    as_batch_of_volumes,
    col2im,
    im2col,
    out_sizes,
    pad_channels_first,
    triple,
)
from chainrule.ops.conv_util import _give_back, _Lease, group_count
from chainrule.ops.matmul import row_sum
from chainrule.tensor import Tensor

__all__ = ["Conv3d", "conv3d", "triple"]


class Conv3d(Function):
    """3-D cross-correlation, channels first: out[o, n, z, y, x] = b[o] +
    Σ_{c,i,j,k} W[o, c, i, j, k] · xpad[n, c, z·s + i·d, y·s + j·d, x·s + k·d], with the input
    channels of each group only.

    One output position is the dot product of the kernel with its window, so ∂out/∂W is the
    window's input value, ∂out/∂x the kernel weight that met the voxel, and a weight's gradient
    sums over every position the kernel was applied at.
    """

    label = "conv3d"
    formulas = (
        "W[o, c, i, j, k] of the tap that met the voxel (summed over positions: col2im of "
        "Wᵀ · grad)",
        "xpad[n, c, z·s + i·d, y·s + j·d, x·s + k·d], the input under the tap (summed: "
        "grad · colsᵀ)",
        "1 (summed over N, OD, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, pads, dilation, groups):
        n, c = x.shape[:2]
        out_ch, cg, *kernel = weight.shape
        out_size = out_sizes(x.shape[2:], pads, kernel, stride, dilation)
        self.options = (stride, pads, dilation, groups)
        self.x_shape, self.weight, self.out_size = x.shape, weight, out_size
        xp = pad_channels_first(x, pads)
        self.padded_size = xp.shape[2:]
        cols = im2col(xp, kernel, stride, dilation, out_size)
        if xp.base is None:
            _give_back(xp)
        # (sizes spelled out, never -1: an empty batch has no positions)
        positions, rows = n * out_size[0] * out_size[1] * out_size[2], weight[0].size
        if groups == 1:
            out = _mkl.dot(weight.reshape(out_ch, rows), cols.reshape(rows, positions))
        else:  # each group's rows of the columns are one block: one batched product
            w_g = weight.reshape(groups, out_ch // groups, rows)
            out = np.matmul(w_g, cols.reshape(groups, rows, positions))
            out = out.reshape(out_ch, positions)
        self.lease = _Lease(cols)
        if bias is not None:
            out += bias[:, None]
        return out.reshape(out_ch, n, *out_size)

    def backward(self, grad):
        needs = self.needs_grad
        out_ch = self.weight.shape[0]
        g, cols = self.options[3], self.lease.array
        positions = cols.shape[4] * self.out_size[0] * self.out_size[1] * self.out_size[2]
        rows = self.weight[0].size  # the columns' rows per group
        grad_m = np.ascontiguousarray(grad).reshape(out_ch, positions)
        grad_x = grad_w = grad_b = None
        if g == 1:
            cols_m = cols.reshape(rows, positions)
            w_mat = self.weight.reshape(out_ch, rows)
            if needs[1]:
                grad_w = _mkl.dot(grad_m, cols_m.T).reshape(self.weight.shape)
            if needs[0]:
                grad_cols = _mkl.dot(w_mat.T, grad_m)
        else:
            cols_g = cols.reshape(g, rows, positions)
            w_g = self.weight.reshape(g, out_ch // g, rows)
            grad_g = grad_m.reshape(g, out_ch // g, positions)
            if needs[1]:
                grad_w = np.matmul(grad_g, cols_g.transpose(0, 2, 1)).reshape(self.weight.shape)
            if needs[0]:
                grad_cols = np.matmul(w_g.transpose(0, 2, 1), grad_g)
        if needs[0]:
            stride, pads, dilation = self.options[:3]
            xp = col2im(grad_cols.reshape(cols.shape), self.padded_size, stride, dilation)
            d, h, w = self.x_shape[2:]
            inside = xp[:, :, pads[0] : pads[0] + d, pads[2] : pads[2] + h, pads[4] : pads[4] + w]
            grad_x = inside.transpose(1, 0, 2, 3, 4)
        if len(needs) == 3 and needs[2]:
            grad_b = row_sum(grad_m)
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    backward_graph = conv3d_graph  # the gradients as convolutions (ops/conv3d_graph.py)


def _conv3d_pads(padding, stride, dilation, kernel, op: str) -> tuple[int, ...]:
    """(front, back, top, bottom, left, right) from ``padding``: numbers, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * 6
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be an int, a triple, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1, 1):
            raise ShapeError(
                f"{op}: padding='same' needs stride 1 (got stride={stride}); give the padding "
                f"as numbers instead"
            )
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        # the odd one after, as PyTorch's
        return tuple(p for t in totals for p in (t // 2, t - t // 2))
    return tuple(p for p in triple(padding, "padding", op, 0) for _ in range(2))


def apply_conv3d(x: Tensor, weight: Tensor, bias, stride, pads, dilation, groups) -> Tensor:
    """The recorded op on a checked NCDHW batch, its output viewed as NCDHW (the view carries
    PyTorch's grad_fn name, ``ConvolutionBackward0``)."""
    from chainrule.ops.conv_named import ConvolutionPermute

    options = dict(stride=stride, pads=pads, dilation=dilation, groups=groups)
    if bias is None:
        out = Conv3d.apply(x, weight, **options)
    else:
        out = Conv3d.apply(x, weight, bias, **options)
    return ConvolutionPermute.apply(out, axes=(1, 0, 2, 3, 4))


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution (cross-correlation) over an NCDHW batch, as
    ``torch.nn.functional.conv3d``.

    Args:
        input: input of shape (N, C_in, D, H, W) or (C_in, D, H, W).
        weight: kernels of shape (C_out, C_in / groups, kD, kH, kW).
        bias: (C_out,) or None.
        stride: step between windows, an int or (sD, sH, sW).
        padding: zeros on each side, an int, a triple, ``"valid"`` or ``"same"`` (stride 1).
        dilation: spacing between kernel elements.
        groups: split input and output channels into this many independent groups.

    Shape:
        (N, C_in, D, H, W) → (N, C_out, OD, OH, OW), OD = ⌊(D + 2pD − dD(kD − 1) − 1)/sD⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.ones(2, 3, 6, 8, 8), cr.ones(4, 3, 3, 3, 3)
        >>> cr.nn.functional.conv3d(x, w, padding=1).shape
        (2, 4, 6, 8, 8)
    """
    from chainrule.ops.conv import _conv_args

    op = "conv3d"
    input, weight, bias = _conv_args(input, weight, bias, op)
    stride = triple(stride, "stride", op, 1)
    dilation = triple(dilation, "dilation", op, 1)
    groups = group_count(groups, op)
    input, unbatched = as_batch_of_volumes(input, weight, op, "(C_out, C_in/groups, kD, kH, kW)")
    c = input.shape[1]
    out_ch, cg, *kernel = weight.shape
    if out_ch % groups or c % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the input channels ({c}) and the output "
            f"channels ({out_ch})"
        )
    if cg * groups != c:
        raise ShapeError(
            f"{op} got input of shape {tuple(input.shape)} with {c} channels, but the weight "
            f"{weight.shape} expects {cg * groups} (= {cg} per group × groups={groups})"
        )
    if bias is not None and bias.shape != (out_ch,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({out_ch},)")
    pads = _conv3d_pads(padding, stride, dilation, kernel, op)
    for axis, size in enumerate(out_sizes(input.shape[2:], pads, kernel, stride, dilation)):
        if size < 1:
            name = ("depth", "height", "width")[axis]
            raise ShapeError(
                f"{op}: input {name} {input.shape[2 + axis]} (padded by "
                f"{pads[2 * axis : 2 * axis + 2]}) is smaller than the dilated kernel {name} "
                f"{dilation[axis] * (kernel[axis] - 1) + 1}; use a smaller kernel or more padding"
            )
    out = apply_conv3d(input, weight, bias, stride, pads, dilation, groups)
    # (PyTorch's grad_fn name when unbatched: SqueezeBackward1)
    return out.squeeze(0) if unbatched else out
