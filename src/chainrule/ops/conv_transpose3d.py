"""Transposed 3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv_transpose3d``,
built on the 2-D transposed convolution (``ops/conv.py``) the way ``conv3d`` is built on
``conv2d`` (``ops/conv3d.py``).

A 3-D kernel of depth kd is kd 2-D kernels, one per depth tap. Input plane ``id`` and tap ``i``
land on output plane ``id·s + i·d − p`` (before ``padding`` crops it). So every input plane is
an image: one ``conv_transpose2d`` with the kd taps laid beside the output channels gives each
(plane, tap) its 2-D result, and those are then spread along depth (stride zeros between
planes, each tap shifted by i·d) and summed:

    out[n, :, t] = Σ_{id·s + i·d = t + p} conv_transpose2d(x[n, :, id], W[:, :, i])

Every step is a recorded op (permute, reshape, conv_transpose2d, pad, add), so the gradients,
and second derivatives, are theirs.
"""

from __future__ import annotations

from chainrule.errors import ShapeError
from chainrule.ops.conv3d import triple
from chainrule.ops.conv_util import check_output_padding, group_count
from chainrule.tensor import Tensor


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


def _along_depth(planes, sd: int, pd: int, opd: int, dd: int):
    """(N, g, og, OH, OW, kd, D) → (N, g, og, OH, OW, OD): each (plane, tap) result put on its
    output plane (id·s + i·d − p) and the taps summed."""
    from chainrule.ops.indexing import pad

    depth, kd = planes.shape[-1], planes.shape[-2]
    if sd > 1:  # stride: s − 1 zero planes after each input plane (none after the last)
        spread = pad(planes.unsqueeze(-1), (0, sd - 1))
        planes = spread.reshape(*planes.shape[:-1], depth * sd)[..., : (depth - 1) * sd + 1]
    length = planes.shape[-1]
    full = length + dd * (kd - 1)
    out = None
    for i in range(kd):  # tap i starts i·d planes further along
        tap = pad(planes[..., i, :], (i * dd, full - length - i * dd))
        out = tap if out is None else out + tap
    # padding crops p planes from each end; output_padding adds planes at the back
    if pd or opd:
        out = pad(out, (-pd, opd - pd))
    return out


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
    from chainrule.ops.conv import _conv_args, conv_transpose2d
    from chainrule.ops.conv_named import ConvolutionBias, ConvolutionReshape

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
    n, c, depth, h, w = x.shape
    c_in, og, kd, kh, kw = weight.shape
    # every input plane an image, every depth tap a block of output channels (tap-major
    # within each group, as conv_transpose2d lays a group's outputs side by side)
    images = x.permute(0, 2, 1, 3, 4).reshape(n * depth, c, h, w)
    kernels = weight.permute(0, 2, 1, 3, 4).reshape(c_in, kd * og, kh, kw)
    planes = conv_transpose2d(
        images, kernels, None, stride[1:], padding[1:], output_padding[1:], groups, dilation[1:]
    )
    oh, ow = planes.shape[2:]
    # depth last: (N, groups, og, OH, OW, kd, D)
    planes = planes.reshape(n, depth, groups, kd, og, oh, ow).permute(0, 2, 4, 5, 6, 3, 1)
    out = _along_depth(planes, stride[0], padding[0], output_padding[0], dilation[0])
    # (the last op named as PyTorch's: ConvolutionBackward0, SqueezeBackward1 when unbatched)
    shape = (n, groups * og, out.shape[-1], oh, ow)
    out = ConvolutionReshape.apply(out.permute(0, 1, 2, 5, 3, 4), shape=shape)
    if bias is not None:
        out = ConvolutionBias.apply(out, bias.reshape(-1, 1, 1, 1))
    return out.squeeze(0) if unbatched else out
