"""Fractional max pooling (Graham, 2014), as ``torch.nn.functional.fractional_max_pool2d``.

Each (sample, channel) plane draws two numbers u in [0, 1) (one for the width, one for the
height) and pools kH×kW windows that start at PyTorch's pseudo-random offsets

    start_i = ⌊(i + u)·α⌋ − ⌊u·α⌋ for i < O − 1,  start_(O−1) = I − k,  α = (I − k)/(O − 1)

(α and the products in the input's dtype, as PyTorch's kernel). The windows' maxima are found
in NumPy (first maximum on a tie, the last NaN wins, as PyTorch's), then picked from the input
with ``gather``: the gradient (summed where windows overlap) and second derivatives are
``gather``'s, its first derivative tied to the input as PyTorch's (zero second derivative, not an
error). Given the same ``_random_samples``, the values and indices are PyTorch's.
"""

from __future__ import annotations

import itertools

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.indexing import Gather
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor

_OP = "fractional_max_pool2d"


class FractionalMaxPool2D(Gather):
    """``gather`` at each window's arg-max; its first derivative as a tensor is tied to the input
    (the arg-max is constant almost everywhere: PyTorch's second derivative is zeros)."""

    label = "fractional_max_pool2d"

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (grad_x,) = super().backward_graph(grad)
        return (tie(grad_x, self.parents[0]),)


def _pair(value, what: str, kind: type) -> tuple:
    items = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{_OP}: {what} must be a number or a pair, got {value!r}")
    for v in items:
        if v.__class__ is bool or not isinstance(v, (int, float) if kind is float else int):
            raise TypeError(f"{_OP}: {what} must hold {kind.__name__}s, got {value!r}")
    return items


def _starts(sample: np.ndarray, size: int, out: int, kernel: int) -> np.ndarray:
    """PyTorch's ``generate_intervals`` for every plane at once: (planes,) → (planes, out)."""
    starts = np.empty(sample.shape + (out,), dtype=np.int64)
    if out > 1:
        alpha = sample.dtype.type(size - kernel) / sample.dtype.type(out - 1)
        i = np.arange(out - 1, dtype=sample.dtype)
        scaled = ((i + sample[..., None]) * alpha).astype(np.int64)
        starts[..., :-1] = scaled - (sample * alpha).astype(np.int64)[..., None]
    if out > 0:
        starts[..., -1] = size - kernel
    return starts


