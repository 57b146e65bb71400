"""Adaptive average pooling of volumes, as ``torch.nn.functional.adaptive_avg_pool3d``, and
PyTorch's ``F.max_pool{1,2,3}d_with_indices`` (the max pools' (output, indices) spellings).

A box average is separable: the mean over a (depth × height × width) window is the mean over
depth of the means over height and width. So the 3-D pool is two 2-D adaptive pools, one over
(H, W) with depth folded into the channels, then one over D with (OH·OW) kept as it is (a
window of one there); the gradients (and second derivatives) are theirs.
"""

from __future__ import annotations

from chainrule.errors import ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv_util import _float_input
from chainrule.ops.pooling import adaptive_avg_pool2d, max_pool1d, max_pool2d
from chainrule.ops.pooling3d import max_pool3d
from chainrule.tensor import Tensor


def adaptive_avg_pool3d(input, output_size) -> Tensor:  # noqa: A002 - PyTorch's name
    """Average pooling of volumes to a fixed output size, as
    ``torch.nn.functional.adaptive_avg_pool3d`` (PyTorch's windows [⌊i·D/OD⌋, ⌈(i+1)·D/OD⌉)
    along each axis).

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        output_size: (OD, OH, OW), one int for all, or ``None`` in a place to keep that size.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.adaptive_avg_pool3d(cr.ones(1, 2, 5, 6, 7), (2, None, 3)).shape
        (1, 2, 2, 6, 3)
    """
    op = "adaptive_avg_pool3d"
    x = operand(input)
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}(): Expected 4D or 5D tensor, but got {list(x.shape)}")
    _float_input(x, op)
    sizes = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,) * 3
    if len(sizes) != 3:
        raise ValueError(f"{op}: output_size must be 3 (an int or a triple), got {output_size!r}")
    d, h, w = x.shape[-3:]
    sizes = tuple(d if s is None else s for s, d in zip(sizes, (d, h, w)))
    for s in sizes:
        if s.__class__ is bool or not isinstance(s, int) or s < 1:
            raise ValueError(
                f"{op}: output_size must hold ints >= 1 (or None), got {output_size!r}"
            )
    if min(d, h, w) < 1:
        raise ShapeError(f"{op} got an empty input of shape {x.shape}")
    od, oh, ow = sizes
    lead = x.shape[:-3]  # (N, C) or (C,)
    batch = lead[0] if len(lead) == 2 else 1
    channels = lead[-1]
    planes = adaptive_avg_pool2d(x.reshape(batch, channels * d, h, w), (oh, ow))
    depth = planes.reshape(batch, channels, d, oh * ow)
    out = adaptive_avg_pool2d(depth, (od, oh * ow))
    return out.reshape(*lead, od, oh, ow)


def max_pool1d_with_indices(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool1d_with_indices``: (output, indices), whatever
    ``return_indices`` says."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool2d_with_indices``: (output, indices) always."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool3d_with_indices``: (output, indices) always."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)
