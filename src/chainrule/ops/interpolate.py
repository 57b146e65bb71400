"""Resizing images, sequences and volumes, as ``torch.nn.functional.interpolate``: nearest,
nearest-exact, (bi/tri)linear, bicubic and area, with PyTorch's coordinate rules, and the
antialiased filters of ``interpolate_antialias.py``.

Every mode is separable: the output along one spatial dimension is a weighted sum of a few
input slices ("taps") picked along it, ``Σₖ wₖ · x[..., iₖ, ...]``. Each dimension is resized
in turn, the last one first, as PyTorch's kernel nests its loops, so the sums run in PyTorch's
order. The taps are ``index_select`` and the weights constants, so the gradient (and the
second derivative) is the graph's own: each input slice gets the weights it was read with.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import DTypeNotImplementedError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.interpolate_antialias import antialias_taps
from chainrule.tensor import Tensor

MODES = (
    "nearest",
    "nearest-exact",
    "linear",
    "bilinear",
    "trilinear",
    "bicubic",
    "area",
    "lanczos",
)
_LINEAR_FOR = {3: "linear", 4: "bilinear", 5: "trilinear"}
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic coefficient


# ---- where each output position reads: (index, weight) taps per dimension ----------------------
def _scale(in_size: int, out_size: int, align_corners: bool, scale, dtype):
    """PyTorch's ``area_pixel_compute_scale``: input pixels per output pixel, in ``dtype``."""
    if align_corners:
        return dtype.type(in_size - 1) / dtype.type(out_size - 1) if out_size > 1 else dtype.type(0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)  # 1/scale in double, then rounded, as PyTorch's
    return dtype.type(in_size) / dtype.type(out_size)


