"""ONNX converters for CELU, SELU, RReLU, Hardshrink and Softshrink (``nn/activation_more.py``)
and the dropouts of ``nn/dropout_variants.py``. An exported model is in evaluation mode, so
RReLU is a leaky ReLU with slope (lower + upper)/2 and every dropout is the identity.

In float64 the layers are written as formulas with float64 constants: ONNX's ``Celu`` is
float32 only, ONNX Runtime has no float64 ``Selu`` and computes ``Shrink`` through float32, and
node attributes (``LeakyRelu``'s alpha) are float32, so the single nodes would fail or round."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx import float64_formulas
from chainrule.onnx.converters import register_converter
from chainrule.ops.activation_more import SELU_ALPHA, SELU_SCALE


def _float64(out) -> bool:
    return out.dtype == np.float64


@register_converter(nn.CELU)
def _celu(g, m, x, out):
    if _float64(out):
        alpha = float(m.alpha)
        return float64_formulas.elu(g, x.name, out.dtype, alpha, 1.0, 1.0 / alpha)
    return g.add("Celu", [x.name], alpha=float(m.alpha))  # (ONNX opset 12 on; exports: 13 on)


@register_converter(nn.SELU)
def _selu(g, m, x, out):
    if _float64(out):
        return float64_formulas.elu(g, x.name, out.dtype, SELU_ALPHA, SELU_SCALE, 1.0)
    return g.add("Selu", [x.name], alpha=SELU_ALPHA, gamma=SELU_SCALE)


@register_converter(nn.RReLU)
def _rrelu(g, m, x, out):
    slope = (m.lower + m.upper) / 2
    if _float64(out):  # x where x > 0 (NaN too), else slope · x
        scaled = g.add("Mul", [x.name, g.scalar(slope, out.dtype, "slope")])
        negative = g.add("LessOrEqual", [x.name, g.scalar(0.0, out.dtype, "zero")])
        return g.add("Where", [negative, scaled, x.name])
    return g.add("LeakyRelu", [x.name], alpha=slope)


def _zeroed(g, x, dtype, lambd):
    """Whether −λ ≤ x ≤ λ (false for NaN)."""
    low = g.add("GreaterOrEqual", [x, g.scalar(-lambd, dtype, "low")])
    return g.add("And", [low, g.add("LessOrEqual", [x, g.scalar(lambd, dtype, "high")])])


@register_converter(nn.Hardshrink)
def _hardshrink(g, m, x, out):
    if _float64(out):
        zeroed = _zeroed(g, x.name, out.dtype, float(m.lambd))
        return g.add("Where", [zeroed, g.scalar(0.0, out.dtype, "zero"), x.name])
    return g.add("Shrink", [x.name], lambd=float(m.lambd), bias=0.0)


@register_converter(nn.Softshrink)
def _softshrink(g, m, x, out):
    if _float64(out):  # x − λ above λ, x + λ below −λ, 0 between (NaN stays NaN)
        lambd, dtype = float(m.lambd), out.dtype
        zeroed = _zeroed(g, x.name, dtype, lambd)
        shift = g.add("Mul", [g.add("Sign", [x.name]), g.scalar(lambd, dtype, "lambd")])
        moved = g.add("Sub", [x.name, shift])
        return g.add("Where", [zeroed, g.scalar(0.0, dtype, "zero"), moved])
    return g.add("Shrink", [x.name], lambd=float(m.lambd), bias=float(m.lambd))


@register_converter(nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
def _identity(g, m, x, out):
    return g.add("Identity", [x.name])  # dropout is the identity in evaluation mode
