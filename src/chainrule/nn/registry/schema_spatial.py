"""The schemas of the spatial layers a saved architecture may name: convolutions, pooling,
BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm, LocalResponseNorm, upsampling and padding."""

from __future__ import annotations

from chainrule.nn import normalization_instance as group_norms
from chainrule.nn import padding as padding_layers

# isort: split
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.local_response_norm import LocalResponseNorm
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.registry.checks import (
    _bool,
    _choice,
    _conv_padding,
    _dim,
    _dtype,
    _finite,
    _optional,
    _pad_sizes,
    _positive,
    _positive_size,
    _probability,
    _sizes,
    _unflattened,
    _upsample_scale,
    _upsample_size,
)
from chainrule.nn.registry.schema_dense import LAYERS as DENSE
from chainrule.nn.spatial import BatchNorm2d, BatchNorm3d, Dropout2d, Unflatten
from chainrule.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

_CONV_ARGS = {
    "in_channels": _positive_size,
    "out_channels": _positive_size,
    "kernel_size": _sizes(1),
    "stride": _sizes(1),
    "padding": _conv_padding,
    "dilation": _sizes(1),
    "groups": _positive_size,
    "bias": _bool,
    "padding_mode": _choice("zeros", "reflect", "replicate", "circular"),
    "dtype": _dtype,
}
_TRANSPOSED_ARGS = {**_CONV_ARGS, "padding": _sizes(0), "output_padding": _sizes(0)}
_POOL_ARGS = {
    "kernel_size": _sizes(1),
    "stride": _sizes(1),
    "padding": _sizes(0),
    "ceil_mode": _bool,
}
LAYERS: dict[str, tuple[type, dict]] = (
    {
        "Conv1d": (Conv1d, _CONV_ARGS),
        "Conv2d": (Conv2d, _CONV_ARGS),
        "ConvTranspose1d": (ConvTranspose1d, _TRANSPOSED_ARGS),
        "ConvTranspose2d": (ConvTranspose2d, _TRANSPOSED_ARGS),
        "MaxPool1d": (
            MaxPool1d,
            {**_POOL_ARGS, "dilation": _sizes(1), "return_indices": _bool},
        ),
        "MaxPool2d": (
            MaxPool2d,
            {**_POOL_ARGS, "dilation": _sizes(1), "return_indices": _bool},
        ),
        "AvgPool1d": (AvgPool1d, {**_POOL_ARGS, "count_include_pad": _bool}),
        "AvgPool2d": (
            AvgPool2d,
            {
                **_POOL_ARGS,
                "count_include_pad": _bool,
                "divisor_override": _optional(_positive_size),
            },
        ),
        "AdaptiveAvgPool1d": (AdaptiveAvgPool1d, {"output_size": _sizes(1)}),
        "AdaptiveAvgPool2d": (AdaptiveAvgPool2d, {"output_size": _sizes(1, allow_none=True)}),
        "BatchNorm2d": (BatchNorm2d, DENSE["BatchNorm1d"][1]),
        "BatchNorm3d": (BatchNorm3d, DENSE["BatchNorm1d"][1]),
        "Dropout2d": (Dropout2d, {"p": _probability, "inplace": _bool}),
        "Unflatten": (Unflatten, {"dim": _dim, "unflattened_size": _unflattened}),
        "GroupNorm": (
            group_norms.GroupNorm,
            {"num_groups": _positive_size, "num_channels": _positive_size}
            | {"eps": _positive, "affine": _bool, "bias": _bool, "dtype": _dtype},
        ),
        "LocalResponseNorm": (
            LocalResponseNorm,
            {"size": _positive_size} | dict.fromkeys(("alpha", "beta", "k"), _finite),
        ),
    }
    # InstanceNorm takes BatchNorm's arguments, with other defaults
    | {n.__name__: (n, DENSE["BatchNorm1d"][1]) for n in group_norms.INSTANCE_NORMS}
)

_UPSAMPLE_ARGS = {"size": _upsample_size, "scale_factor": _upsample_scale}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
LAYERS.update(
    {
        "Upsample": (
            Upsample,
            {
                **_UPSAMPLE_ARGS,
                "mode": _choice(*_MODES),
                "align_corners": _optional(_bool),
                "recompute_scale_factor": _optional(_bool),
            },
        ),
        "UpsamplingNearest2d": (UpsamplingNearest2d, _UPSAMPLE_ARGS),
        "UpsamplingBilinear2d": (UpsamplingBilinear2d, _UPSAMPLE_ARGS),
    }
)

for _layer in padding_layers.LAYERS:  # ZeroPad2d, ConstantPad1d, ReflectionPad2d, ...
    _args = {"padding": _pad_sizes}
    if "value" in _layer._config_args:
        _args["value"] = _finite
    LAYERS[_layer.__name__] = (_layer, _args)
_CONV_REQUIRED = ("in_channels", "out_channels", "kernel_size")

REQUIRED = {
    "Conv1d": _CONV_REQUIRED,
    "Conv2d": _CONV_REQUIRED,
    "ConvTranspose1d": _CONV_REQUIRED,
    "ConvTranspose2d": _CONV_REQUIRED,
    "MaxPool1d": ("kernel_size",),
    "MaxPool2d": ("kernel_size",),
    "AvgPool1d": ("kernel_size",),
    "AvgPool2d": ("kernel_size",),
    "AdaptiveAvgPool1d": ("output_size",),
    "AdaptiveAvgPool2d": ("output_size",),
    "BatchNorm2d": ("num_features",),
    "BatchNorm3d": ("num_features",),
    "GroupNorm": ("num_groups", "num_channels"),
    "LocalResponseNorm": ("size",),
    **{n.__name__: ("num_features",) for n in group_norms.INSTANCE_NORMS},
    "Unflatten": ("dim", "unflattened_size"),
}
REQUIRED.update({layer.__name__: layer._config_args for layer in padding_layers.LAYERS})
