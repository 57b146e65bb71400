"""The schemas of the later layers a saved architecture may name: PReLU and the other
activations of ``nn/activation_extra.py``, Bilinear, Conv3d, ConvTranspose3d, MaxPool3d and
AvgPool3d."""

from __future__ import annotations

from functools import partial

from chainrule.nn.activation_extra import (
    GLU,
    Hardsigmoid,
    Hardswish,
    Mish,
    PReLU,
    Softmax2d,
    Softmin,
    Softsign,
    Tanhshrink,
    Threshold,
)
from chainrule.nn.bilinear import Bilinear
from chainrule.nn.conv3d import Conv3d, ConvTranspose3d
from chainrule.nn.pooling3d import AvgPool3d, MaxPool3d
from chainrule.nn.registry.checks import (
    _bool,
    _conv_padding,
    _dim,
    _dim_or_none,
    _dtype,
    _finite,
    _optional,
    _positive_size,
    _size,
    _sizes,
)
from chainrule.nn.registry.schema_spatial import _CONV_ARGS, _CONV_REQUIRED

LAYERS: dict[str, tuple[type, dict]] = {
    "PReLU": (PReLU, {"num_parameters": _positive_size, "init": _finite, "dtype": _dtype}),
    "Mish": (Mish, {"inplace": _bool}),
    "Hardswish": (Hardswish, {"inplace": _bool}),
    "Hardsigmoid": (Hardsigmoid, {"inplace": _bool}),
    "Softsign": (Softsign, {}),
    "Tanhshrink": (Tanhshrink, {}),
    "Threshold": (Threshold, {"threshold": _finite, "value": _finite, "inplace": _bool}),
    "GLU": (GLU, {"dim": _dim}),
    "Softmin": (Softmin, {"dim": _dim_or_none}),
    "Softmax2d": (Softmax2d, {}),
    "Bilinear": (
        Bilinear,
        {
            "in1_features": _positive_size,
            "in2_features": _size,
            "out_features": _size,
            "bias": _bool,
            "dtype": _dtype,
        },
    ),
    "Conv3d": (
        Conv3d,
        {
            **_CONV_ARGS,
            "kernel_size": _sizes(1, most=3),
            "stride": _sizes(1, most=3),
            "padding": partial(_conv_padding, most=3),
            "dilation": _sizes(1, most=3),
        },
    ),
    "ConvTranspose3d": (
        ConvTranspose3d,
        {
            **_CONV_ARGS,
            "kernel_size": _sizes(1, most=3),
            "stride": _sizes(1, most=3),
            "padding": _sizes(0, most=3),
            "output_padding": _sizes(0, most=3),
            "dilation": _sizes(1, most=3),
        },
    ),
}

_POOL_ARGS = {
    "kernel_size": _sizes(1, most=3),
    "stride": _sizes(1, most=3),
    "padding": _sizes(0, most=3),
    "ceil_mode": _bool,
}
LAYERS["MaxPool3d"] = (
    MaxPool3d,
    {**_POOL_ARGS, "dilation": _sizes(1, most=3), "return_indices": _bool},
)
LAYERS["AvgPool3d"] = (
    AvgPool3d,
    {**_POOL_ARGS, "count_include_pad": _bool, "divisor_override": _optional(_positive_size)},
)

REQUIRED = {
    "MaxPool3d": ("kernel_size",),
    "AvgPool3d": ("kernel_size",),
    "Threshold": ("threshold", "value"),
    "Bilinear": ("in1_features", "in2_features", "out_features"),
    "Conv3d": _CONV_REQUIRED,
    "ConvTranspose3d": _CONV_REQUIRED,
}


def parameter_count(kind: str, args: dict) -> int:
    """How many numbers PReLU or Bilinear will allocate (Conv3d counts as the convolutions)."""
    if kind == "PReLU":
        return args.get("num_parameters", 1)
    if kind == "Bilinear":
        out = args.get("out_features", 0)
        weight = out * args.get("in1_features", 0) * args.get("in2_features", 0)
        return weight + (out if args.get("bias", True) else 0)
    return 0
