"""ONNX converters for the rearranging layers of ``nn/rearrange.py``: PixelShuffle (one
``DepthToSpace`` in CRD mode for (N, C·r², H, W)), PixelUnshuffle and ChannelShuffle
(Reshape, Transpose, Reshape: ONNX's ``SpaceToDepth`` orders the channels block-first, PyTorch's
pixel_unshuffle channel-first), Unfold (a strided ``Slice`` per kernel cell, stacked: exact,
no multiplication, any image size) and Fold (``Col2Im`` from opset 18 in float32; below that,
or in float64, which ONNX Runtime's Col2Im lacks, the same sums from Slice, Pad and Add)."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import register_converter
from chainrule.ops.fold import _pair


def _rearrange(g, x: str, keep: int, split, perm, merged) -> str:
    """Reshape the dimensions after the first ``keep`` to ``split``, permute those by ``perm``
    (counted from ``keep``), reshape them to ``merged``; the first ``keep`` (the batch among
    them) are copied as they come (Reshape's 0). The channel count is left to the graph (0 or
    −1 in ``split`` and ``merged``), so an unbatched input's channels may vary too."""
    lead = [0] * keep
    y = g.add("Reshape", [x, g.ints(lead + list(split), "shape")])
    y = g.add("Transpose", [y], perm=list(range(keep)) + [keep + p for p in perm])
    return g.add("Reshape", [y, g.ints(lead + list(merged), "shape")])


@register_converter(nn.PixelShuffle)
def _pixel_shuffle(g, m, x, out):
    r = m.upscale_factor
    if x.array.ndim == 4:  # CRD: output channel c takes input channels c·r² … c·r² + r² − 1
        return g.add("DepthToSpace", [x.name], blocksize=r, mode="CRD")
    if x.array.ndim == 3:  # one image: given a batch of one for DepthToSpace
        axis = g.ints([0], "axis")
        y = g.add("DepthToSpace", [g.add("Unsqueeze", [x.name, axis])], blocksize=r, mode="CRD")
        return g.add("Squeeze", [y, axis])
    h, w = x.array.shape[-2], x.array.shape[-1]
    keep = x.array.ndim - 3
    return _rearrange(g, x.name, keep, (-1, r, r, h, w), (0, 3, 1, 4, 2), (-1, h * r, w * r))


@register_converter(nn.PixelUnshuffle)
def _pixel_unshuffle(g, m, x, out):
    # (C, H·r, W·r) → (C, H, r, W, r) → (C, r, r, H, W): output channel c·r² + i·r + j, as
    # PyTorch's; ONNX's SpaceToDepth would give (i·r + j)·C + c
    r = m.downscale_factor
    h, w = out.shape[-2], out.shape[-1]
    keep = x.array.ndim - 3
    return _rearrange(g, x.name, keep, (0, h, r, w, r), (0, 2, 4, 1, 3), (-1, h, w))


@register_converter(nn.ChannelShuffle)
def _channel_shuffle(g, m, x, out):
    # (N, C, *) → (N, groups, C/groups, positions) → swap the two → the input's shape
    split = g.ints([0, m.groups, x.array.shape[1] // m.groups, -1], "shape")
    y = g.add("Transpose", [g.add("Reshape", [x.name, split])], perm=[0, 2, 1, 3])
    return g.add("Reshape", [y, g.add("Shape", [x.name])])


@register_converter(nn.Unfold)
def _unfold(g, m, x, out):
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (
        _pair(getattr(m, name), name, "Unfold")
        for name in ("kernel_size", "dilation", "padding", "stride")
    )
    ndim = x.array.ndim  # (N, C, H, W) or (C, H, W)
    y = x.name
    if ph or pw:
        pads = np.zeros(2 * ndim, np.int64)
        pads[[ndim - 2, ndim - 1, 2 * ndim - 2, 2 * ndim - 1]] = ph, pw, ph, pw
        y = g.add("Pad", [y, g.const(pads, "pads")])
    axes = g.ints([ndim - 2, ndim - 1], "axes")
    steps = g.ints([sh, sw], "steps")
    cells = []
    for i in range(kh):  # the block's rows, then its columns: PyTorch's column order
        for j in range(kw):
            # each cell stops (kernel − 1 − i)·dilation before the end: OH values, whatever
            # the image's size (the graph takes other sizes, as chainrule's unfold)
            ends = [_before_end((kh - 1 - i) * dh), _before_end((kw - 1 - j) * dw)]
            starts = g.ints((i * dh, j * dw), "starts")
            cell = g.add("Slice", [y, starts, g.ints(ends, "ends"), axes, steps])
            cells.append(g.add("Unsqueeze", [cell, g.ints([ndim - 2], "axis")]))
    stacked = cells[0] if len(cells) == 1 else g.add("Concat", cells, axis=ndim - 2)
    # (…, C, kh·kw, OH, OW) → (…, C·kh·kw, OH·OW)
    if ndim == 3:
        return g.add("Flatten", [stacked], axis=2)
    c = x.array.shape[1]
    return g.add("Reshape", [stacked, g.ints([0, c * kh * kw, -1], "shape")])


def _before_end(count: int) -> int:
    """Slice's end ``count`` before the axis' end (INT64_MAX for the very end)."""
    return -count if count else np.iinfo(np.int64).max


def _blocks(size, kernel, dilation, padding, stride) -> tuple[int, int]:
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)
    )


