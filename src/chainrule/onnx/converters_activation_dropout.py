"""ONNX converters for CELU, SELU, RReLU, Hardshrink and Softshrink (``nn/activation_more.py``)
and the dropouts of ``nn/dropout_variants.py``. An exported model is in evaluation mode, so
RReLU is a leaky ReLU with slope (lower + upper)/2 and every dropout is the identity."""

from __future__ import annotations

from chainrule import nn
from chainrule.onnx.converters import register_converter
from chainrule.ops.activation_more import SELU_ALPHA, SELU_SCALE


@register_converter(nn.CELU)
def _celu(g, m, x, out):
    return g.add("Celu", [x.name], alpha=float(m.alpha))  # (ONNX opset 12 on; exports: 13 on)


@register_converter(nn.SELU)
def _selu(g, m, x, out):
    return g.add("Selu", [x.name], alpha=SELU_ALPHA, gamma=SELU_SCALE)


@register_converter(nn.RReLU)
def _rrelu(g, m, x, out):
    return g.add("LeakyRelu", [x.name], alpha=(m.lower + m.upper) / 2)


@register_converter(nn.Hardshrink)
def _hardshrink(g, m, x, out):
    return g.add("Shrink", [x.name], lambd=float(m.lambd), bias=0.0)


@register_converter(nn.Softshrink)
def _softshrink(g, m, x, out):
    return g.add("Shrink", [x.name], lambd=float(m.lambd), bias=float(m.lambd))


@register_converter(nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
def _identity(g, m, x, out):
    return g.add("Identity", [x.name])  # dropout is the identity in evaluation mode
