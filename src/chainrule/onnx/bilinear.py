"""ONNX converter for ``nn.Bilinear``: two graph inputs (``cr.onnx.export(m, path, (x1, x2))``),
y[..., o] = Σᵢⱼ x1[..., i] · W[o, i, j] · x2[..., j] + b[o] as one ``Einsum``
(``...i,oij,...j->...o``, opset 12 and later) and an ``Add`` for the bias."""

from __future__ import annotations

from chainrule import nn
from chainrule.onnx.converters import _as_dtype, _param, register_converter


@register_converter(nn.Bilinear)
def _bilinear(g, m, call, out):
    dtype = m.weight.array.dtype
    x1, x2 = (_as_dtype(g, call[name], dtype) for name in ("input1", "input2"))
    weight = g.const(_param(m.weight), "weight")
    y = g.add("Einsum", [x1, weight, x2], equation="...i,oij,...j->...o")
    if m.bias is None:
        return y
    return g.add("Add", [y, g.const(_param(m.bias), "bias")])


_bilinear.takes_call = True  # input1 and input2, by name
# each input's batch axis: its first, when it has one beside the features
_bilinear.batch_axes = lambda m, arrays: {
    name: (0 if array.ndim > 1 else None) for name, array in arrays.items()
}
