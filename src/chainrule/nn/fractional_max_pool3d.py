"""``nn.FractionalMaxPool3d``: 3-D fractional max pooling as a layer (the function is
``ops/fractional_max_pool3d.py``; the 2-D layer is ``nn/fractional_max_pool.py``)."""

from __future__ import annotations

from chainrule.nn.fractional_max_pool import _FractionalMaxPoolNd
from chainrule.ops.fractional_max_pool3d import fractional_max_pool3d


class FractionalMaxPool3d(_FractionalMaxPoolNd):
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

    _dims = 3
    _function = staticmethod(fractional_max_pool3d)
