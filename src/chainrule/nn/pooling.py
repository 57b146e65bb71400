"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d (PyTorch's arguments,
defaults and reprs; no parameters)."""

from __future__ import annotations

from chainrule.nn.module import Module
from chainrule.ops import conv as _conv


def _size_arg(value, name: str, layer: str, minimum: int, allow_none: bool = False):
    """An int or a tuple of ints, kept as given (lists become tuples) for the repr."""
    if isinstance(value, list):
        value = tuple(value)
    items = value if isinstance(value, tuple) else (value,)
    for v in items:
        if v is None and allow_none:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(
                f"{layer}: {name} must be an int >= {minimum} or a tuple, got {value!r}"
            )
    return value


def _as_list(value):
    return list(value) if isinstance(value, tuple) else value


class _Pool(Module):
    _max = True

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        layer = type(self).__name__
        self.kernel_size = _size_arg(kernel_size, "kernel_size", layer, 1)
        stride = None if stride == () or stride == [] else stride
        self.stride = self.kernel_size if stride is None else _size_arg(stride, "stride", layer, 1)
        self.padding = _size_arg(padding, "padding", layer, 0)
        self.dilation = _size_arg(dilation, "dilation", layer, 1)
        self.ceil_mode = bool(ceil_mode)

    def _config(self) -> dict:
        return {
            "kernel_size": _as_list(self.kernel_size),
            "stride": _as_list(self.stride),
            "padding": _as_list(self.padding),
            "ceil_mode": self.ceil_mode,
        }


class MaxPool2d(_Pool):
    """Largest value of each window, per channel; the gradient flows only to each window's
    arg-max.

    Args:
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows (default: ``kernel_size``).
        padding: −∞ padding on each side, at most half the kernel.
        dilation: spacing between window elements.
        return_indices: also return the flat index (h·W + w) of each maximum, as an int64
            tensor.
        ceil_mode: round the output size up instead of down.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, OH, OW),
        OH = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MaxPool2d(2)(cr.ones(4, 6, 28, 28)).shape
        (4, 6, 14, 14)
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, x):
        return _conv.max_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def _config(self) -> dict:
        config = super()._config()
        config.update(dilation=_as_list(self.dilation), return_indices=self.return_indices)
        return config


class MaxPool1d(MaxPool2d):
    """1-D max pooling over (N, C, L); arguments as :class:`MaxPool2d` with ints.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MaxPool1d(3, stride=2)(cr.ones(2, 4, 11)).shape
        (2, 4, 5)
    """

    def forward(self, x):
        return _conv.max_pool1d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class AvgPool2d(_Pool):
    """Mean of each window, per channel.

    Args:
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows (default: ``kernel_size``).
        padding: zero padding on each side, at most half the kernel.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padding zeros in each window's divisor.
        divisor_override: divide every window by this number instead.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, OH, OW), OH = ⌊(H + 2·padding − kH) / stride⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool2d(2)(cr.ones(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        if divisor_override is not None:
            _size_arg(divisor_override, "divisor_override", type(self).__name__, 1)
        self.divisor_override = divisor_override

    def forward(self, x):
        return _conv.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _config(self) -> dict:
        config = super()._config()
        config.update(
            count_include_pad=self.count_include_pad, divisor_override=self.divisor_override
        )
        return config


class AvgPool1d(_Pool):
    """1-D average pooling over (N, C, L); arguments as :class:`AvgPool2d` with ints.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool1d(2)(cr.ones(2, 4, 10)).shape
        (2, 4, 5)
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ):
        layer = "AvgPool1d"
        # PyTorch stores the 1-d sizes as 1-tuples, and its repr shows them so
        kernel_size = (_conv.single(kernel_size, "kernel_size", layer, 1),)
        stride = (
            None if stride is None or stride == () else (_conv.single(stride, "stride", layer, 1),)
        )
        padding = (_conv.single(padding, "padding", layer, 0),)
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        return _conv.avg_pool1d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _config(self) -> dict:
        config = super()._config()
        config["count_include_pad"] = self.count_include_pad
        return config


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input's size (PyTorch's windows
    [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)).

    Args:
        output_size: (OH, OW), one int for both, or ``None`` in a place to keep the input's size.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveAvgPool2d(1)(cr.ones(2, 16, 5, 5)).shape
        (2, 16, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _size_arg(output_size, "output_size", type(self).__name__, 1, True)

    def forward(self, x):
        return _conv.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def _config(self) -> dict:
        return {"output_size": _as_list(self.output_size)}


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Adaptive average pooling over (N, C, L) to ``output_size`` positions."""

    def forward(self, x):
        return _conv.adaptive_avg_pool1d(x, self.output_size)
