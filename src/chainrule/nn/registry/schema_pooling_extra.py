"""The schemas of the pooling extras a saved architecture may name: AdaptiveMaxPool1d/2d/3d,
AdaptiveAvgPool3d (``nn/pooling_adaptive_avg3d.py``), FractionalMaxPool2d and 3d
(``nn/fractional_max_pool.py``, ``nn/fractional_max_pool3d.py``),
LPPool1d/2d/3d and MaxUnpool1d/2d/3d (``nn/pooling_extra.py``)."""

from __future__ import annotations

from chainrule.nn import pooling_extra as layers
from chainrule.nn.fractional_max_pool import FractionalMaxPool2d
from chainrule.nn.fractional_max_pool3d import FractionalMaxPool3d
from chainrule.nn.pooling_adaptive_avg3d import AdaptiveAvgPool3d
from chainrule.nn.registry.checks import _bool, _fail, _finite, _norm_order, _optional, _sizes

LAYERS: dict[str, tuple[type, dict]] = {}
REQUIRED: dict[str, tuple] = {}
for _dims in (1, 2, 3):
    _adaptive = getattr(layers, f"AdaptiveMaxPool{_dims}d")
    LAYERS[_adaptive.__name__] = (
        _adaptive,
        {"output_size": _sizes(0, allow_none=_dims > 1, most=_dims), "return_indices": _bool},
    )
    REQUIRED[_adaptive.__name__] = ("output_size",)
    _lp = getattr(layers, f"LPPool{_dims}d")
    LAYERS[_lp.__name__] = (
        _lp,
        {
            "norm_type": _norm_order,
            "kernel_size": _sizes(1, most=_dims),
            "stride": _optional(_sizes(1, most=_dims)),
            "ceil_mode": _bool,
        },
    )
    REQUIRED[_lp.__name__] = ("norm_type", "kernel_size")
    _unpool = getattr(layers, f"MaxUnpool{_dims}d")
    LAYERS[_unpool.__name__] = (
        _unpool,
        {
            "kernel_size": _sizes(0, most=_dims),
            "stride": _sizes(0, most=_dims),
            "padding": _sizes(0, most=_dims),
        },
    )
    REQUIRED[_unpool.__name__] = ("kernel_size",)

LAYERS["AdaptiveAvgPool3d"] = (
    AdaptiveAvgPool3d,
    {"output_size": _sizes(1, allow_none=True, most=3)},
)
REQUIRED["AdaptiveAvgPool3d"] = ("output_size",)


def _ratios(value, where):
    """A fractional pool's output_ratio: a number or a list of two, each in (0, 1)."""
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 2 or not all(0 < _finite(r, where) < 1 for r in items):
        raise _fail(where, f"expected a number or two in (0, 1), got {value!r}")
    return value


LAYERS["FractionalMaxPool2d"] = (
    FractionalMaxPool2d,
    {
        "kernel_size": _sizes(1),
        "output_size": _optional(_sizes(0)),
        "output_ratio": _optional(_ratios),
        "return_indices": _bool,
    },
)
REQUIRED["FractionalMaxPool2d"] = ("kernel_size",)


def _ratios3(value, where):
    """A 3-D fractional pool's output_ratio: a number or a list of three, each in (0, 1)."""
    items = value if isinstance(value, list) else [value]
    if len(items) not in (1, 3) or not all(0 < _finite(r, where) < 1 for r in items):
        raise _fail(where, f"expected a number or three in (0, 1), got {value!r}")
    return value


LAYERS["FractionalMaxPool3d"] = (
    FractionalMaxPool3d,
    {
        "kernel_size": _sizes(1, most=3),
        "output_size": _optional(_sizes(0, most=3)),
        "output_ratio": _optional(_ratios3),
        "return_indices": _bool,
    },
)
REQUIRED["FractionalMaxPool3d"] = ("kernel_size",)
