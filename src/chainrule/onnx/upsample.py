"""ONNX converter for ``nn.Upsample`` (and ``UpsamplingNearest2d`` / ``UpsamplingBilinear2d``):
one ``Resize`` node whose coordinate mode gives chainrule's (and PyTorch's) pixels.

PyTorch places output pixel i at input coordinate i·s (nearest), (i + ½)·s − ½ clamped at 0
(linear and cubic without align_corners), i·(in − 1)/(out − 1) (align_corners) or ⌊(i + ½)·s⌋
(nearest-exact), with s = 1/scale_factor when a scale factor is given, else in/out. ONNX's
``asymmetric``, ``half_pixel`` (ONNX Runtime clamps at the border as PyTorch does),
``align_corners`` and ``half_pixel`` with ``round_prefer_ceil`` are those formulas, with s the
reciprocal of ``scales``, or in/out when ``sizes`` is given.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import register_converter

_NEAREST = {
    "nearest": ("asymmetric", "floor"),
    "nearest-exact": ("half_pixel", "round_prefer_ceil"),
}
_INTERPOLATING = {
    "linear": "linear",
    "bilinear": "linear",
    "trilinear": "linear",
    "bicubic": "cubic",
}


def _resize_attributes(m) -> dict:
    if m.mode in _NEAREST:
        transform, rounding = _NEAREST[m.mode]
        return dict(mode="nearest", coordinate_transformation_mode=transform, nearest_mode=rounding)
    if m.mode in _INTERPOLATING:
        transform = "align_corners" if m.align_corners else "half_pixel"
        return dict(
            mode=_INTERPOLATING[m.mode],
            coordinate_transformation_mode=transform,
            cubic_coeff_a=-0.75,  # PyTorch's bicubic kernel
        )
    raise ValueError(
        f"Upsample(mode={m.mode!r}) has no ONNX export: ONNX's Resize has no area mode; use "
        f"nn.AdaptiveAvgPool2d for an integer down-scale"
    )


def _scale_factors(m, spatial: int) -> list | None:
    """The scale factors, one per spatial dimension (None with ``size``)."""
    if m.size is not None:
        return None
    factors = m.scale_factor
    return [float(f) for f in factors] if isinstance(factors, tuple) else [float(factors)] * spatial


def _nearest_shortcut(m, x, out, factors) -> bool:
    """chainrule's 4-D nearest copies each pixel out/in times when out is a multiple of in,
    whatever the scale factor says: where those differ, the sizes give its pixels."""
    if m.mode != "nearest" or x.ndim != 4:
        return False
    pairs = zip(x.shape[2:], out.shape[2:], factors)
    return any(o % i == 0 and o // i != f for i, o, f in pairs)


@register_converter(nn.Upsample)
def _upsample(g, m, x, out):
    if x.array.dtype != np.float32:
        raise ValueError(
            f"Upsample on {x.array.dtype} input has no ONNX export that ONNX Runtime runs (its "
            f"Resize kernel has no float64); convert the model and input to float32"
        )
    attributes = _resize_attributes(m)
    spatial = x.array.ndim - 2
    factors = _scale_factors(m, spatial)
    by_factor = factors is not None and not m.recompute_scale_factor
    if by_factor and not _nearest_shortcut(m, x.array, out, factors):
        scales = g.const(np.array([1.0, 1.0, *factors], np.float32), "scales")
        return g.add("Resize", [x.name, "", scales], **attributes)
    shape = g.add("Shape", [x.name])
    leading = g.add("Slice", [shape, g.ints([0]), g.ints([2]), g.ints([0])])  # N, C: free
    if m.size is None and m.recompute_scale_factor:  # ⌊size · factor⌋ of whatever comes in
        spatial = g.add("Slice", [shape, g.ints([2]), g.ints([x.array.ndim]), g.ints([0])])
        double, int64 = (int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(t))) for t in "dq")
        grown = g.add("Mul", [g.add("Cast", [spatial], to=double), g.const(np.array(factors))])
        spatial = g.add("Cast", [g.add("Floor", [grown])], to=int64)
    else:  # a fixed size, or the example's where chainrule's nearest shortcut holds
        spatial = g.ints(out.shape[2:], "sizes")
    sizes = g.add("Concat", [leading, spatial], axis=0)
    return g.add("Resize", [x.name, "", "", sizes], **attributes)
