"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (PyTorch's names,
parameter layouts, initialisation and reprs, so state_dicts move between the two unchanged)."""

from __future__ import annotations

import math

import numpy as np

from chainrule._device import check_device
from chainrule.nn import init
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.ops import conv as _conv
from chainrule.ops.indexing import pad as _pad
from chainrule.random import Generator

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n: int, name: str, layer: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{layer}: {name} must be an int or a {n}-tuple, got {value!r}")
        values = tuple(value)
    else:
        values = (value,) * n
    return tuple(check_size(v, name, layer, minimum) for v in values)


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, parameters, init, repr, config."""

    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        dtype=None,
        generator: Generator | None = None,
        output_padding=0,
    ):
        super().__init__()
        layer, n = type(self).__name__, self._dims
        self.in_channels = check_size(in_channels, "in_channels", layer, 1)
        self.out_channels = check_size(out_channels, "out_channels", layer, 1)
        self.groups = check_size(groups, "groups", layer, 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{layer}: groups={groups} must divide in_channels ({in_channels}) and "
                f"out_channels ({out_channels})"
            )
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", layer, 1)
        self.stride = _tuple(stride, n, "stride", layer, 1)
        self.dilation = _tuple(dilation, n, "dilation", layer, 1)
        self.output_padding = _tuple(output_padding, n, "output_padding", layer, 0)
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                allowed = "an int or a tuple" if self._transposed else "an int, 'same' or 'valid'"
                raise ValueError(f"{layer}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{layer}: padding='same' is not supported for strided convolutions"
                )
            self.padding = padding
        else:
            self.padding = _tuple(padding, n, "padding", layer, 0)
        modes = ("zeros",) if self._transposed else _PADDING_MODES
        if padding_mode not in modes:
            raise ValueError(f"{layer}: padding_mode must be one of {modes}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = float_dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def _mode_padded(self, x):
        """``x`` and the padding left for the convolution: a ``padding_mode`` other than zeros
        pads first with ``F.pad``'s mode (PyTorch's order of sizes), then convolves unpadded."""
        if self.padding_mode == "zeros" or self.padding == "valid":
            return x, self.padding
        if self.padding == "same":  # the odd one out goes after, as PyTorch's
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        sizes = [size for pair in reversed(pairs) for size in pair]
        return _pad(x, sizes, mode=self.padding_mode), (0,) * self._dims

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh initial weights: PyTorch's Kaiming-uniform with a = √5, i.e. W and b
        uniform in ±1/√fan_in, fan_in = weight.shape[1] · kernel area."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            shape = self.weight.array.shape
            fan_in = shape[1] * math.prod(shape[2:])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        zeros = (0,) * self._dims
        if self.padding != zeros:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _config(self) -> dict:
        config = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "padding_mode": self.padding_mode,
            "dtype": str(self.weight.array.dtype),
        }
        if self._transposed:
            config["output_padding"] = list(self.output_padding)
        return config

    def _input(self, x, weight):
        return as_input(x, weight.array.dtype, type(self).__name__)


