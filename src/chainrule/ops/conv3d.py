"""3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv3d``.

As the 2-D convolution's windows (``ops/conv.py``), one im2col and one BLAS product: the
padded input is copied once to channels-last (N, Dp, Hp, Wp, C), a strided view of it holds
every kernel window (``ops/conv3d_util.py``), and copying that view gives the columns
(N·OD·OH·OW rows, kd·kh·kw·C columns) that multiply the weight as a (kd·kh·kw·C, C_out)
matrix. The product is the output channels-last; the op returns it as such, and the last step
(a recorded permute, PyTorch's ``ConvolutionBackward0``) views it as NCDHW.

Backward reuses the columns for the weight gradient (colsᵀ · grad), multiplies the gradient
by the weight for the columns' gradient (grad · Wᵀ) and adds that back into the input with
one strided slice-add per kernel tap (col2im). Second derivatives write the same gradients as
recorded convolutions (``ops/conv3d_graph.py``).
"""

from __future__ import annotations

import numpy as np

from chainrule._gemm import product
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops.conv3d_graph import conv3d_graph
from chainrule.ops.conv3d_util import (
    col2im,
    out_sizes,
    pad_channels_last,
    triple,
    windows,
)
from chainrule.ops.conv_util import _borrow, _give_back, _Lease, group_count
from chainrule.ops.matmul import column_sum
from chainrule.tensor import Tensor

__all__ = ["Conv3d", "conv3d", "plane_index", "triple"]


class Conv3d(Function):
    """3-D cross-correlation, channels-last out: out[n, z, y, x, o] = b[o] +
    Σ_{c,i,j,k} W[o, c, i, j, k] · xpad[n, c, z·s + i·d, y·s + j·d, x·s + k·d], with the input
    channels of each group only.

    One output position is the dot product of the kernel with its window, so ∂out/∂W is the
    window's input value, ∂out/∂x the kernel weight that met the voxel, and a weight's gradient
    sums over every position the kernel was applied at.
    """

    label = "conv3d"
    formulas = (
        "W[o, c, i, j, k] of the tap that met the voxel (summed over positions: col2im of "
        "grad · W)",
        "xpad[n, c, z·s + i·d, y·s + j·d, x·s + k·d], the input under the tap (summed: "
        "colsᵀ · grad)",
        "1 (summed over N, OD, OH, OW)",
    )

    def forward(self, x, weight, bias=None, *, stride, pads, dilation, groups):
        n, c = x.shape[:2]
        out_ch, cg, *kernel = weight.shape
        out_size = out_sizes(x.shape[2:], pads, kernel, stride, dilation)
        self.options = (stride, pads, dilation, groups)
        self.x_shape, self.weight, self.out_size = x.shape, weight, out_size
        xp = pad_channels_last(x, pads)
        self.padded_size = xp.shape[1:4]
        win = windows(xp, kernel, stride, dilation, out_size)
        taps = kernel[0] * kernel[1] * kernel[2]
        m, og = n * out_size[0] * out_size[1] * out_size[2], out_ch // groups
        if groups == 1:
            cols = _borrow((m, taps * c), x.dtype)
            cols.reshape(win.shape)[...] = win  # the one copy of im2col
            w_mat = weight.transpose(2, 3, 4, 1, 0).reshape(taps * c, out_ch)
            out = product(cols, w_mat)
        else:
            # (N, OD, OH, OW, kd, kh, kw, g, Cg) → (g, M, taps·Cg): one batched product
            win = win.reshape(*win.shape[:-1], groups, cg)
            cols = _borrow((groups, m, taps * cg), x.dtype)
            cols.reshape(groups, *win.shape[:-2], cg)[...] = np.moveaxis(win, -2, 0)
            w_mat = weight.reshape(groups, og, cg, *kernel).transpose(0, 3, 4, 5, 2, 1)
            w_mat = w_mat.reshape(groups, taps * cg, og)
            out = np.matmul(cols, w_mat).transpose(1, 0, 2).reshape(m, out_ch)
        _give_back(xp)
        self.lease, self.w_mat = _Lease(cols), w_mat
        if bias is not None:
            out += bias
        return out.reshape(n, *out_size, out_ch)

    def backward(self, grad):
        needs = self.needs_grad
        n, c = self.x_shape[:2]
        out_ch, cg, *kernel = self.weight.shape
        g, cols = self.options[3], self.lease.array
        taps = kernel[0] * kernel[1] * kernel[2]
        m, og = cols.shape[-2], out_ch // g
        grad_m = grad.reshape(m, out_ch)
        grad_x = grad_w = grad_b = None
        if g == 1:
            if needs[1]:
                grad_w = product(cols.T, grad_m).reshape(*kernel, c, out_ch)
                grad_w = grad_w.transpose(4, 3, 0, 1, 2)
            if needs[0]:
                grad_cols = product(grad_m, self.w_mat.T)
        else:
            grad_g = grad_m.reshape(m, g, og).transpose(1, 0, 2)  # (g, M, Og)
            if needs[1]:
                grad_w = np.matmul(cols.transpose(0, 2, 1), grad_g)  # (g, taps·Cg, Og)
                grad_w = grad_w.reshape(g, *kernel, cg, og).transpose(0, 5, 4, 1, 2, 3)
                grad_w = grad_w.reshape(out_ch, cg, *kernel)
            if needs[0]:
                grad_cols = np.matmul(grad_g, self.w_mat.transpose(0, 2, 1))  # (g, M, taps·Cg)
                grad_cols = np.moveaxis(grad_cols.reshape(g, m, taps, cg), 0, 2)
        if needs[0]:
            grad_cols = grad_cols.reshape(n, *self.out_size, *kernel, c)
            _, pads, dilation = self.options[:3]
            xp = col2im(grad_cols, self.padded_size, self.options[0], dilation)
            d, h, w = self.x_shape[2:]
            inside = xp[:, pads[0] : pads[0] + d, pads[2] : pads[2] + h, pads[4] : pads[4] + w]
            grad_x = inside.transpose(0, 4, 1, 2, 3)
        if len(needs) == 3 and needs[2]:
            grad_b = column_sum(grad_m)
        if grad_w is not None:
            grad_w = np.ascontiguousarray(grad_w)
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    backward_graph = conv3d_graph  # the gradients as convolutions (ops/conv3d_graph.py)


