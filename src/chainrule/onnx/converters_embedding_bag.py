"""ONNX converter for ``nn.EmbeddingBag`` with a 2-D input (B bags of L ids): ``Gather`` of
the rows, then ``ReduceSum``, ``ReduceMean`` or ``ReduceMax`` over each bag. ``padding_idx``
ids are left out of their bag (``Where``), the mean divides by the ids kept, and a bag of only
padding gives zeros, as chainrule's and PyTorch's. ``per_sample_weights`` (mode ``'sum'``) is a
second graph input. A 1-D input with ``offsets`` (bags of different lengths) is refused."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.nn.embedding import renorm_array_
from chainrule.onnx.converters import _as_dtype, _param, register_converter


def _reduce_sum(g, x: str, axis: int) -> str:
    # ReduceSum takes its axes as an input from opset 13, the oldest chainrule exports
    return g.add("ReduceSum", [x, g.ints([axis], "axes")], keepdims=0)


@register_converter(nn.EmbeddingBag)
def _embedding_bag(g, m, call, out):
    ids = call["input"]
    if call.get("offsets") is not None or ids.array.ndim != 2:
        raise ValueError(
            "a 1-D input with offsets (bags of different lengths) has no ONNX export in "
            "chainrule; pad the bags to one length with padding_idx and give a 2-D input "
            "(bags, length)"
        )
    table = _param(m.weight).copy()
    if m.max_norm is not None:  # each row as it stands once looked up: renormalised
        renorm_array_(table, np.arange(len(table)), m.max_norm, m.norm_type)
    dtype = table.dtype
    rows = g.add("Gather", [g.const(table, "weight"), ids.name], axis=0)  # (B, L, D)
    weights = call.get("per_sample_weights")
    if weights is not None:  # mode 'sum' only (chainrule refused the others already)
        scale = g.add("Unsqueeze", [_as_dtype(g, weights, dtype), g.ints([2], "axis")])
        rows = g.add("Mul", [rows, scale])
    if m.padding_idx is None:
        if m.mode == "sum":
            return _reduce_sum(g, rows, 1)
        return g.reduce("ReduceMean" if m.mode == "mean" else "ReduceMax", rows, [1], False)
    padding = g.add("Equal", [ids.name, g.const(np.array(m.padding_idx, np.int64), "padding")])
    padding = g.add("Unsqueeze", [padding, g.ints([2], "axis")])  # (B, L, 1)
    zero = g.scalar(0.0, dtype, "zero")
    kept = g.add("Cast", [g.add("Not", [padding])], to=_onnx_type(g, dtype))
    count = _reduce_sum(g, kept, 1)  # (B, 1): ids kept per bag
    if m.mode == "max":
        lowest = g.scalar(-np.inf, dtype, "lowest")
        largest = g.reduce("ReduceMax", g.add("Where", [padding, lowest, rows]), [1], False)
        empty = g.add("Equal", [count, zero])
        return g.add("Where", [empty, zero, largest])
    total = _reduce_sum(g, g.add("Where", [padding, zero, rows]), 1)
    if m.mode == "sum":
        return total
    return g.add("Div", [total, g.add("Max", [count, g.scalar(1.0, dtype, "one")])])


def _onnx_type(g, dtype) -> int:
    return int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


_embedding_bag.takes_call = True  # input, offsets and per_sample_weights, by name