def _nearest_taps(in_size, out_size, scale, exact: bool, shortcuts: bool) -> list:
    if shortcuts and out_size in (in_size, 2 * in_size):  # PyTorch's 4-D kernel: 1:1 and 1:2
        return [(np.arange(out_size) // (out_size // in_size), None)]  # whatever the scale
    step = _scale(in_size, out_size, False, scale, np.dtype(np.float32))  # float, as PyTorch's
    if exact:  # the pixel whose centre is nearest: ⌊(i + ½)·scale⌋
        source = ((np.arange(out_size) + 0.5) * np.float64(step)).astype(np.float32)
    else:  # OpenCV's rule: ⌊i·scale⌋
        source = np.arange(out_size, dtype=np.float32) * step
    return [(np.minimum(np.floor(source).astype(np.int64), in_size - 1), None)]


def _source(in_size, out_size, align_corners, scale, dtype, cubic: bool):
    """The real-valued input coordinate of each output position (PyTorch's
    ``area_pixel_compute_source_index``)."""
    step = _scale(in_size, out_size, align_corners, scale, dtype)
    at = np.arange(out_size, dtype=dtype)
    if align_corners:
        return step * at
    source = step * (at + dtype.type(0.5)) - dtype.type(0.5)
    return source if cubic else np.maximum(source, dtype.type(0))


def _floor_and_fraction(source, in_size, dtype):
    """PyTorch's ``guard_index_and_lambda``: the index below and the fraction past it."""
    index = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    fraction = np.clip(source - index.astype(dtype), 0, 1).astype(dtype)
    return index, fraction


def _linear_taps(in_size, out_size, align_corners, scale, dtype) -> list:
    if out_size == in_size:  # PyTorch copies the input (whatever the scale says)
        return [(np.arange(out_size), None)]
    source = _source(in_size, out_size, align_corners, scale, dtype, cubic=False)
    index, fraction = _floor_and_fraction(source, in_size, dtype)
    after = index + (index < in_size - 1)
    return [(index, dtype.type(1) - fraction), (after, fraction)]


def _cubic_taps(in_size, out_size, align_corners, scale, dtype) -> list:
    source = _source(in_size, out_size, align_corners, scale, dtype, cubic=True)
    index, t = _floor_and_fraction(source, in_size, dtype)
    a = dtype.type(_CUBIC_A)

    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    return [(np.clip(index - 1 + k, 0, in_size - 1), w) for k, w in enumerate(weights)]


def _area_taps(in_size, out_size, dtype) -> list:
    """Adaptive average pooling's windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), as taps of 1/length;
    a window shorter than the longest has taps that add nothing (masked, so inf stays inf)."""
    if out_size == 0:  # PyTorch's adaptive pooling answers an empty output
        return [(np.zeros(0, np.int64), None)]
    i = np.arange(out_size)
    start, end = (i * in_size) // out_size, ((i + 1) * in_size + out_size - 1) // out_size
    length = end - start
    weight = (dtype.type(1) / length.astype(dtype)).astype(dtype)
    taps = []
    for k in range(int(length.max())):
        inside = start + k < end
        taps.append((np.minimum(start + k, end - 1), weight, None if inside.all() else inside))
    return taps


# ---- applying the taps ---------------------------------------------------------------------------
def _resize_axis(x: Tensor, axis: int, taps: list) -> Tensor:
    """Σₖ wₖ · x[..., iₖ, ...] along ``axis`` (a tap without weights is a plain pick)."""
    from chainrule.ops.elementwise import where
    from chainrule.ops.indexing import index_select

    shape = (-1,) + (1,) * (x.ndim - axis - 1)
    out = None
    for tap in taps:
        index, weight, inside = tap if len(tap) == 3 else (*tap, None)
        picked = index_select(x, axis, Tensor._make(np.asarray(index, np.int64), False))
        if weight is not None:
            picked = picked * Tensor._make(weight.astype(x.dtype).reshape(shape), False)
        if inside is not None:
            picked = where(Tensor._make(inside.reshape(shape), False), picked, 0.0)
        out = picked if out is None else out + picked
    return out


def _taps(mode, in_size, out_size, align_corners, scale, dtype, ndim, antialias) -> list:
    if antialias:
        step = _scale(in_size, out_size, align_corners, scale, dtype)
        return antialias_taps(mode, in_size, out_size, step, dtype)
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        return _nearest_taps(in_size, out_size, scale, exact, shortcuts=not exact and ndim == 4)
    if mode == "area":
        return _area_taps(in_size, out_size, dtype)
    if mode == "bicubic":
        return _cubic_taps(in_size, out_size, align_corners, scale, dtype)
    return _linear_taps(in_size, out_size, align_corners, scale, dtype)


# ---- the function --------------------------------------------------------------------------------
def _sizes(x: Tensor, size, scale_factor, recompute_scale_factor, mode):
    """PyTorch's rules: the output sizes, and the scales the coordinates use (None: in/out)."""
    dims = x.ndim - 2
    spatial = list(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {spatial} and output size of {size}. Please "
                f"provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                f"(o1, o2, ...,oK) format."
            )
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(
                f"expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                f"Tuple[int, int, int], but got size with types {[type(s) for s in sizes]}"
            )
        return [int(s) for s in sizes], [None] * dims
    scales = (
        list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dims
    )
    if len(scales) != dims:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got "
            f"input with spatial dimensions of {spatial} and scale_factor of shape "
            f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
            f"scale_factor in (s1, s2, ...,sK) format."
        )
    sizes = [math.floor(n * float(s)) for n, s in zip(spatial, scales)]
    if recompute_scale_factor or mode == "area":  # area always works from the sizes
        return sizes, [None] * dims
    return sizes, [float(s) for s in scales]


def _check_mode(x: Tensor, mode: str, align_corners, antialias: bool) -> None:
    if align_corners is not None and not isinstance(align_corners, bool):  # as PyTorch's
        raise TypeError(  # 'yes' and 1 were read as True
            f"interpolate(): align_corners must be a bool or None, got {align_corners!r:.40}"
        )
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | "
            "bilinear | bicubic | trilinear"
        )
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and x.ndim == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
            "requires a 4-D tensor as input"
        )
    if mode == "lanczos" and not antialias:
        raise ValueError("Lanczos mode requires antialias=True")
    wanted = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4, "lanczos": 4}.get(mode)
    if mode in MODES and 3 <= x.ndim <= 5 and (wanted is None or wanted == x.ndim):
        return
    if mode in _LINEAR_FOR.values() and 3 <= x.ndim <= 5:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {wanted}D input")
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the modes: "
        f"nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact "
        f"(got {mode})"
    )


