"""ONNX converters for the pooling layers of ``nn/pooling_extra.py``.

AdaptiveMaxPool1d/2d/3d: ``GlobalMaxPool`` where every output size is 1, ``MaxPool`` with
fixed windows where each input size is a multiple of its output size (PyTorch's adaptive
windows are then exactly those), else one Slice and ReduceMax per window and axis (the
windows differ in length). LPPool1d/2d/3d: ``LpPool`` where it
is exact (an even integer p, no partial window), else PyTorch's own construction,
(K · avg_pool(x^p))^(1/p) with K the kernel's cell count (a partial ``ceil_mode`` window
averages only its cells inside the input); p = ±∞ is max pooling of |x|. MaxUnpool takes the
indices of a MaxPool, which an exported graph cannot pass between layers: refused.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import (
    REFUSED,
    _drop_window_in_padding,
    _ints,
    register_converter,
)

_DIMS = {
    nn.AdaptiveMaxPool1d: 1,
    nn.AdaptiveMaxPool2d: 2,
    nn.AdaptiveMaxPool3d: 3,
    nn.LPPool1d: 1,
    nn.LPPool2d: 2,
    nn.LPPool3d: 3,
}


def _dims(m) -> int:
    return next(n for cls, n in _DIMS.items() if isinstance(m, cls))


def _batched(g, x, n: int, pool) -> str:
    """``pool(name)`` on x, given a batch dimension for the ONNX pool when x has none
    (PyTorch's unbatched (C, *spatial) input)."""
    if x.array.ndim == n + 2:
        return pool(x.name)
    axis = g.ints([0], "axis")
    return g.add("Squeeze", [pool(g.add("Unsqueeze", [x.name, axis])), axis])


@register_converter(nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
def _adaptive_max_pool(g, m, x, out):
    n = _dims(m)
    sizes, outs = x.array.shape[-n:], out.shape[-n:]
    if all(o == 1 for o in outs):
        if out.dtype == np.float32:
            return _batched(g, x, n, lambda y: g.add("GlobalMaxPool", [y]))
        # ONNX Runtime's GlobalMaxPool is float32 only
        return _batched(g, x, n, lambda y: g.reduce("ReduceMax", y, range(2, n + 2)))
    if any(s % o for s, o in zip(sizes, outs)):
        return _batched(g, x, n, lambda y: _adaptive_by_axis(g, y, sizes, outs))
    kernel = [s // o for s, o in zip(sizes, outs)]
    return _batched(g, x, n, lambda y: g.add("MaxPool", [y], kernel_shape=kernel, strides=kernel))


def _adaptive_by_axis(g, y: str, sizes, outs) -> str:
    """Adaptive max pooling one spatial axis after another (a window is a product of one
    interval per axis, and the max of maxes is the max): PyTorch's windows
    [⌊i·L/n⌋, ⌈(i+1)·L/n⌉) as a Slice and a ReduceMax each, concatenated."""
    for axis, (size, n_out) in enumerate(zip(sizes, outs), start=2):
        if size == n_out:
            continue
        parts = []
        for i in range(n_out):
            start, stop = i * size // n_out, -(-(i + 1) * size // n_out)
            bounds = [g.ints([start], "start"), g.ints([stop], "stop"), g.ints([axis], "axis")]
            parts.append(g.reduce("ReduceMax", g.add("Slice", [y, *bounds]), [axis]))
        y = parts[0] if n_out == 1 else g.add("Concat", parts, axis=axis)
    return y


@register_converter(nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
def _lp_pool(g, m, x, out):
    n = _dims(m)
    kernel = _ints(m.kernel_size, n)
    stride = kernel if m.stride is None else _ints(m.stride, n)
    p = float(m.norm_type)
    dtype = out.dtype
    options = {"kernel_shape": kernel, "strides": stride, "ceil_mode": int(bool(m.ceil_mode))}
    # _drop_window_in_padding reads the layer's padding (none here) and ceil_mode
    window = SimpleNamespace(ceil_mode=bool(m.ceil_mode), padding=0)
    spatial = x.array.shape[-n:]
    floor_sizes = [(size - k) // s + 1 for size, k, s in zip(spatial, kernel, stride)]
    partial = list(out.shape[-n:]) != floor_sizes

    def pool(y: str) -> str:
        batched = SimpleNamespace(array=np.empty((1, 1, *spatial)))
        like = np.empty((1, 1, *out.shape[-n:]))
        if math.isinf(p):  # PyTorch: max pooling of |x| (of −|x|, negated, for −∞)
            y = g.add("Abs", [y])
            y = y if p > 0 else g.add("Neg", [y])
            y = g.add("MaxPool", [y], **options)
            y = _drop_window_in_padding(g, y, window, batched, like, kernel, stride, [1] * n)
            return y if p > 0 else g.add("Neg", [y])
        single = dtype == np.float32  # ONNX Runtime's LpPool and AveragePool: float32 only
        if single and p.is_integer() and p >= 2 and p % 2 == 0 and not partial:
            # ONNX's LpPool: (Σ |x|^p)^(1/p), the same as PyTorch's sum for an even p
            return g.add("LpPool", [y], kernel_shape=kernel, strides=stride, p=int(p))
        powered = g.add("Pow", [y, g.scalar(p, dtype, "norm_type")])
        if not single:
            total = _window_sums(g, powered, spatial, kernel, stride, out.shape[-n:], dtype)
        else:
            mean = g.add("AveragePool", [powered], count_include_pad=0, **options)
            mean = _drop_window_in_padding(g, mean, window, batched, like, kernel, stride, [1] * n)
            total = g.add("Mul", [mean, g.scalar(math.prod(kernel), dtype, "cells")])
        return g.add("Pow", [total, g.scalar(1.0 / p, dtype, "root")])

    return _batched(g, x, n, pool)


def _window_sums(g, y: str, spatial, kernel, stride, outs, dtype) -> str:
    """K · (the window's mean over its cells inside the input), per window, from one strided
    Slice per kernel cell, added (any dtype; a partial window reads zeros past the end)."""
    n = len(kernel)
    ends = [(o - 1) * s + k for o, s, k in zip(outs, stride, kernel)]
    extra = [max(0, end - size) for end, size in zip(ends, spatial)]
    if any(extra):
        y = g.add("Pad", [y, g.ints([0] * (n + 2) + [0, 0] + extra, "pads")])
    axes, steps = g.ints(range(2, 2 + n), "axes"), g.ints(stride, "steps")
    total = None
    for cell in itertools.product(*(range(k) for k in kernel)):
        stop = [c + (o - 1) * s + 1 for c, o, s in zip(cell, outs, stride)]
        part = g.add("Slice", [y, g.ints(cell, "starts"), g.ints(stop, "ends"), axes, steps])
        total = part if total is None else g.add("Add", [total, part])
    # PyTorch's K / (cells inside the input): 1 but for a partial window
    inside = [
        np.minimum(k, size - np.arange(o) * s)
        for o, s, k, size in zip(outs, stride, kernel, spatial)
    ]
    counts = np.ones(outs)
    for axis, cells in enumerate(inside):
        counts = counts * cells.reshape([-1 if a == axis else 1 for a in range(n)])
    if np.all(counts == math.prod(kernel)):
        return total
    scale = (math.prod(kernel) / counts).astype(dtype)
    return g.add("Mul", [total, g.const(scale, "scale")])


_UNPOOL = (
    "it takes the indices of a MaxPool(return_indices=True) as a second input, and ONNX's "
    "MaxUnpool numbers them across the whole tensor where PyTorch numbers them per channel; "
    "chainrule has no ONNX export for it. Export the layers before and after it as separate "
    "models, or replace unpooling with nn.Upsample"
)
for _cls in (nn.MaxUnpool1d, nn.MaxUnpool2d, nn.MaxUnpool3d):
    REFUSED[_cls] = _UNPOOL
