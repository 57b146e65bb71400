"""``nn.FractionalMaxPool3d``: 3-D fractional max pooling as a layer (the function is
``ops/fractional_max_pool3d.py``; the 2-D layer is ``nn/fractional_max_pool.py``)."""

from __future__ import annotations

from chainrule.nn.module import Module
from chainrule.nn.pooling import _as_list, _size_arg
from chainrule.ops.fractional_max_pool3d import fractional_max_pool3d


def _triple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value, value)


class FractionalMaxPool3d(Module):
    """Max pooling over kT×kH×kW windows at pseudo-random, overlapping offsets (new ones each
    call, from chainrule's generator) that shrink the input to ``output_size`` or
    ``output_ratio`` of it.

    Args:
        kernel_size: the window, an int or (kT, kH, kW).
        output_size: (OT, OH, OW) or an int for all three; or instead
        output_ratio: a number or triple in (0, 1).
        return_indices: also return the flat index t·H·W + h·W + w of each maximum.
        _random_samples: fixed (N, C, 3) samples (a buffer, as PyTorch's), for repeatable
            offsets.

    Shape:
        (N, C, T, H, W) or (C, T, H, W) → (N, C, OT, OH, OW) or (C, OT, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.FractionalMaxPool3d(2, output_ratio=0.5)(cr.ones(2, 3, 6, 8, 10)).shape
        (2, 3, 3, 4, 5)
    """

    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices: bool = False,
        _random_samples=None,
    ):
        super().__init__()
        layer = type(self).__name__
        self.kernel_size = _triple(_size_arg(kernel_size, "kernel_size", layer, 1))
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        if output_size is not None:
            output_size = _triple(_size_arg(output_size, "output_size", layer, 0))
        self.output_size = output_size
        self.output_ratio = _triple(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{layer} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return fractional_max_pool3d(
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