class Conv2d(_ConvNd):
    """2-D convolution over an NCHW batch: out = conv2d(x, W) + b.

    Args:
        in_channels: C_in, channels of the input image.
        out_channels: C_out, number of kernels (channels produced).
        kernel_size: kernel height and width, an int or a pair.
        stride: step between windows.
        padding: zeros on each side, an int, a pair, ``"valid"`` or ``"same"``.
        dilation: spacing between kernel elements.
        groups: independent channel groups (``groups=in_channels`` is a depthwise convolution).
        bias: learn one additive bias per output channel.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"`` (the
            input padded by ``F.pad`` in that mode first, as PyTorch).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape:
        input (N, C_in, H, W) or (C_in, H, W) → (N, C_out, OH, OW) with
        OH = ⌊(H + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1. ``weight`` is
        (C_out, C_in / groups, kH, kW), ``bias`` (C_out,), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> conv = cr.nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(cr.ones(4, 1, 28, 28)).shape
        (4, 6, 28, 28)
    """

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
        return _conv.conv2d(
            x,
            weight,
            self.bias,
            self.stride,
            padding,
            self.dilation,
            self.groups,
        )


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L), e.g. a signal or a sequence of feature vectors.

    Arguments as :class:`Conv2d`, with ints (or 1-tuples) for the sizes.

    Shape:
        input (N, C_in, L) or (C_in, L) → (N, C_out, L_out); ``weight`` is
        (C_out, C_in / groups, k).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Conv1d(3, 8, 5, padding="same")(cr.ones(2, 3, 50)).shape
        (2, 8, 50)
    """

    _dims = 1

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
        padding = padding if isinstance(padding, str) else padding[0]
        return _conv.conv1d(
            x,
            weight,
            self.bias,
            self.stride[0],
            padding,
            self.dilation[0],
            self.groups,
        )


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the input-gradient of a convolution, used to upsample).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups, bias, dilation,
        padding_mode, dtype, generator: as :class:`Conv2d` (``padding`` numbers only).
        output_padding: extra rows/columns added on one side of the output, smaller than the
            stride or the dilation.

    Shape:
        (N, C_in, H, W) → (N, C_out, OH, OW), OH = (H − 1)·stride − 2·padding +
        dilation·(kernel − 1) + output_padding + 1. ``weight`` is (C_in, C_out / groups, kH, kW).

    Example:
        >>> import chainrule as cr
        >>> up = cr.nn.ConvTranspose2d(8, 4, 2, stride=2)
        >>> up(cr.ones(1, 8, 7, 7)).shape
        (1, 4, 14, 14)
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
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
            output_padding,
        )
        for o, s, d in zip(self.output_padding, self.stride, self.dilation):
            if o >= max(s, d):
                raise ValueError(
                    f"{type(self).__name__}: output_padding {self.output_padding} must be smaller "
                    f"than the stride {self.stride} or the dilation {self.dilation}"
                )

    def _output_padding(self, x, output_size) -> tuple[int, ...]:
        """The output padding that gives ``output_size`` (the spatial sizes, or with the batch
        and channels in front), as PyTorch's ``output_size=`` argument: a strided layer has
        ``stride`` possible sizes, e.g. the size of the skip connection a U-Net adds to."""
        if output_size is None:
            return self.output_padding
        n, name = self._dims, type(self).__name__
        front = x.ndim - n  # batch and channels, or channels alone
        sizes = list(output_size)
        if len(sizes) == front + n:
            sizes = sizes[front:]
        if len(sizes) != n:
            raise ValueError(
                f"{name}: for {x.ndim}D input, output_size must have {n} or {front + n} "
                f"elements (got {len(sizes)})"
            )
        low = [
            (size - 1) * s - 2 * p + d * (k - 1) + 1
            for size, s, p, d, k in zip(
                x.shape[front:], self.stride, self.padding, self.dilation, self.kernel_size
            )
        ]
        high = [m + s - 1 for m, s in zip(low, self.stride)]
        if any(not lo <= int(size) <= hi for size, lo, hi in zip(sizes, low, high)):
            raise ValueError(
                f"{name}: requested an output size of {list(output_size)}, but valid sizes "
                f"range from {low} to {high} (for an input of {tuple(x.shape[front:])})"
            )
        return tuple(int(size) - lo for size, lo in zip(sizes, low))

    def forward(self, x, output_size=None):
        weight = self.weight  # read once: a parametrized weight is computed at each read
        x = self._input(x, weight)
        return _conv.conv_transpose2d(
            x,
            weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution over (N, C_in, L); arguments as :class:`ConvTranspose2d`.

    Shape: ``weight`` is (C_in, C_out / groups, k).
    """

    _dims = 1

    def forward(self, x, output_size=None):
        weight = self.weight  # read once: a parametrized weight is computed at each read
        x = self._input(x, weight)
        return _conv.conv_transpose1d(
            x,
            weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )
