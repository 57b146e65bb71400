"""More pooling layers: AdaptiveMaxPool1d/2d/3d, LPPool1d/2d/3d and MaxUnpool1d/2d/3d
(PyTorch's arguments, defaults and reprs; no parameters). The functions are in
``ops/pooling_adaptive_max.py``, ``ops/lp_pool.py`` and ``ops/unpool.py``."""

from __future__ import annotations

import math

from chainrule.nn.module import Module
from chainrule.nn.pooling import _as_list, _size_arg
from chainrule.ops.lp_pool import lp_pool1d, lp_pool2d, lp_pool3d
from chainrule.ops.pooling_adaptive_max import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
)
from chainrule.ops.unpool import _ints, max_unpool1d, max_unpool2d, max_unpool3d


class _AdaptiveMaxPoolNd(Module):
    _pool = staticmethod(adaptive_max_pool2d)

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        layer = type(self).__name__
        self.output_size = _size_arg(output_size, "output_size", layer, 0, layer[-2] != "1")
        self.return_indices = bool(return_indices)

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return self._pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def _config(self) -> dict:
        return {"output_size": _as_list(self.output_size), "return_indices": self.return_indices}


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling over (N, C, L) to ``output_size`` positions, whatever L (PyTorch's
    windows [⌊i·L/n⌋, ⌈(i+1)·L/n⌉)); the gradient flows to each window's first maximum.

    Args:
        output_size: the output length.
        return_indices: also return the index of each maximum (for :class:`MaxUnpool1d`).

    Shape:
        (N, C, L) or (C, L) → (N, C, output_size).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveMaxPool1d(4)(cr.ones(2, 3, 10)).shape
        (2, 3, 4)
    """

    _pool = staticmethod(adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (OH, OW), whatever the input's size; the gradient flows to each
    window's first maximum in row-major order.

    Args:
        output_size: (OH, OW), one int for both, or ``None`` in a place to keep that size.
        return_indices: also return the flat index h·W + w of each maximum.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, OH, OW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveMaxPool2d((2, None))(cr.ones(2, 3, 9, 7)).shape
        (2, 3, 2, 7)
    """

    _pool = staticmethod(adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of volumes to a fixed (OD, OH, OW); arguments as :class:`AdaptiveMaxPool2d`
    with triples.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveMaxPool3d(2)(cr.ones(1, 3, 5, 6, 7)).shape
        (1, 3, 2, 2, 2)
    """

    _pool = staticmethod(adaptive_max_pool3d)


class _LPPoolNd(Module):
    _pool = staticmethod(lp_pool2d)

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        layer = type(self).__name__
        if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)):
            raise TypeError(f"{layer}: norm_type must be a number, got {norm_type!r}")
        self.norm_type = norm_type
        self.kernel_size = _size_arg(kernel_size, "kernel_size", layer, 1)
        self.stride = None if stride is None else _size_arg(stride, "stride", layer, 1)
        self.ceil_mode = ceil_mode

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return self._pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )

    def _config(self) -> dict:
        p = self.norm_type
        return {  # JSON has no infinities: ±∞ as "inf" / "-inf"
            "norm_type": str(float(p)) if math.isinf(p) else p,
            "kernel_size": _as_list(self.kernel_size),
            "stride": _as_list(self.stride),
            "ceil_mode": bool(self.ceil_mode),
        }


class LPPool1d(_LPPoolNd):
    """Power-average pooling over (N, C, L): (Σ_window x^p)^(1/p) per window (p = ∞: max |x|).

    Args:
        norm_type: p.
        kernel_size: window length.
        stride: step between windows (default: ``kernel_size``).
        ceil_mode: keep a last, partial window.

    Shape:
        (N, C, L) or (C, L) → (N, C, ⌊(L − kernel_size) / stride⌋ + 1).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LPPool1d(2, 3, stride=2)(cr.ones(2, 4, 11)).shape
        (2, 4, 5)
    """

    _pool = staticmethod(lp_pool1d)


class LPPool2d(_LPPoolNd):
    """Power-average pooling over (N, C, H, W); arguments as :class:`LPPool1d`, the kernel an
    int or (kH, kW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LPPool2d(2, 2)(cr.ones(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    _pool = staticmethod(lp_pool2d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling over (N, C, D, H, W); arguments as :class:`LPPool1d`, the kernel an
    int or (kD, kH, kW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LPPool3d(2, 2)(cr.ones(1, 3, 4, 8, 8)).shape
        (1, 3, 2, 4, 4)
    """

    _pool = staticmethod(lp_pool3d)


class _MaxUnpoolNd(Module):
    _dims = 2
    _unpool = staticmethod(max_unpool2d)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        layer, dims = type(self).__name__, self._dims
        # PyTorch stores the sizes as tuples (its _single/_pair/_triple), and its repr shows them
        self.kernel_size = _ints(kernel_size, dims, "kernel_size", layer)
        self.stride = _ints(kernel_size if stride is None else stride, dims, "stride", layer)
        self.padding = _ints(padding, dims, "padding", layer)

    def forward(self, input, indices, output_size=None):  # noqa: A002 - PyTorch's name
        return self._unpool(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _config(self) -> dict:
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d`: zeros with each value put back at the index
    ``MaxPool1d(return_indices=True)`` gave it.

    Args:
        kernel_size, stride, padding: the max pooling's (stride: ``kernel_size``).

    Shape:
        input and indices (N, C, L) or (C, L) → (N, C, (L − 1)·stride − 2·padding +
        kernel_size), or ``output_size`` given to ``forward``.

    Example:
        >>> import chainrule as cr
        >>> pool, unpool = cr.nn.MaxPool1d(2, return_indices=True), cr.nn.MaxUnpool1d(2)
        >>> unpool(*pool(cr.tensor([[1.0, 3.0, 2.0, 0.0]]))).tolist()
        [[0.0, 3.0, 2.0, 0.0]]
    """

    _dims = 1
    _unpool = staticmethod(max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d`; arguments as :class:`MaxUnpool1d`, ints or
    pairs.

    Example:
        >>> import chainrule as cr
        >>> pool, unpool = cr.nn.MaxPool2d(2, return_indices=True), cr.nn.MaxUnpool2d(2)
        >>> unpool(*pool(cr.ones(1, 1, 4, 4))).shape
        (1, 1, 4, 4)
    """

    _dims = 2
    _unpool = staticmethod(max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool3d`; arguments as :class:`MaxUnpool1d`, ints or
    triples.

    Example:
        >>> import chainrule as cr
        >>> pool, unpool = cr.nn.MaxPool3d(2, return_indices=True), cr.nn.MaxUnpool3d(2)
        >>> unpool(*pool(cr.ones(1, 1, 4, 4, 4))).shape
        (1, 1, 4, 4, 4)
    """

    _dims = 3
    _unpool = staticmethod(max_unpool3d)


LAYERS = (
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
