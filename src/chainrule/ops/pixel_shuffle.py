"""``F.pixel_shuffle``, ``F.pixel_unshuffle`` and ``F.channel_shuffle``: the same numbers in
another order (sub-pixel convolution, ESPCN; ShuffleNet's channel mixing).

Each is one op, as PyTorch's (``PixelShuffleBackward0``, ...), whose backward is the inverse
rearrangement: pixel_unshuffle for pixel_shuffle and the reverse, channel_shuffle with the other
factor of the channel count for channel_shuffle.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor

__all__ = ["channel_shuffle", "pixel_shuffle", "pixel_unshuffle"]


def _shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C·r², H, W) → (*, C, H·r, W·r): channel c·r² + i·r + j moves to pixel
    (h·r + i, w·r + j) of channel c."""
    *lead, c, h, w = x.shape
    blocks = x.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    order = (*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return blocks.transpose(order).reshape(*lead, c // (r * r), h * r, w * r)


def _unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`_shuffle`."""
    *lead, c, h, w = x.shape
    blocks = x.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    order = (*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return blocks.transpose(order).reshape(*lead, c * r * r, h // r, w // r)


def _channel_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, *) → (N, C, *): channel g·(C/groups) + k moves to k·groups + g."""
    n, c, *rest = x.shape
    return x.reshape(n, groups, c // groups, *rest).swapaxes(1, 2).reshape(x.shape)


class PixelShuffle(Function):
    """(*, C·r², H, W) → (*, C, H·r, W·r).  Local derivative: pixel_unshuffle (each value's
    gradient read back from where it moved)."""

    saves_inputs = False  # backward reads nothing but the factor
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "pixel_shuffle"
    formulas = ("pixel_unshuffle (the gradient moved back)",)

    def forward(self, x, factor):
        self.factor = factor
        return _shuffle(x, factor)

    def backward(self, grad):
        return (_unshuffle(grad, self.factor),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (PixelUnshuffle.apply(grad, factor=self.factor),)


class PixelUnshuffle(Function):
    """(*, C, H·r, W·r) → (*, C·r², H, W).  Local derivative: pixel_shuffle."""

    saves_inputs = False
    saves_tensors = False
    label = "pixel_unshuffle"
    formulas = ("pixel_shuffle (the gradient moved back)",)

    def forward(self, x, factor):
        self.factor = factor
        return _unshuffle(x, factor)

    def backward(self, grad):
        return (_shuffle(grad, self.factor),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (PixelShuffle.apply(grad, factor=self.factor),)


class ChannelShuffle(Function):
    """Channels (N, g·k, *) read as a (g, k) grid and transposed.  Local derivative: the
    transpose back (channel_shuffle with k groups)."""

    saves_inputs = False
    saves_tensors = False
    label = "channel_shuffle"
    formulas = ("channel_shuffle with C/groups groups (the gradient moved back)",)

    def forward(self, x, groups):
        self.back = x.shape[1] // groups
        return _channel_shuffle(x, groups)

    def backward(self, grad):
        return (_channel_shuffle(grad, self.back),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (ChannelShuffle.apply(grad, groups=self.back),)


def _factor(value, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    if value < 1:
        raise ArgumentError(f"{op} expects a positive {name}, but got {value}")
    return int(value)


def _at_least_3d(x: Tensor, op: str) -> None:
    if x.ndim < 3:
        raise ShapeError(
            f"{op} expects input to have at least 3 dimensions, but got input with {x.ndim} "
            f"dimension(s) (shape {x.shape}); the last three are (C, H, W)"
        )


def pixel_shuffle(input, upscale_factor: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """PyTorch's ``F.pixel_shuffle``: trade channels for resolution, (*, C·r², H, W) →
    (*, C, H·r, W·r) with r = ``upscale_factor`` (each group of r² channels becomes an r × r
    block of pixels). Any number of leading dimensions.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.pixel_shuffle(cr.ones(1, 8, 3, 4), 2).shape
        (1, 2, 6, 8)
    """
    x = operand(input)
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    _at_least_3d(x, "pixel_shuffle")
    if x.shape[-3] % (r * r):
        raise ShapeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={x.shape[-3]} is not divisible by "
            f"{r * r}"
        )
    return PixelShuffle.apply(x, factor=r)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """PyTorch's ``F.pixel_unshuffle``, the inverse of :func:`pixel_shuffle`: (*, C, H·r, W·r)
    → (*, C·r², H, W) with r = ``downscale_factor``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.pixel_unshuffle(cr.ones(1, 2, 6, 8), 2).shape
        (1, 8, 3, 4)
    """
    x = operand(input)
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    _at_least_3d(x, "pixel_unshuffle")
    for name, dim in (("height", -2), ("width", -1)):
        if x.shape[dim] % r:
            raise ShapeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({dim})={x.shape[dim]} is not divisible by {r}"
            )
    return PixelUnshuffle.apply(x, factor=r)


def channel_shuffle(input, groups: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """PyTorch's ``F.channel_shuffle`` (ShuffleNet): split the C channels of (N, C, *) into
    ``groups`` groups and interleave them, so channel g·(C/groups) + k moves to k·groups + g.

    Example:
        >>> import chainrule as cr
        >>> x = cr.arange(4.0).reshape(1, 4, 1)
        >>> cr.nn.functional.channel_shuffle(x, 2).reshape(-1).tolist()
        [0.0, 2.0, 1.0, 3.0]
    """
    x = operand(input)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"channel_shuffle(): argument 'groups' must be int, not {groups!r}")
    if groups < 1:
        raise ArgumentError(
            f"channel_shuffle: number of groups to divide channels in must be positive, got "
            f"groups={groups}"
        )
    if x.ndim <= 2:
        raise ShapeError(
            f"channel_shuffle expects input with > 2 dims (N, C, *), but got input with sizes "
            f"{list(x.shape)}"
        )
    if x.shape[1] % groups:
        raise ShapeError(
            f"channel_shuffle: number of channels must be divisible by groups. Got "
            f"{x.shape[1]} channels and {groups} groups."
        )
    return ChannelShuffle.apply(x, groups=int(groups))
