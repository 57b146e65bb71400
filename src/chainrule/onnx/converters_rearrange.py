"""ONNX converters for the rearranging layers of ``nn/rearrange.py``: PixelShuffle (one
``DepthToSpace`` in CRD mode for (N, C·r², H, W)), PixelUnshuffle and ChannelShuffle
(Reshape, Transpose, Reshape: ONNX's ``SpaceToDepth`` orders the channels block-first, PyTorch's
pixel_unshuffle channel-first), Unfold (a ``Slice`` per kernel cell, stacked: exact, no
multiplication) and Fold (``Col2Im``, which ONNX has from opset 18)."""

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
    rest = list(x.array.shape[2:])
    perm = (1, 0, *range(2, 2 + len(rest)))
    return _rearrange(g, x.name, 1, (m.groups, -1, *rest), perm, (-1, *rest))


@register_converter(nn.Unfold)
def _unfold(g, m, x, out):
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (
        _pair(getattr(m, name), name, "Unfold")
        for name in ("kernel_size", "dilation", "padding", "stride")
    )
    ndim = x.array.ndim  # (N, C, H, W) or (C, H, W)
    oh, ow = _blocks(x.array.shape[-2:], (kh, kw), (dh, dw), (ph, pw), (sh, sw))
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
            starts = (i * dh, j * dw)
            ends = (starts[0] + (oh - 1) * sh + 1, starts[1] + (ow - 1) * sw + 1)
            cell = g.add("Slice", [y, g.ints(starts, "starts"), g.ints(ends, "ends"), axes, steps])
            cells.append(g.add("Unsqueeze", [cell, g.ints([ndim - 2], "axis")]))
    stacked = cells[0] if len(cells) == 1 else g.add("Concat", cells, axis=ndim - 2)
    # (…, C, kh·kw, OH, OW) → (…, C·kh·kw, OH·OW)
    return g.add("Reshape", [stacked, g.ints([0] * (ndim - 3) + [-1, oh * ow], "shape")])


def _blocks(size, kernel, dilation, padding, stride) -> tuple[int, int]:
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)
    )


@register_converter(nn.Fold)
def _fold(g, m, x, out):
    if g.opset < 18:
        raise ValueError(
            f"Fold becomes ONNX's Col2Im, which exists from opset 18; export with opset=18 or "
            f"later (this export asked for {g.opset})"
        )
    options = {
        attr: list(_pair(getattr(m, name), name, "Fold"))
        for attr, name in (("dilations", "dilation"), ("strides", "stride"))
    }
    ph, pw = _pair(m.padding, "padding", "Fold")
    y = x.name
    unbatched = x.array.ndim == 2  # (C·kh·kw, L): Col2Im takes a batch
    if unbatched:
        y = g.add("Unsqueeze", [y, g.ints([0], "axis")])
    image = g.ints(_pair(m.output_size, "output_size", "Fold"), "image_shape")
    block = g.ints(_pair(m.kernel_size, "kernel_size", "Fold"), "block_shape")
    y = g.add("Col2Im", [y, image, block], pads=[ph, pw, ph, pw], **options)
    return g.add("Squeeze", [y, g.ints([0], "axis")]) if unbatched else y
