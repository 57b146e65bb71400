"""ONNX converters for the later activations (``nn/activation_extra.py``): PReLU, Mish,
Hardswish, Hardsigmoid, Softsign, Tanhshrink, Threshold, GLU, Softmin and Softmax2d. Each is
one standard node or a few (Mish as Softplus, Tanh and Mul, as ONNX's own definition of it)."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx import float64_formulas
from chainrule.onnx.converters import _param, _softmax_axis, register_converter


@register_converter(nn.PReLU)
def _prelu(g, m, x, out):
    slope = _param(m.weight)
    if slope.size > 1:  # one slope per channel: (C, 1, ..., 1) broadcasts from dimension 1
        slope = slope.reshape(-1, *([1] * (x.array.ndim - 2)))
    if float64_formulas.is_float64(out):
        return float64_formulas.leaky(g, x.name, out.dtype, g.const(slope, "slope"))
    return g.add("PRelu", [x.name, g.const(slope, "slope")])


@register_converter(nn.Mish)
def _mish(g, m, x, out):
    if float64_formulas.is_float64(out):
        soft = float64_formulas.softplus(g, x.name, out.dtype)
    else:
        soft = g.add("Softplus", [x.name])
    return g.add("Mul", [x.name, g.add("Tanh", [soft])])


@register_converter(nn.Hardsigmoid)
def _hardsigmoid(g, m, x, out):
    if float64_formulas.is_float64(out):
        return float64_formulas.hardsigmoid(g, x.name, out.dtype)
    return g.add("HardSigmoid", [x.name], alpha=1 / 6, beta=0.5)


@register_converter(nn.Hardswish)
def _hardswish(g, m, x, out):
    if float64_formulas.is_float64(out):
        return g.add("Mul", [x.name, float64_formulas.hardsigmoid(g, x.name, out.dtype)])
    if g.opset >= 14:
        return g.add("HardSwish", [x.name])
    return g.add("Mul", [x.name, g.add("HardSigmoid", [x.name], alpha=1 / 6, beta=0.5)])


@register_converter(nn.Softsign)
def _softsign(g, m, x, out):
    if float64_formulas.is_float64(out):
        return float64_formulas.softsign(g, x.name, out.dtype)
    return g.add("Softsign", [x.name])


@register_converter(nn.Tanhshrink)
def _tanhshrink(g, m, x, out):
    return g.add("Sub", [x.name, g.add("Tanh", [x.name])])


@register_converter(nn.Threshold)
def _threshold(g, m, x, out):
    dtype = x.array.dtype
    replaced = g.add("LessOrEqual", [x.name, g.scalar(m.threshold, dtype, "threshold")])
    return g.add("Where", [replaced, g.scalar(m.value, dtype, "value"), x.name])


@register_converter(nn.GLU)
def _glu(g, m, x, out):
    ndim = x.array.ndim
    dim = m.dim % ndim
    half = x.array.shape[dim] // 2

    def part(start: int, stop: int) -> str:
        bounds = [
            g.const(np.array([v], np.int64), name) for v, name in ((start, "start"), (stop, "stop"))
        ]
        return g.add("Slice", [x.name, *bounds, g.const(np.array([dim], np.int64), "axis")])

    return g.add("Mul", [part(0, half), g.add("Sigmoid", [part(half, 2 * half)])])


@register_converter(nn.Softmin)
def _softmin(g, m, x, out):
    return g.add("Softmax", [g.add("Neg", [x.name])], axis=_softmax_axis(m, out))


@register_converter(nn.Softmax2d)
def _softmax2d(g, m, x, out):
    return g.add("Softmax", [x.name], axis=x.array.ndim - 3)  # the channels
