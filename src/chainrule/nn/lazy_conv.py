"""Lazy convolutions, as PyTorch's: ``in_channels`` is read from the first input.

``nn.LazyConv2d(16, 3)`` is a :class:`~chainrule.nn.Conv2d` whose weight is empty until the
first call; that call gives the weight its shape and PyTorch's initial values, in place (so an
optimizer made before it updates them), and turns the layer into a ``Conv2d``, as PyTorch's
``cls_to_become``: its repr, ``type()`` and ``cr.save`` then say ``Conv2d``. Likewise
``LazyConv1d``, ``LazyConv3d`` and ``LazyConvTranspose1d/2d/3d``.
"""

from __future__ import annotations

import numpy as np

from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.conv3d import Conv3d, ConvTranspose3d
from chainrule.tensor import Tensor


class _LazyConv:
    """The shared part: build as the real layer with a stand-in channel count, empty the
    parameters, and on the first call shape them from the input's channels."""

    cls_to_become: type = Conv2d

    def __init__(self, out_channels: int, kernel_size, *args, generator=None, **kwargs):
        # out_channels stands in for in_channels: every check of the real layer passes with it
        self.cls_to_become.__init__(self, out_channels, out_channels, kernel_size, *args, **kwargs)
        dtype = self.weight.array.dtype
        self.in_channels = 0
        self.weight.array = np.empty((0,), dtype)
        if self.bias is not None:
            self.bias.array = np.empty((0,), dtype)
        self._generator = generator

    def has_uninitialized_params(self) -> bool:
        return self.in_channels == 0

    def reset_parameters(self, generator=None) -> None:
        """Nothing to draw before the shape is known (the shaped layer draws its own)."""

    def forward(self, x, *args, **kwargs):
        self._initialize(x)  # the first call: after it the layer is a Conv2d (or its kind)
        return self.forward(x, *args, **kwargs)

    def _initialize(self, x) -> None:
        name, n = type(self).__name__, self._dims
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if len(shape) not in (n + 1, n + 2):
            raise RuntimeError(
                f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, but got "
                f"input of size: {tuple(shape)}"
            )
        channels = int(shape[1] if len(shape) == n + 2 else shape[0])
        if channels % self.groups:
            raise ValueError(
                f"{name}: in_channels must be divisible by groups (the input has {channels} "
                f"channels, groups={self.groups})"
            )
        self.in_channels = channels
        dtype, k = self.weight.array.dtype, self.kernel_size
        if self._transposed:
            shape = (channels, self.out_channels // self.groups, *k)
        else:
            shape = (self.out_channels, channels // self.groups, *k)
        self.weight.array = np.empty(shape, dtype)
        if self.bias is not None:
            self.bias.array = np.empty((self.out_channels,), dtype)
        generator = self._generator
        self.__class__ = self.cls_to_become  # a Conv2d from now on, as PyTorch's
        del self._generator
        self.reset_parameters(generator)


class LazyConv1d(_LazyConv, Conv1d):
    """:class:`Conv1d` with ``in_channels`` read from the first input
    (``LazyConv1d(out_channels, kernel_size, ...)``)."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """:class:`Conv2d` with ``in_channels`` read from the first input.

    Example:
        >>> import chainrule as cr
        >>> conv = cr.nn.LazyConv2d(8, 3)
        >>> conv(cr.ones(2, 5, 6, 6)).shape, conv
        ((2, 8, 4, 4), Conv2d(5, 8, kernel_size=(3, 3), stride=(1, 1)))
    """

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """:class:`Conv3d` with ``in_channels`` read from the first input."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConv, ConvTranspose1d):
    """:class:`ConvTranspose1d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConv, ConvTranspose2d):
    """:class:`ConvTranspose2d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConv, ConvTranspose3d):
    """:class:`ConvTranspose3d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose3d
