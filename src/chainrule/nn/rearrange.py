"""Layers that rearrange values without parameters: ``nn.PixelShuffle``, ``nn.PixelUnshuffle``,
``nn.ChannelShuffle``, ``nn.Unfold`` and ``nn.Fold`` (the functions are in ``ops/pixel_shuffle.py``
and ``ops/fold.py``)."""

from __future__ import annotations

from chainrule.nn._util import check_size
from chainrule.nn.module import Module
from chainrule.ops import fold as _fold
from chainrule.ops.pixel_shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle

__all__ = ["ChannelShuffle", "Fold", "PixelShuffle", "PixelUnshuffle", "Unfold"]


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r): each group of r² channels becomes an r × r block
    of pixels (sub-pixel convolution upsampling). No parameters.

    Args:
        upscale_factor: r, a positive integer.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PixelShuffle(3)(cr.ones(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = check_size(upscale_factor, "upscale_factor", "PixelShuffle", 1)

    def forward(self, x):
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"

    def _config(self) -> dict:
        return {"upscale_factor": self.upscale_factor}


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :class:`PixelShuffle`.

    Args:
        downscale_factor: r, a positive integer dividing the height and the width.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PixelUnshuffle(3)(cr.ones(1, 1, 12, 12)).shape
        (1, 9, 4, 4)
    """

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = check_size(
            downscale_factor, "downscale_factor", "PixelUnshuffle", 1
        )

    def forward(self, x):
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

    def _config(self) -> dict:
        return {"downscale_factor": self.downscale_factor}


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of channels (ShuffleNet): (N, C, *) → same, channel
    g·(C/groups) + k moved to k·groups + g.

    Args:
        groups: how many groups the C channels are split into (C divisible by it).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ChannelShuffle(2)(cr.arange(4.0).reshape(1, 4, 1)).reshape(-1).tolist()
        [0.0, 2.0, 1.0, 3.0]
    """

    def __init__(self, groups: int):
        super().__init__()
        self.groups = check_size(groups, "groups", "ChannelShuffle", 1)

    def forward(self, x):
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

    def _config(self) -> dict:
        return {"groups": self.groups}


def _as_config(value):
    """An int stays an int; a tuple or list is written as a JSON list."""
    return list(value) if isinstance(value, (tuple, list)) else value


class _Blocks(Module):
    """The block options that Unfold and Fold share, checked when built."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        _fold._options(type(self).__name__, kernel_size, dilation, padding, stride)
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )

    def _config(self) -> dict:
        names = ("kernel_size", "dilation", "padding", "stride")
        return {name: _as_config(getattr(self, name)) for name in names}


class Unfold(_Blocks):
    """Every sliding block of a batch of images as a column (im2col): (N, C, H, W) →
    (N, C·kh·kw, L), or (C, H, W) → (C·kh·kw, L); see :func:`chainrule.nn.functional.unfold`.

    Args:
        kernel_size, dilation, padding, stride: ints or (height, width) pairs, as a
            convolution's (kept as given, for PyTorch's repr).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Unfold(kernel_size=(2, 3))(cr.ones(2, 5, 3, 4)).shape
        (2, 30, 4)
    """

    def forward(self, x):
        return _fold.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(_Blocks):
    """Columns added back into images at their blocks, overlaps summed (col2im; the adjoint of
    :class:`Unfold`): (N, C·kh·kw, L) → (N, C, H, W), or (C·kh·kw, L) → (C, H, W); see
    :func:`chainrule.nn.functional.fold`.

    Args:
        output_size: (H, W), or an int for both.
        kernel_size, dilation, padding, stride: as :class:`Unfold`'s.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Fold(output_size=(4, 5), kernel_size=2)(cr.ones(1, 12, 12)).shape
        (1, 3, 4, 5)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        _fold._pair(output_size, "output_size", "Fold")
        self.output_size = output_size

    def forward(self, x):
        return _fold.fold(
            x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, {super().extra_repr()}"

    def _config(self) -> dict:
        return {"output_size": _as_config(self.output_size), **super()._config()}
