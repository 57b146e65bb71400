"""The 3-D convolution layers (PyTorch's ``nn.Conv3d`` and ``nn.ConvTranspose3d``: arguments,
parameter layout, initialisation and repr), over volumes such as video clips or medical scans."""

from __future__ import annotations

from chainrule._device import check_device
from chainrule.nn.conv import ConvTranspose2d, _ConvNd
from chainrule.ops.conv3d import conv3d
from chainrule.ops.conv_transpose3d import conv_transpose3d
from chainrule.random import Generator


class Conv3d(_ConvNd):
    """3-D convolution over an NCDHW batch: out = conv3d(x, W) + b.

    Args:
        in_channels, out_channels, groups, bias, padding_mode, dtype, generator: as
            :class:`Conv2d`.
        kernel_size: kernel depth, height and width, an int or a triple.
        stride, dilation: ints or triples.
        padding: an int, a triple, ``"valid"`` or ``"same"`` (stride 1).

    Shape:
        input (N, C_in, D, H, W) or (C_in, D, H, W) → (N, C_out, OD, OH, OW); ``weight`` is
        (C_out, C_in / groups, kD, kH, kW), ``bias`` (C_out,), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> conv = cr.nn.Conv3d(1, 4, 3, padding=1)
        >>> conv(cr.ones(2, 1, 8, 16, 16)).shape
        (2, 4, 8, 16, 16)
    """

    _dims = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
        generator: Generator | None = None,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype,
            generator,
        )

    def forward(self, x):
        weight = self.weight  # read once: a parametrized weight is computed at each read
        x, padding = self._mode_padded(self._input(x, weight))
        return conv3d(x, weight, self.bias, self.stride, padding, self.dilation, self.groups)


class ConvTranspose3d(ConvTranspose2d):
    """Transposed 3-D convolution over an NCDHW batch (the input-gradient of a Conv3d, used to
    upsample volumes); arguments as :class:`ConvTranspose2d`, sizes ints or triples.

    Shape:
        (N, C_in, D, H, W) or (C_in, D, H, W) → (N, C_out, OD, OH, OW), OD = (D − 1)·stride −
        2·padding + dilation·(kernel − 1) + output_padding + 1; ``weight`` is
        (C_in, C_out / groups, kD, kH, kW), ``bias`` (C_out,), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> up = cr.nn.ConvTranspose3d(8, 4, 2, stride=2)
        >>> up(cr.ones(1, 8, 3, 5, 5)).shape
        (1, 4, 6, 10, 10)
    """

    _dims = 3

    def forward(self, x, output_size=None):
        weight = self.weight  # read once: a parametrized weight is computed at each read
        x = self._input(x, weight)
        return conv_transpose3d(
            x,
            weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )
