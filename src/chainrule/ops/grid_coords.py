"""Where ``grid_sample`` reads: a grid value in [-1, 1] turned into a pixel coordinate, with
PyTorch's padding rules (zeros, border, reflection), and the factor ``d coordinate / d grid``
that the grid's gradient is multiplied by.

PyTorch computes these with two sets of formulas: its vectorised 2-D kernel and its scalar
3-D kernel round differently (``(g + 1)·size/2 − ½`` against ``((g + 1)·size − 1)/2``). Both
are here, picked by ``scalar``, so a coordinate that lands on a pixel boundary falls on the same
side as PyTorch's.
"""

from __future__ import annotations

import numpy as np


class Axis:
    """One spatial dimension of ``size`` pixels, read with ``padding`` and ``align_corners``."""

    def __init__(self, size: int, padding: str, align_corners: bool, dtype, scalar: bool):
        self.size, self.padding, self.align, self.scalar = size, padding, align_corners, scalar
        self.dtype = np.dtype(dtype)
        kind = self.dtype.type
        # d unnormalised / d grid: the span in pixels of one grid unit
        self.scale = kind(size - 1) / kind(2) if align_corners else kind(size) / kind(2)
        self.max = kind(size - 1)

    # ---- grid value → pixel coordinate -------------------------------------------------------
    def unnormalize(self, g: np.ndarray) -> np.ndarray:
        kind = self.dtype.type
        if self.scalar:  # GridSampler.h's grid_sampler_unnormalize
            if self.align:
                return ((g + kind(1)) / kind(2)) * kind(self.size - 1)
            return ((g + kind(1)) * kind(self.size) - kind(1)) / kind(2)
        if self.align:  # GridSamplerKernel.cpp's ComputeLocationBase
            return (g + kind(1)) * self.scale
        # PyTorch's AVX2 kernel fuses this multiply and subtract (one rounding), which decides
        # the pixel a 'nearest' read lands on when the coordinate is a hair from a half
        return fused_multiply_subtract(g + kind(1), self.scale, kind(0.5))

    def source(self, g: np.ndarray, with_grad: bool = False):
        """The padded coordinate of each grid value and, with ``with_grad``, its derivative."""
        coord = self.unnormalize(g)
        grad = np.full(coord.shape, self.scale, self.dtype) if with_grad else None
        if self.padding == "border":
            coord, clip_grad = self.clip(coord)
            grad = grad * clip_grad if with_grad else None
        elif self.padding == "reflection":
            coord, reflect_grad = self.reflect(coord)
            coord, clip_grad = self.clip(coord)
            grad = grad * reflect_grad * clip_grad if with_grad else None
        return coord, grad

    def tap(self, coord: np.ndarray) -> np.ndarray:
        """Padding applied to the integer coordinate of a bicubic tap (PyTorch's
        ``compute_coordinates``): the tap of a border or reflection read stays in the image."""
        if self.padding == "border":
            return self.clip(coord)[0]
        if self.padding == "reflection":
            return self.clip(self.reflect(coord)[0])[0]
        return coord

    # ---- padding ---------------------------------------------------------------------------------
    def clip(self, coord: np.ndarray):
        """Coordinates held inside [0, size − 1] (NaN to 0, as PyTorch's kernel) and the factor
        1 inside, 0 outside (the borders count as outside, as PyTorch's)."""
        kind = self.dtype.type
        low = np.fmax(coord, kind(0))
        out = np.minimum(low, self.max)
        return out, ((low != 0) & (out != self.max)).astype(self.dtype)

    def reflect(self, coord: np.ndarray):
        """Coordinates mirrored into the image (about the corner pixels' centres with
        ``align_corners``, else about the image's edges) and the factor ±1."""
        kind = self.dtype.type
        if self.align and self.size <= 1:
            return np.zeros_like(coord), np.zeros_like(coord)
        low = kind(0) if self.align else kind(-0.5)
        twice_span = kind(2 * (self.size - 1)) if self.align else kind(2 * self.size)
        shifted = coord - low
        if self.scalar:  # GridSampler.h's reflect_coordinates_set_grad
            span = twice_span / kind(2)
            distance = np.abs(shifted)
            extra = np.fmod(distance, span)
            odd = np.floor(distance / span) % 2 == 1
            out = np.where(odd, span - extra, extra) + low
            sign = np.where(shifted < 0, -1, 1) * np.where(odd, -1, 1)
            return out, sign.astype(self.dtype)
        distance = np.abs(shifted)
        extra = distance - np.trunc(distance / twice_span) * twice_span
        mirrored = twice_span - extra
        flip = extra > mirrored
        sign = np.where(flip ^ (shifted < 0), -1, 1).astype(self.dtype)
        return np.where(flip, mirrored, extra) + low, sign

    # ---- integer pixels ------------------------------------------------------------------------
    def index(self, coord: np.ndarray) -> np.ndarray:
        """Integer pixel numbers of integer-valued float coordinates; out-of-range, infinite and
        NaN ones become −2, −1 or ``size`` (outside, as they are). NaN goes to −2 so that the
        upper corner of a linear read (index + 1) is outside too, as PyTorch's bounds check on
        the float coordinate makes every corner of a NaN point."""
        bounded = np.clip(np.nan_to_num(coord, nan=-2.0), -2.0, self.size + 1.0)
        return bounded.astype(np.int64)

    def inside(self, index: np.ndarray) -> np.ndarray:
        return (index >= 0) & (index < self.size)


def fused_multiply_subtract(a: np.ndarray, b, c) -> np.ndarray:
    """``a·b − c`` rounded once, as a fused multiply-add: float32 through float64 (exact there);
    float64 by Dekker's exact product and a compensated subtraction."""
    if a.dtype.itemsize <= 4:
        return (a.astype(np.float64) * np.float64(b) - np.float64(c)).astype(a.dtype)
    product = a * b
    split = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two 26-bit halves
    big_a, big_b = split * a, split * b
    a_hi = big_a - (big_a - a)
    b_hi = big_b - (big_b - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    product_err = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product - c
    back = total - product
    sum_err = (product - (total - back)) + (-c - back)
    with np.errstate(invalid="ignore"):
        fused = total + (sum_err + product_err)
    return np.where(np.isfinite(product), fused, total)


def cubic_weights(t: np.ndarray, a: float = -0.75) -> list:
    """The four bicubic weights of the taps at −1, 0, 1, 2 for a fraction ``t`` in [0, 1)
    (PyTorch's ``get_cubic_upsample_coefficients``, A = −0.75); ``t`` an array or a tensor."""
    a = t.dtype.type(a) if isinstance(t, np.ndarray) else a

    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def cubic_weight_grads(t: np.ndarray, a: float = -0.75) -> list:
    """d weight / d t of :func:`cubic_weights`."""
    a = t.dtype.type(a) if isinstance(t, np.ndarray) else a

    def near(x):  # d/dx of the |x| ≤ 1 piece
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):  # d/dx of the 1 < |x| < 2 piece
        return (3 * a * x - 10 * a) * x + 8 * a

    return [far(t + 1), near(t), -near(1 - t), -far(2 - t)]
