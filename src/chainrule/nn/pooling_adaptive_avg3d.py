"""``nn.AdaptiveAvgPool3d``: average pooling of volumes to a fixed output size (the function
is ``ops/pooling_adaptive_avg3d.py``)."""

from __future__ import annotations

from chainrule.nn.pooling import AdaptiveAvgPool2d
from chainrule.ops.pooling_adaptive_avg3d import adaptive_avg_pool3d


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling of volumes to a fixed output size, whatever the input's size.

    Args:
        output_size: (OD, OH, OW), one int for all, or ``None`` in a place to keep the
            input's size.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → (N, C, OD, OH, OW) or (C, OD, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveAvgPool3d((1, None, 2))(cr.ones(2, 3, 4, 5, 6)).shape
        (2, 3, 1, 5, 2)
    """

    def forward(self, x):
        return adaptive_avg_pool3d(x, self.output_size)
