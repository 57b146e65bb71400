"""ONNX converters for the fifteen padding layers of ``nn/padding.py`` (Zero, Constant,
Reflection, Replication and Circular, 1-, 2- and 3-D): one ``Pad`` node, or ``Slice`` and
``Concat`` for circular padding, as :mod:`chainrule.onnx.padding` builds them."""

from __future__ import annotations

from chainrule.nn import padding as layers
from chainrule.onnx import padding
from chainrule.onnx.converters import register_converter


@register_converter(*layers.LAYERS)
def _pad(g, m, x, out):
    begins, ends = padding.torch_sides(m.padding, x.array.ndim)
    value = getattr(m, "value", 0.0)
    return padding.pad(g, x.name, out.dtype, begins, ends, m.mode, value)
