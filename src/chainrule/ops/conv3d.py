"""3-D convolution over volumes (NCDHW), as ``torch.nn.functional.conv3d``, built on the 2-D
convolution's im2col and BLAS product (``ops/conv.py``).

A 3-D kernel of depth kd is kd 2-D kernels, one per depth tap: output depth ``od`` reads the
input planes ``od·s + i·d`` for i < kd. Gathering those planes for every output depth (one
indexing op) and laying the kd taps beside the channels turns the volume into a batch of
N·OD images of kd·C channels; one ``conv2d`` with the kernel's depth taps moved beside its
channels then gives every output plane:

    out[n, o, od] = conv2d(stack_i xpad[n, :, od·s_d + i·d_d], W[o] as (kd·C, kh, kw))

Every step is a recorded op (pad, gather, permute, reshape, conv2d), so the gradients, and
second derivatives, are theirs: the gather's backward adds each plane's gradient back to the
input plane it read (the depth col2im).
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import fixed
from chainrule.errors import ShapeError
from chainrule.ops.conv_util import group_count
from chainrule.tensor import Tensor


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


def plane_index(taps: int, dilation: int, out_depth: int, stride: int) -> np.ndarray:
    """(taps, out_depth): the input plane ``od·stride + i·dilation`` that depth tap i of
    output depth od reads. Sizes alone decide it (``compile_hooks.fixed``)."""
    return np.arange(taps)[:, None] * dilation + np.arange(out_depth)[None, :] * stride


def _depth_pads(padding, stride, dilation, kernel, op: str):
    """(front, back) zeros along depth, and the padding the 2-D convolution takes for H, W."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be an int, a triple, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1, 1):
            raise ShapeError(
                f"{op}: padding='same' needs stride 1 (got stride={stride}); give the padding "
                f"as numbers instead"
            )
        total = dilation[0] * (kernel - 1)
        return (total // 2, total - total // 2), "same"  # the odd one after, as PyTorch's
    pd, ph, pw = triple(padding, "padding", op, 0)
    return (pd, pd), (ph, pw)


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
    from chainrule.ops.conv import _conv_args, conv2d
    from chainrule.ops.conv_named import ConvolutionPermute
    from chainrule.ops.indexing import pad

    op = "conv3d"
    x, weight, bias = _conv_args(x, weight, bias, op)
    stride = triple(stride, "stride", op, 1)
    dilation = triple(dilation, "dilation", op, 1)
    group_count(groups, op)
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
    n, c, depth = x.shape[:3]
    out_ch, cg, kd, kh, kw = weight.shape
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
    (front, back), plane_padding = _depth_pads(padding, stride, dilation, kd, op)
    out_depth = (depth + front + back - dilation[0] * (kd - 1) - 1) // stride[0] + 1
    if out_depth < 1:
        raise ShapeError(
            f"{op}: input depth {depth} (padded by {(front, back)}) is smaller than the "
            f"dilated kernel depth {dilation[0] * (kd - 1) + 1}; use a smaller kernel or more "
            f"padding"
        )
    if front or back:
        x = pad(x, (0, 0, 0, 0, front, back))
    h, w = x.shape[3:]
    # the input plane of every (depth tap, output depth): (N, C, kd, OD, H, W)
    planes = fixed(plane_index, kd, dilation[0], out_depth, stride[0])
    taps = x[:, :, planes]
    # → (N·OD, g·kd·Cg, H, W): each group's channels stay together, its taps before them
    taps = taps.reshape(n, groups, cg, kd, out_depth, h, w).permute(0, 4, 1, 3, 2, 5, 6)
    images = taps.reshape(n * out_depth, groups * kd * cg, h, w)
    kernels = weight.permute(0, 2, 1, 3, 4).reshape(out_ch, kd * cg, kh, kw)
    out = conv2d(images, kernels, bias, stride[1:], plane_padding, dilation[1:], groups=int(groups))
    oh, ow = out.shape[2:]
    # (PyTorch's grad_fn names: ConvolutionBackward0, and SqueezeBackward1 when unbatched)
    out = ConvolutionPermute.apply(out.reshape(n, out_depth, out_ch, oh, ow), axes=(0, 2, 1, 3, 4))
    return out.squeeze(0) if unbatched else out