def _check_sizes(x: Tensor, spatial: tuple, sizes: list, mode: str) -> None:
    if mode == "area":  # adaptive average pooling's rules: any output size, no empty input
        if min(spatial) <= 0:
            raise ShapeError(
                f"adaptive_avg_pool: Expected input to have non-zero size for non-batch "
                f"dimensions, but input has sizes {list(x.shape)}"
            )
        return
    if min(spatial) <= 0 or min(sizes) <= 0:
        names = "DHW"[-len(spatial) :]
        raise ShapeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, spatial))
            + ") output ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))
            + ")"
        )
    if x.shape[1] == 0:  # PyTorch's kernels refuse no channels
        raise ShapeError(
            f"Non-empty {x.ndim}D data tensor expected but got a tensor with sizes {list(x.shape)}"
        )


def interpolate(
    input,  # noqa: A002 - PyTorch's names
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dimensions of ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``
    input to ``size`` or by ``scale_factor``, as ``torch.nn.functional.interpolate``.

    Args:
        mode: ``'nearest'`` (PyTorch's default, OpenCV's rule ⌊i·in/out⌋), ``'nearest-exact'``
            (the nearest pixel centre), ``'linear'`` (3-D), ``'bilinear'`` (4-D),
            ``'trilinear'`` (5-D), ``'bicubic'`` (4-D, a = −0.75), ``'area'`` (adaptive
            average pooling) or ``'lanczos'`` (4-D, with ``antialias=True`` only).
        align_corners: for the interpolating modes, map the corner pixels' centres onto each
            other (default False: map the corners' edges).
        recompute_scale_factor: with ``scale_factor``, place pixels by in/out size rather than
            by 1/scale_factor.
        antialias: for 4-D ``'bilinear'``, ``'bicubic'`` and ``'lanczos'``, widen the filter
            by the shrink factor so every input pixel counts (PyTorch's and Pillow's filters).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[[1.0, 2.0]]])
        >>> cr.nn.functional.interpolate(x, scale_factor=2).tolist()
        [[[1.0, 1.0, 2.0, 2.0]]]
        >>> cr.nn.functional.interpolate(x, size=3, mode="linear", align_corners=True).tolist()
        [[[1.0, 1.5, 2.0]]]
    """
    x = operand(input)
    _check_mode(x, mode, align_corners, antialias)
    sizes, scales = _sizes(x, size, scale_factor, recompute_scale_factor, mode)
    spatial = x.shape[2:]
    _check_sizes(x, spatial, sizes, mode)
    picks = mode in ("nearest", "nearest-exact")
    if x.dtype.kind != "f" and not (picks and x.dtype == np.uint8):
        if x.dtype == np.uint8 and mode in ("bilinear", "bicubic"):  # PyTorch has these
            raise DTypeNotImplementedError(
                f"interpolate(mode={mode!r}) of uint8 images is computed by PyTorch in 8-bit "
                f"fixed point, which chainrule does not reproduce; convert first, e.g. "
                f"x.float(), and round back with .round().clamp(0, 255).to(cr.uint8)"
            )
        raise DTypeNotImplementedError(
            f"interpolate(mode={mode!r}) is not implemented for {x.dtype}, as in PyTorch; "
            f"convert first, e.g. x.float()"
        )
    dtype = np.dtype(np.float32) if x.dtype.itemsize < 4 else x.dtype
    out = x
    for axis in reversed(range(2, x.ndim)):  # the last dimension first, as PyTorch's loops
        i = axis - 2
        taps = _taps(
            mode, spatial[i], sizes[i], bool(align_corners), scales[i], dtype, x.ndim, antialias
        )
        out = _resize_axis(out, axis, taps)
    return out
