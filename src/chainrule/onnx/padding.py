"""Padding as ONNX nodes, PyTorch's way: negative sizes crop (a ``Slice``), then ``Pad`` in
``constant``, ``reflect`` or ``edge`` mode (PyTorch's ``replicate``); ``circular`` is a
``Slice`` of each end and a ``Concat``, at every opset (``Pad``'s ``wrap`` needs opset 19).
Used by the padding layers and by a convolution whose ``padding_mode`` is not ``zeros``."""

from __future__ import annotations

import numpy as np

_LAST = np.iinfo(np.int64).max  # Slice's "to the end"
_ONNX_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def torch_sides(padding, rank: int) -> tuple[list[int], list[int]]:
    """``F.pad``'s (left, right, top, bottom, ...) from the last dimension back, as one begin
    and one end size per axis of a rank-``rank`` tensor."""
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(padding) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = int(padding[2 * i]), int(padding[2 * i + 1])
    return begins, ends


def _slice(g, x: str, axis: int, start: int, stop: int) -> str:
    inputs = [x, g.ints([start], "starts"), g.ints([stop], "ends"), g.ints([axis], "axes")]
    return g.add("Slice", inputs)


def pad(g, x: str, dtype, begins: list[int], ends: list[int], mode: str, value=0.0) -> str:
    """``x`` padded by ``begins``/``ends`` per axis (negative: cropped) in PyTorch's ``mode``."""
    for axis, (begin, end) in enumerate(zip(begins, ends)):
        if begin < 0 or end < 0:
            x = _slice(g, x, axis, max(-begin, 0), end if end < 0 else _LAST)
    begins, ends = [max(b, 0) for b in begins], [max(e, 0) for e in ends]
    if not any(begins) and not any(ends):
        return g.add("Identity", [x])
    if mode == "circular":  # the last `begin` elements in front, the first `end` behind
        for axis, (begin, end) in enumerate(zip(begins, ends)):
            if begin or end:
                head = [_slice(g, x, axis, -begin, _LAST)] if begin else []
                tail = [_slice(g, x, axis, 0, end)] if end else []
                x = g.add("Concat", [*head, x, *tail], axis=axis)
        return x
    inputs = [x, g.ints(begins + ends, "pads")]
    if mode == "constant":
        inputs.append(g.scalar(value, dtype, "value"))
    return g.add("Pad", inputs, mode=_ONNX_MODES[mode])