def _output_size(x, output_size, output_ratio) -> tuple:
    if output_size is None and output_ratio is None:
        raise ValueError(f"{_OP} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        sizes = _pair(output_size, "output_size", int)
        if min(sizes) < 0:
            raise ValueError(f"{_OP}: output_size must be >= 0, got {output_size!r}")
        return sizes
    ratios = _pair(output_ratio, "output_ratio", float)
    return int(x.shape[-2] * ratios[0]), int(x.shape[-1] * ratios[1])


def _samples(samples, x, batch: int, channels: int) -> np.ndarray:
    if samples is None:
        from chainrule.random import get_generator

        return get_generator(None).random((batch, channels, 2)).astype(x.array.dtype)
    array = np.asarray(samples.array if isinstance(samples, Tensor) else samples)
    if array.ndim != 3 or array.shape[2] != 2 or array.shape[0] != batch:
        raise ShapeError(
            f"{_OP}: _random_samples must have shape ({batch}, {channels}, 2), got {array.shape}"
        )
    if array.shape[1] != channels:
        raise ShapeError("Expect _random_samples.size(1) equals to input channel size.")
    if array.dtype != x.array.dtype:
        raise DTypeError("Expect _random_samples to have the same dtype as input")
    return array


def _window_maxima(planes: np.ndarray, starts: list, kernel: tuple) -> np.ndarray:
    """Flat index (h·W + w in 2-D, t·H·W + h·W + w in 3-D) of each window's maximum: planes
    (P, *sizes), ``starts`` one (P, O_d) array per axis → (P, *O). Shared by the 3-D pool."""
    sizes = planes.shape[1:]
    strides = [int(np.prod(sizes[d + 1 :])) for d in range(len(sizes))]
    flat = planes.reshape(planes.shape[0], -1)
    first = np.zeros((planes.shape[0],) + tuple(s.shape[1] for s in starts), dtype=np.int64)
    for d, (start, stride) in enumerate(zip(starts, strides)):
        axis = [slice(None)] + [None] * len(sizes)
        axis[d + 1] = slice(None)
        first += start[tuple(axis)] * stride
    best = np.full(first.shape, -np.inf, dtype=planes.dtype)
    index = first.copy()  # PyTorch's start, kept where every value is −∞
    picks_shape = (first.shape[0], int(np.prod(first.shape[1:])))
    for offsets in itertools.product(*(range(k) for k in kernel)):
        at = first + sum(o * s for o, s in zip(offsets, strides))
        value = np.take_along_axis(flat, at.reshape(picks_shape), 1).reshape(at.shape)
        wins = (value > best) | np.isnan(value)  # first maximum on a tie, last NaN
        best = np.where(wins, value, best)
        index = np.where(wins, at, index)
    return index


def fractional_max_pool2d_with_indices(
    input,  # noqa: A002 - PyTorch's name
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """PyTorch's ``F.fractional_max_pool2d_with_indices``: (output, indices) always; see
    :func:`fractional_max_pool2d`."""
    x = operand(input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{_OP}(): expected 3D or 4D tensor, but got: {list(x.shape)}")
    if x.array.dtype.kind != "f":
        raise DTypeError(f"{_OP} expects a floating-point input, got {x.array.dtype}")
    kernel = _pair(kernel_size, "kernel_size", int)
    if min(kernel) < 1:
        raise ValueError(f"{_OP}: kernel_size must be >= 1, got {kernel_size!r}")
    oh, ow = _output_size(x, output_size, output_ratio)
    height, width = x.shape[-2:]
    for name, out, k, size in (("height", oh, kernel[0], height), ("width", ow, kernel[1], width)):
        if out + k - 1 > size:
            raise ShapeError(f"{_OP}(): pool {name} {k} too large relative to input {name} {size}")
    batched = x.ndim == 4
    batch, channels = (x.shape[0] if batched else 1), x.shape[-3]
    samples = _samples(_random_samples, x, batch, channels).reshape(-1, 2)
    planes = x.array.reshape(-1, height, width)
    cols = _starts(samples[:, 0], width, ow, kernel[1])  # PyTorch: sample 0 for the width
    rows = _starts(samples[:, 1], height, oh, kernel[0])
    index = _window_maxima(planes, [rows, cols], kernel).reshape(x.shape[:-2] + (oh, ow))
    flat_index = Tensor._make(index.reshape(x.shape[:-2] + (oh * ow,)), False)
    flat = x.reshape(*x.shape[:-2], height * width)
    out = FractionalMaxPool2D.apply(flat, dim=flat.ndim - 1, index=flat_index.array)
    return out.reshape(*x.shape[:-2], oh, ow), Tensor._make(index, False)


def fractional_max_pool2d(
    input,  # noqa: A002 - PyTorch's name
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """Max pooling over kH×kW windows at pseudo-random, overlapping offsets that shrink the
    input to ``output_size`` (or ``output_ratio`` of it), as
    ``torch.nn.functional.fractional_max_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: the window, an int or (kH, kW).
        output_size: (OH, OW) or an int for both; or instead
        output_ratio: a number or pair in (0, 1): OH = ⌊H·ratio⌋.
        return_indices: also return the flat index h·W + w of each maximum (int64).
        _random_samples: (N, C, 2) numbers in [0, 1), the input's dtype: PyTorch's offsets for
            given samples (else drawn from chainrule's generator, which ``cr.manual_seed``
            seeds).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.fractional_max_pool2d(cr.ones(1, 2, 9, 9), 2, output_size=4).shape
        (1, 2, 4, 4)
    """
    out, index = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )
    return (out, index) if return_indices else out
