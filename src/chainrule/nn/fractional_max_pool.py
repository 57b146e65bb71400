"""``nn.FractionalMaxPool2d``: fractional max pooling as a layer (the function is
``ops/fractional_max_pool.py``), and the base the 3-D layer shares (``fractional_max_pool3d``)."""

from __future__ import annotations

from chainrule.nn.module import Module
from chainrule.nn.pooling import _as_list, _size_arg
from chainrule.ops.fractional_max_pool import fractional_max_pool2d


def _repeat(value, dims: int) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims


class _FractionalMaxPoolNd(Module):
    """The 2-D and 3-D layers' arguments, checks and call (subclasses set the two below)."""

    _dims = 2
    _function = staticmethod(fractional_max_pool2d)

    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices: bool = False,
        _random_samples=None,
    ):
        super().__init__()
        layer, dims = type(self).__name__, self._dims
        self.kernel_size = _repeat(_size_arg(kernel_size, "kernel_size", layer, 1), dims)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        if output_size is not None:
            output_size = _repeat(_size_arg(output_size, "output_size", layer, 0), dims)
        self.output_size = output_size
        self.output_ratio = _repeat(output_ratio, dims) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{layer} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return self._function(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )

    def _config(self) -> dict:
        return {
            "kernel_size": _as_list(self.kernel_size),
            "output_size": _as_list(self.output_size),
            "output_ratio": _as_list(self.output_ratio),
            "return_indices": bool(self.return_indices),
        }


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Max pooling over kH×kW windows at pseudo-random, overlapping offsets (new ones each
    call, from chainrule's generator) that shrink the input to ``output_size`` or
    ``output_ratio`` of it.

    Args:
        kernel_size: the window, an int or (kH, kW).
        output_size: (OH, OW) or an int for both; or instead
        output_ratio: a number or pair in (0, 1).
        return_indices: also return the flat index h·W + w of each maximum.
        _random_samples: fixed (N, C, 2) samples (a buffer, as PyTorch's), for repeatable
            offsets.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, OH, OW) or (C, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.FractionalMaxPool2d(3, output_ratio=0.5)(cr.ones(2, 4, 10, 12)).shape
        (2, 4, 5, 6)
    """