def plane_index(taps: int, dilation: int, out_depth: int, stride: int) -> np.ndarray:
    """(taps, out_depth): the input plane ``od·stride + i·dilation`` that depth tap i of
    output depth od reads (3-D pooling's gather). Sizes alone decide it
    (``compile_hooks.fixed``)."""
    return np.arange(taps)[:, None] * dilation + np.arange(out_depth)[None, :] * stride


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
    return ConvolutionPermute.apply(out, axes=(0, 4, 1, 2, 3))


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution (cross-correlation) over an NCDHW batch, as
    ``torch.nn.functional.conv3d``.

    Args:
        x: input of shape (N, C_in, D, H, W) or (C_in, D, H, W).
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
    x, weight, bias = _conv_args(x, weight, bias, op)
    stride = triple(stride, "stride", op, 1)
    dilation = triple(dilation, "dilation", op, 1)
    groups = group_count(groups, op)
    if weight.ndim != 5:
        raise ShapeError(
            f"{op} expects a 5-D weight (C_out, C_in/groups, kD, kH, kW), got {weight.shape}"
        )
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape(1, *x.shape)
    if x.ndim != 5:
        raise ShapeError(
            f"{op} expects input of shape (N, C, D, H, W) or (C, D, H, W), got {tuple(x.shape)}"
        )
    c = x.shape[1]
    out_ch, cg, *kernel = weight.shape
    if out_ch % groups or c % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the input channels ({c}) and the output "
            f"channels ({out_ch})"
        )
    if cg * groups != c:
        raise ShapeError(
            f"{op} got input of shape {tuple(x.shape)} with {c} channels, but the weight "
            f"{weight.shape} expects {cg * groups} (= {cg} per group × groups={groups})"
        )
    if bias is not None and bias.shape != (out_ch,):
        raise ShapeError(f"{op} got bias of shape {bias.shape}; expected ({out_ch},)")
    pads = _conv3d_pads(padding, stride, dilation, kernel, op)
    if min(out_sizes(x.shape[2:], pads, kernel, stride, dilation)) < 1:
        dilated = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        raise ShapeError(
            f"{op}: input of size {tuple(x.shape[2:])} (padded by {pads}) is smaller than the "
            f"dilated kernel {dilated}; use a smaller kernel or more padding"
        )
    out = apply_conv3d(x, weight, bias, stride, pads, dilation, groups)
    # (PyTorch's grad_fn name when unbatched: SqueezeBackward1)
    return out.squeeze(0) if unbatched else out
