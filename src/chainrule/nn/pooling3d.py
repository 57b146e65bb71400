"""3-D pooling layers: MaxPool3d and AvgPool3d (PyTorch's arguments, defaults and reprs; the
2-D layers' checks and config, with the 3-D functions of ``ops/pooling3d.py``)."""

from __future__ import annotations

from chainrule.nn.pooling import AvgPool2d, MaxPool2d
from chainrule.ops.pooling3d import avg_pool3d, max_pool3d


class MaxPool3d(MaxPool2d):
    """Largest value of each (kD, kH, kW) window, per channel; the gradient flows to each
    window's first maximum in (depth, row, column) order, as in PyTorch.

    Arguments as :class:`MaxPool2d`, with ints or triples; ``return_indices`` gives the flat
    index d·H·W + h·W + w of each maximum.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → (N, C, OD, OH, OW),
        OD = ⌊(D + 2·padding − dilation·(kD − 1) − 1) / stride⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MaxPool3d(2)(cr.ones(2, 3, 8, 16, 16)).shape
        (2, 3, 4, 8, 8)
    """

    def forward(self, x):
        return max_pool3d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class AvgPool3d(AvgPool2d):
    """Mean of each (kD, kH, kW) window, per channel; arguments as :class:`AvgPool2d`, with
    ints or triples, and PyTorch's divisor rules.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → (N, C, OD, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool3d((1, 2, 2))(cr.ones(2, 3, 8, 16, 16)).shape
        (2, 3, 8, 8, 8)
    """

    def forward(self, x):
        return avg_pool3d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )
