"""The taps of ``interpolate(..., antialias=True)``: PyTorch's (and Pillow's) separable filters
whose support widens by the shrink factor, so every input pixel under a shrunk output pixel
counts.

Output ``i`` along a dimension is centred on input coordinate ``c = scale·(i + ½)`` and reads
the input pixels ``j`` with ``⌊c − support + ½⌋ ≤ j < ⌊c + support + ½⌋``, weighted by
``filter((j − c + ½) / max(scale, 1))`` and normalised to sum to 1. ``support`` is the filter's
half-width (1 bilinear, 2 bicubic, 3 lanczos) times ``max(scale, 1)``. The weights are
constants, so the gradient is the graph's, as for the other modes.
"""

from __future__ import annotations

import numpy as np

_CUBIC_A = -0.5  # Pillow's (and PyTorch's antialiased) bicubic, not the -0.75 of plain bicubic


def _triangle(x):
    x = np.abs(x)
    return np.where(x < 1, 1 - x, 0)


def _cubic(x):
    a, x = _CUBIC_A, np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0))


def _lanczos(x):  # sinc(x)·sinc(x/3) on [-3, 3), Pillow's lanczos
    return np.where((x >= -3) & (x < 3), np.sinc(x) * np.sinc(x / 3), 0)


# mode: (filter, half-width of the filter at scale 1)
_FILTERS = {"bilinear": (_triangle, 1.0), "bicubic": (_cubic, 2.0), "lanczos": (_lanczos, 3.0)}


def antialias_taps(mode: str, in_size: int, out_size: int, scale, dtype) -> list:
    """``(index, weight, inside)`` taps, one per position in the widest window; ``scale``
    is input pixels per output pixel (PyTorch's ``area_pixel_compute_scale``)."""
    if in_size == out_size:  # PyTorch's forward skips a dimension whose size does not change,
        return [(np.arange(out_size), None)]  # whatever scale_factor says (its backward does not)
    filter_fn, width = _FILTERS[mode]
    scale = dtype.type(scale)
    support = dtype.type(width * scale) if scale >= 1 else dtype.type(width)
    inverse = dtype.type(1 / scale) if scale >= 1 else dtype.type(1)
    taps_max = int(np.ceil(support)) * 2 + 1
    centre = scale * (np.arange(out_size, dtype=dtype) + dtype.type(0.5))
    # C's truncation toward zero, then clamped to the input, as PyTorch's loop bounds
    start = np.maximum(np.trunc(centre - support + dtype.type(0.5)).astype(np.int64), 0)
    stop = np.minimum(np.trunc(centre + support + dtype.type(0.5)).astype(np.int64), in_size)
    length = np.clip(stop - start, 0, taps_max)
    offsets = np.arange(taps_max)
    inside = offsets[None, :] < length[:, None]
    where = (start[:, None] + offsets[None, :]).astype(dtype)
    weights = filter_fn((where - centre[:, None] + dtype.type(0.5)) * inverse).astype(dtype)
    weights = np.where(inside, weights, dtype.type(0))
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(total != 0, weights / np.where(total != 0, total, 1), weights).astype(dtype)
    index = np.minimum(start[:, None] + offsets[None, :], in_size - 1)
    used = int(length.max()) if out_size else 0
    return [(index[:, k], weights[:, k], inside[:, k]) for k in range(used)]
