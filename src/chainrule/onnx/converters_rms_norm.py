"""ONNX converter for ``nn.RMSNorm``: ``RMSNormalization`` from opset 23, where ONNX has it;
below, PyTorch's construction, x · 1/√(mean(x²) + eps) · γ, from Mul, ReduceMean, Add, Sqrt,
Reciprocal. ``eps=None`` is the machine epsilon of the layer's dtype, as chainrule's."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import _as_dtype, _param, register_converter


@register_converter(nn.RMSNorm)
def _rms_norm(g, m, x, out):
    dtype = out.dtype
    k = len(m.normalized_shape)
    eps = float(np.finfo(dtype).eps) if m.eps is None else float(m.eps)
    xin = _as_dtype(g, x, dtype)
    weight = None if m.weight is None else g.const(_param(m.weight), "weight")
    if g.opset >= 23:
        scale = weight or g.const(np.ones(m.normalized_shape, dtype), "scale")
        stash = int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
        return g.add("RMSNormalization", [xin, scale], axis=-k, epsilon=eps, stash_type=stash)
    axes = range(x.array.ndim - k, x.array.ndim)
    mean_square = g.reduce_mean(g.add("Mul", [xin, xin]), axes)
    rms = g.add("Sqrt", [g.add("Add", [mean_square, g.scalar(eps, dtype, "eps")])])
    y = g.add("Mul", [xin, g.add("Reciprocal", [rms])])
    return y if weight is None else g.add("Mul", [y, weight])
