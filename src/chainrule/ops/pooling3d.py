"""3-D max and average pooling over volumes (NCDHW), as ``torch.nn.functional.max_pool3d`` and
``avg_pool3d``, built on the 2-D pools (``ops/pooling.py``) as ``conv3d`` is on ``conv2d``.

A window of depth kd is kd planar windows, one per depth tap: output depth ``od`` reads the
input planes ``od·s + i·d``. Those planes are gathered for every output depth (one indexing
op), each is pooled in 2-D, and the kd results of a window are combined:

- max: the largest of them, taken at the first depth tap that holds it (:class:`FirstMax`,
  which finds the arg-max itself), so the gradient reaches the first maximum in (depth, row,
  column) order, PyTorch's; NaN wins, as in PyTorch.
- average: the 2-D window sums added over the taps, divided by PyTorch's divisor, which is the
  product of each axis's count (padding counted or not, windows cut by ``ceil_mode``).

Every step is a recorded op, so the gradients and second derivatives are theirs.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import fixed
from chainrule.errors import ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv3d import plane_index
from chainrule.ops.conv3d_util import triple
from chainrule.ops.conv_util import _float_input
from chainrule.ops.reduce import _Select
from chainrule.tensor import Tensor


def _pool3d_args(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    from chainrule.ops.pooling import _pool_size

    x = operand(x)
    _float_input(x, op)
    kernel = triple(kernel_size, "kernel_size", op, 1)
    empty = stride is None or stride == () or stride == []
    stride = kernel if empty else triple(stride, "stride", op, 1)
    padding = triple(padding, "padding", op, 0)
    dilation = triple(dilation, "dilation", op, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ShapeError(  # a ValueError, and PyTorch's RuntimeError
            f"{op}: padding {padding} must be at most half the kernel size {kernel}"
        )
    if x.ndim not in (4, 5):
        raise ShapeError(
            f"{op} expects input of shape (N, C, D, H, W) or (C, D, H, W), got {tuple(x.shape)}"
        )
    depth = x.shape[-3]
    out_depth, extra = _pool_size(depth, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    if out_depth < 1:
        raise ShapeError(
            f"{op}: input depth {depth} is smaller than the kernel {kernel} (padding "
            f"{padding}); use a smaller kernel or a larger input"
        )
    return x, kernel, stride, padding, dilation, out_depth, extra


def _depth_taps(x: Tensor, kernel, stride, padding, dilation, out_depth, extra, fill: float):
    """(N·C, kd·OD, H, W): the input plane of each (depth tap, output depth), padded in depth
    with ``fill``."""
    from chainrule.ops.indexing import pad

    n, c, _, h, w = x.shape
    front, back = padding[0], padding[0] + extra
    if front or back:
        x = pad(x, (0, 0, 0, 0, front, back), value=fill)
    planes = fixed(plane_index, kernel[0], dilation[0], out_depth, stride[0])
    return x[:, :, planes].reshape(n * c, kernel[0] * out_depth, h, w)


class FirstMax(_Select):
    """The largest value along ``dim``, the gradient to the first element holding it (PyTorch's
    max pooling over the depth taps). The index is found inside the op, from this call's
    values, so ``cr.compile`` replays it instead of refusing an index made in forward."""

    def forward(self, x, dim, keepdim):
        return super().forward(x, np.expand_dims(np.argmax(x, axis=dim), dim), dim, keepdim)


def max_pool3d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d`` (padding counts as −∞).

    Args:
        x: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, dilation: ints or triples (stride: the kernel size).
        ceil_mode: round the output size up, never starting a window in the far padding.
        return_indices: also return the flat index (d·H·W + h·W + w) of each maximum, as an
            int64 tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.max_pool3d(cr.ones(1, 2, 4, 6, 6), 2).shape
        (1, 2, 2, 3, 3)
    """
    from chainrule.ops.pooling import max_pool2d

    op = "max_pool3d"
    x, kernel, stride, padding, dilation, out_depth, extra = _pool3d_args(
        x, kernel_size, stride, padding, dilation, ceil_mode, op
    )
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape(1, *x.shape)
    n, c, _, h, w = x.shape
    taps = _depth_taps(x, kernel, stride, padding, dilation, out_depth, extra, -np.inf)
    pooled = max_pool2d(
        taps, kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode, return_indices
    )
    if return_indices:
        pooled, planar = pooled
    oh, ow = pooled.shape[2:]
    pooled = pooled.reshape(n, c, kernel[0], out_depth, oh, ow)
    out = FirstMax.apply(pooled, dim=2, keepdim=False)
    if not return_indices:
        return out.reshape(out.shape[1:]) if unbatched else out
    first = np.argmax(pooled.array, axis=2)[:, :, None]  # the first tap holding the maximum
    planar = np.take_along_axis(planar.array.reshape(pooled.shape), first, axis=2)[:, :, 0]
    depth = np.arange(out_depth)[:, None, None] * stride[0] + first[:, :, 0] * dilation[0]
    indices = Tensor._make((depth - padding[0]) * (h * w) + planar, False)
    if unbatched:
        return out.reshape(out.shape[1:]), indices[0]
    return out, indices


def avg_pool3d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``.

    Args:
        x: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool3d` (zero padding).
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window by this instead.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.avg_pool3d(cr.ones(1, 2, 4, 6, 6), 2).shape
        (1, 2, 2, 3, 3)
    """
    from chainrule.ops.pooling import avg_pool2d

    op = "avg_pool3d"
    x, kernel, stride, padding, _, out_depth, extra = _pool3d_args(
        x, kernel_size, stride, padding, 1, ceil_mode, op
    )
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, (int, np.integer))
        or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape(1, *x.shape)
    n, c, depth, h, w = x.shape
    taps = _depth_taps(x, kernel, stride, padding, (1, 1, 1), out_depth, extra, 0.0)
    sums = avg_pool2d(taps, kernel[1:], stride[1:], padding[1:], ceil_mode, True, 1)
    oh, ow = sums.shape[2:]
    sums = sums.reshape(n, c, kernel[0], out_depth, oh, ow).sum(axis=2)
    sizes = ((depth, h, w), kernel, stride, padding, (out_depth, oh, ow))
    # sizes alone decide it, so cr.compile's plan keeps it (compile_hooks.fixed)
    divisor = fixed(_avg_divisor3d, sizes, count_include_pad, divisor_override, x.dtype)
    out = sums / Tensor._make(divisor, False)
    return out.reshape(out.shape[1:]) if unbatched else out


def _avg_divisor3d(sizes, count_include_pad: bool, divisor_override, dtype) -> np.ndarray:
    """(OD, OH, OW): how many values each window of avg_pool3d averages."""
    from chainrule.ops.pooling import _avg_divisor

    if divisor_override is not None:
        return np.asarray(divisor_override, dtype)
    counts = [_avg_divisor(*per_axis, count_include_pad) for per_axis in zip(*sizes)]
    return np.multiply.outer(np.multiply.outer(counts[0], counts[1]), counts[2]).astype(dtype)
