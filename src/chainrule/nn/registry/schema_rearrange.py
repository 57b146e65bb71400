"""The schemas of RMSNorm and the rearranging layers a saved architecture may name:
PixelShuffle, PixelUnshuffle, ChannelShuffle, Unfold and Fold."""

from __future__ import annotations

import math

from chainrule.nn.rearrange import ChannelShuffle, Fold, PixelShuffle, PixelUnshuffle, Unfold
from chainrule.nn.registry.checks import (
    _bool,
    _dtype,
    _optional,
    _positive,
    _positive_size,
    _shape,
    _sizes,
)
from chainrule.nn.rms_norm import RMSNorm


def _pair_sizes(minimum: int):
    """An int, or a list of two read back as the tuple it was written from (PyTorch's repr)."""
    check = _sizes(minimum)

    def sizes(value, where):
        value = check(value, where)
        return tuple(value) if isinstance(value, list) else value

    return sizes


_BLOCKS = {
    "kernel_size": _pair_sizes(1),
    "dilation": _pair_sizes(1),
    "padding": _pair_sizes(0),
    "stride": _pair_sizes(1),
}

LAYERS: dict[str, tuple[type, dict]] = {
    "RMSNorm": (
        RMSNorm,
        {
            "normalized_shape": _shape,
            "eps": _optional(_positive),
            "elementwise_affine": _bool,
            "dtype": _dtype,
        },
    ),
    "PixelShuffle": (PixelShuffle, {"upscale_factor": _positive_size}),
    "PixelUnshuffle": (PixelUnshuffle, {"downscale_factor": _positive_size}),
    "ChannelShuffle": (ChannelShuffle, {"groups": _positive_size}),
    "Unfold": (Unfold, _BLOCKS),
    "Fold": (Fold, {"output_size": _pair_sizes(1), **_BLOCKS}),
}

REQUIRED = {
    "RMSNorm": ("normalized_shape",),
    "PixelShuffle": ("upscale_factor",),
    "PixelUnshuffle": ("downscale_factor",),
    "ChannelShuffle": ("groups",),
    "Unfold": ("kernel_size",),
    "Fold": ("output_size", "kernel_size"),
}


def parameter_count(kind: str, args: dict) -> int:
    """How many numbers RMSNorm will allocate (its weight, when affine); the others hold none."""
    if kind == "RMSNorm" and args.get("elementwise_affine", True):
        return math.prod(args.get("normalized_shape", [1]))
    return 0
