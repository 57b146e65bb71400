"""Fractional max pooling in 3-D, as ``torch.nn.functional.fractional_max_pool3d``.

The 2-D pool's scheme (``ops/fractional_max_pool.py``) over (T, H, W): each (sample, channel)
volume draws three numbers u in [0, 1), the first for the time (depth) axis, the second for
the height and the third for the width (PyTorch's order), and pools kT×kH×kW windows starting
at PyTorch's pseudo-random offsets. The windows' maxima are found in NumPy (first maximum on a
tie, the last NaN wins), then picked from the input with ``gather``; the index of each maximum
is flat over the volume, t·H·W + h·W + w, as PyTorch's. Given the same ``_random_samples`` the
values, indices and gradients are PyTorch's, and the first derivative as a tensor is tied to
the input (zero second derivative) as PyTorch's is.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.fractional_max_pool import _starts, _window_maxima
from chainrule.ops.indexing import Gather
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor

_OP = "fractional_max_pool3d"
_AXES = ("time", "height", "width")


class FractionalMaxPool3D(Gather):
    """``gather`` at each window's arg-max; its first derivative as a tensor is tied to the input
    (the arg-max is constant almost everywhere: PyTorch's second derivative is zeros)."""

    label = "fractional_max_pool3d"

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (grad_x,) = super().backward_graph(grad)
        return (tie(grad_x, self.parents[0]),)


def _triple(value, what: str, kind: type) -> tuple:
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,) * 3
    if len(items) != 3:
        raise ValueError(
            f"{_OP}: {what} must either be a single {kind.__name__} or a tuple of three, "
            f"got {value!r}"
        )
    for v in items:
        if v.__class__ is bool or not isinstance(v, (int, float) if kind is float else int):
            raise TypeError(f"{_OP}: {what} must hold {kind.__name__}s, got {value!r}")
    return items


def _output_size(x, output_size, output_ratio) -> tuple:
    if output_size is None and output_ratio is None:
        raise ValueError(f"{_OP} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        sizes = _triple(output_size, "output_size", int)
        if min(sizes) < 0:
            raise ValueError(f"{_OP}: output_size must be >= 0, got {output_size!r}")
        return sizes
    ratios = _triple(output_ratio, "output_ratio", float)
    return tuple(int(size * ratio) for size, ratio in zip(x.shape[-3:], ratios))


def _samples(samples, x, batch: int, channels: int) -> np.ndarray:
    if samples is None:
        from chainrule.random import get_generator

        return get_generator(None).random((batch, channels, 3)).astype(x.array.dtype)
    array = np.asarray(samples.array if isinstance(samples, Tensor) else samples)
    if array.ndim != 3:
        raise ShapeError(
            f"{_OP}: _random_samples must have shape ({batch}, {channels}, 3), got {array.shape}"
        )
    if array.shape[2] != 3:
        raise ShapeError(f"Expect _random_samples.size(2) equals to 3; got {array.shape[2]}.")
    if array.shape[0] < batch:
        raise ShapeError("Expect _random_samples.size(0) no less then input batch size.")
    if array.shape[1] != channels:
        raise ShapeError("Expect _random_samples.size(1) equals to input channel size.")
    if array.dtype != x.array.dtype:
        raise DTypeError("Expect _random_samples to have the same dtype as input")
    return array[:batch]


def fractional_max_pool3d_with_indices(
    input,  # noqa: A002 - PyTorch's name
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """PyTorch's ``F.fractional_max_pool3d_with_indices``: (output, indices) always; see
    :func:`fractional_max_pool3d`."""
    x = operand(input)
    if x.ndim not in (4, 5):
        raise ShapeError(f"{_OP}(): expected 4D or 5D tensor, but got: {list(x.shape)}")
    if x.array.dtype.kind != "f":
        raise DTypeError(f"{_OP} expects a floating-point input, got {x.array.dtype}")
    kernel = _triple(kernel_size, "kernel_size", int)
    if min(kernel) < 1:
        raise ValueError(f"{_OP}: kernel_size must be >= 1, got {kernel_size!r}")
    out_sizes = _output_size(x, output_size, output_ratio)
    sizes = x.shape[-3:]
    for name, out, k, size in zip(_AXES, out_sizes, kernel, sizes):
        if out + k - 1 >= size:  # PyTorch's 3-D check is strict (its 2-D one is not)
            raise ShapeError(f"{_OP}(): pool {name} {k} too large relative to input {name} {size}")
    batched = x.ndim == 5
    batch, channels = (x.shape[0] if batched else 1), x.shape[-4]
    samples = _samples(_random_samples, x, batch, channels).reshape(-1, 3)
    volumes = x.array.reshape(-1, *sizes)
    starts = [_starts(samples[:, d], sizes[d], out_sizes[d], kernel[d]) for d in range(3)]
    index = _window_maxima(volumes, starts, kernel).reshape(x.shape[:-3] + out_sizes)
    count = int(np.prod(out_sizes))
    flat_index = index.reshape(x.shape[:-3] + (count,))
    flat = x.reshape(*x.shape[:-3], int(np.prod(sizes)))
    out = FractionalMaxPool3D.apply(flat, dim=flat.ndim - 1, index=flat_index)
    return out.reshape(*x.shape[:-3], *out_sizes), Tensor._make(index, False)


def fractional_max_pool3d(
    input,  # noqa: A002 - PyTorch's name
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """Max pooling over kT×kH×kW windows at pseudo-random, overlapping offsets that shrink the
    input to ``output_size`` (or ``output_ratio`` of it), as
    ``torch.nn.functional.fractional_max_pool3d``.

    Args:
        input: (N, C, T, H, W) or (C, T, H, W).
        kernel_size: the window, an int or (kT, kH, kW).
        output_size: (OT, OH, OW) or an int for all three; or instead
        output_ratio: a number or a triple in (0, 1): OT = ⌊T·ratio⌋.
        return_indices: also return the flat index t·H·W + h·W + w of each maximum (int64).
        _random_samples: (N, C, 3) numbers in [0, 1), the input's dtype: PyTorch's offsets for
            given samples (else drawn from chainrule's generator, which ``cr.manual_seed``
            seeds).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.fractional_max_pool3d(cr.ones(1, 2, 6, 7, 8), 2, output_size=3).shape
        (1, 2, 3, 3, 3)
    """
    out, index = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )
    return (out, index) if return_indices else out