@register_converter(nn.Fold)
def _fold(g, m, x, out):
    kernel, dilation, padding, stride = (
        _pair(getattr(m, name), name, "Fold")
        for name in ("kernel_size", "dilation", "padding", "stride")
    )
    size = _pair(m.output_size, "output_size", "Fold")
    y = x.name
    unbatched = x.array.ndim == 2  # (C·kh·kw, L): both ways below take a batch
    if unbatched:
        y = g.add("Unsqueeze", [y, g.ints([0], "axis")])
    if g.opset >= 18 and out.dtype == np.float32:  # ONNX Runtime's Col2Im: float32 only
        y = g.add(
            "Col2Im",
            [y, g.ints(size, "image_shape"), g.ints(kernel, "block_shape")],
            pads=[*padding, *padding],
            dilations=list(dilation),
            strides=list(stride),
        )
    else:
        y = _fold_by_cells(g, y, size, kernel, dilation, padding, stride)
    return g.add("Squeeze", [y, g.ints([0], "axis")]) if unbatched else y


def _fold_by_cells(g, y: str, size, kernel, dilation, padding, stride) -> str:
    """Col2Im from standard nodes (any opset, any dtype): each kernel cell's (OH, OW) values
    spread ``stride`` apart (zeros between), padded to their offset in the padded image, all
    cells added, the padding cut off."""
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = _blocks(size, kernel, dilation, padding, stride)
    # (N, C·kh·kw, OH·OW) → (N, C, kh, kw, OH, 1, OW, 1), zeros after each value → stride apart
    if sh > 1 or sw > 1:
        y = g.add("Reshape", [y, g.ints([0, -1, kh, kw, oh, 1, ow, 1], "shape")])
        y = g.add("Pad", [y, g.ints([0] * 8 + [0, 0, 0, 0, 0, sh - 1, 0, sw - 1], "pads")])
    y = g.add("Reshape", [y, g.ints([0, -1, kh, kw, oh * sh, ow * sw], "shape")])
    span = ((oh - 1) * sh + 1, (ow - 1) * sw + 1)
    if span != (oh * sh, ow * sw):  # no zeros after the last value
        y = g.add("Slice", [y, g.ints([0, 0], "starts"), g.ints(span, "ends"), g.ints([4, 5])])
    height, width = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    total = None
    for i in range(kh):
        for j in range(kw):
            cell = g.add(
                "Slice",
                [y, g.ints([i, j], "starts"), g.ints([i + 1, j + 1], "ends"), g.ints([2, 3])],
            )
            cell = g.add("Reshape", [cell, g.ints([0, 0, *span], "shape")])  # (N, C, ·, ·)
            top, left = i * dilation[0], j * dilation[1]
            ends = (height - top - span[0], width - left - span[1])
            cell = g.add("Pad", [cell, g.ints([0, 0, top, left, 0, 0, *ends], "pads")])
            total = cell if total is None else g.add("Add", [total, cell])
    if not any(padding):
        return total
    starts, stops = list(padding), [padding[0] + size[0], padding[1] + size[1]]
    return g.add("Slice", [total, g.ints(starts, "starts"), g.ints(stops, "ends"), g.ints([2, 3])])
