"""Adaptive max pooling over sequences, images and volumes, as PyTorch's
``adaptive_max_pool1d/2d/3d``.

Output cell i of an axis of length L pooled to n cells reads PyTorch's window
[⌊i·L/n⌋, ⌈(i+1)·L/n⌉). Windows may differ in length by one and may overlap, so the op gathers
every window, padded with −∞ to the longest, as one (B, *out, K) array of flat input
positions, and takes the maximum over K. Ties go to the first maximum in row-major window
order and a NaN wins (the last NaN of its window), as PyTorch's kernel; backward adds each
output's gradient at its arg-max.

The op classes carry PyTorch's node names (``AdaptiveMaxPool2DBackward0``,
``AdaptiveMaxPool3DBackward0``).
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv_util import _float_input
from chainrule.ops.getitem import PlaceAt
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one axis: start ⌊i·L/n⌋ and end ⌈(i+1)·L/n⌉."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _window_positions(spatial, output_size) -> tuple[np.ndarray, np.ndarray]:
    """Flat input positions (*out, K) of every window's cells, and which of them are real (the
    others pad a short window to the longest)."""
    strides = np.cumprod((1, *spatial[:0:-1]))[::-1]  # row-major strides of the spatial axes
    flat, valid, taps = np.zeros((), np.int64), np.ones((), bool), 1
    for axis, (size, out, stride) in enumerate(zip(spatial, output_size, strides)):
        start, end = adaptive_windows(size, out)
        longest = int((end - start).max()) if out else 1
        cells = start[:, None] + np.arange(longest)  # (out, k)
        taps *= longest
        shape = [1] * (2 * len(spatial))
        shape[2 * axis : 2 * axis + 2] = cells.shape
        flat = flat + (np.minimum(cells, size - 1) * stride).reshape(shape)
        valid = valid & (cells < end[:, None]).reshape(shape)
    d = len(spatial)
    order = [2 * a for a in range(d)] + [2 * a + 1 for a in range(d)]  # (o0, o1, .., k0, k1, ..)
    flat, valid = flat.transpose(order), np.broadcast_to(valid, flat.shape).transpose(order)
    return flat.reshape(*output_size, taps), valid.reshape(*output_size, taps)


class _AdaptiveMaxPool(Function):
    """Largest value of each adaptive window; the gradient goes to the one input that won."""

    label = "adaptive_max_pool"
    formulas = ("1 at the window's arg-max, else 0",)
    saves_inputs = False  # backward reads the arg-max positions only
    dims = 2

    def forward(self, x, *, output_size):
        spatial = x.shape[-self.dims :]
        self.x_shape = x.shape
        rows = x.reshape(-1, int(np.prod(spatial)))  # (B, S)
        positions, valid = _window_positions(spatial, output_size)
        windows = rows[:, positions]  # (B, *out, K)
        if not valid.all():  # windows of two lengths: the short ones padded with −∞
            windows = np.where(valid, windows, x.dtype.type(-np.inf))
        with np.errstate(invalid="ignore"):  # a NaN wins its window, as in PyTorch
            out = windows.max(axis=-1) if windows.size else windows.sum(axis=-1)
        # the first cell equal to the maximum (PyTorch's strict '>' scan); where the maximum is
        # NaN, the last NaN (PyTorch's scan takes every NaN it meets)
        arg = (windows == out[..., None]).argmax(axis=-1)
        nan = np.isnan(out)
        if nan.any():
            last_nan = windows.shape[-1] - 1 - np.isnan(windows[..., ::-1]).argmax(axis=-1)
            arg = np.where(nan, last_nan, arg)
        self.indices = np.take_along_axis(
            np.broadcast_to(positions, windows.shape), arg[..., None], axis=-1
        )[..., 0].astype(np.int64)
        self.indices = self.indices.reshape(*x.shape[: -self.dims], *output_size)
        return out.reshape(self.indices.shape)

    def _scatter_index(self):
        batch = int(np.prod(self.x_shape[: -self.dims]))
        return np.arange(batch).reshape(-1, *[1] * self.dims), self.indices.reshape(
            batch, *self.indices.shape[-self.dims :]
        )

    def backward(self, grad):
        rows, cols = self._scatter_index()
        size = int(np.prod(self.x_shape[-self.dims :]))
        linear = (rows * size + cols).ravel()
        total = np.bincount(linear, weights=grad.ravel(), minlength=rows.shape[0] * size)
        return (total.astype(grad.dtype, copy=False).reshape(self.x_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives): each output's
        gradient added at its arg-max, which is constant almost everywhere."""
        rows, cols = self._scatter_index()
        size = int(np.prod(self.x_shape[-self.dims :]))
        grad = grad.reshape(rows.shape[0], *self.indices.shape[-self.dims :])
        placed = PlaceAt.apply(grad, shape=(rows.shape[0], size), index=(rows, cols), advanced=True)
        name = f"AdaptiveMaxPool{self.dims}DBackwardBackward0"
        return (tie(placed.reshape(*self.x_shape), self.parents[0], name=name),)


class AdaptiveMaxPool2D(_AdaptiveMaxPool):
    """Adaptive max pooling over the last two axes (PyTorch's ``AdaptiveMaxPool2DBackward0``)."""

    label = "adaptive_max_pool2d"
    dims = 2


class AdaptiveMaxPool3D(_AdaptiveMaxPool):
    """Adaptive max pooling over the last three axes (``AdaptiveMaxPool3DBackward0``)."""

    label = "adaptive_max_pool3d"
    dims = 3


def _output_sizes(output_size, spatial, op: str, allow_none: bool) -> tuple[int, ...]:
    """``output_size`` as one int per spatial axis (an int for all; ``None`` keeps a size)."""
    dims = len(spatial)
    if isinstance(output_size, (list, tuple)):
        sizes = tuple(output_size)
        if len(sizes) != dims:
            raise ValueError(
                f"{op}: output_size must be an int or a tuple of {dims} ints, got {output_size!r}"
            )
    else:
        sizes = (output_size,) * dims
    result = []
    for size, length in zip(sizes, spatial):
        if size is None and allow_none:
            size = length
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(
                f"{op}: output_size must be non-negative ints"
                f"{' or None' if allow_none else ''}, got {output_size!r}"
            )
        result.append(int(size))
    return tuple(result)


def _adaptive_max(input, output_size, return_indices, dims: int, op_class, op: str):
    input = operand(input)
    _float_input(input, op)
    if input.ndim not in (dims + 1, dims + 2):
        names = ("L",) if dims == 1 else ("H", "W") if dims == 2 else ("D", "H", "W")
        raise ShapeError(
            f"{op} expects input of shape (N, C, {', '.join(names)}) or (C, "
            f"{', '.join(names)}), got {tuple(input.shape)}"
        )
    first = 1 if input.ndim == dims + 2 else 0  # the batch may be empty, nothing else
    if 0 in input.shape[first:]:
        raise ShapeError(
            f"{op}: expected input to have non-zero size for non-batch dimensions, but "
            f"input has sizes {tuple(input.shape)}"
        )
    sizes = _output_sizes(output_size, input.shape[-dims:], op, allow_none=dims > 1)
    if dims == 1:  # PyTorch pools a sequence as an image of height 1
        x = input.reshape(*input.shape[:-1], 1, input.shape[-1])
        result = _adaptive_max(x, (1, sizes[0]), return_indices, 2, op_class, op)
        if not return_indices:
            return result.reshape(*input.shape[:-1], sizes[0])
        out, indices = result
        return out.reshape(*input.shape[:-1], sizes[0]), indices.reshape(
            *input.shape[:-1], sizes[0]
        )
    out = op_class.apply(input, output_size=sizes)
    if not return_indices:
        return out
    fn = out._ctx
    if fn is None:  # no graph was recorded: run the op once more to read its arg-max
        fn = op_class()
        fn.forward(input.array, output_size=sizes)
    return out, Tensor._make(fn.indices, False)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """Max pooling over (N, C, L) or (C, L) to ``output_size`` positions, as
    ``torch.nn.functional.adaptive_max_pool1d``.

    Args:
        input: (N, C, L) or (C, L).
        output_size: the output length (an int, or a 1-tuple).
        return_indices: also return the index of each maximum along L, as an int64 tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.adaptive_max_pool1d(cr.ones(2, 3, 10), 4).shape
        (2, 3, 4)
    """
    return _adaptive_max(
        input, output_size, return_indices, 1, AdaptiveMaxPool2D, "adaptive_max_pool1d"
    )


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (OH, OW), one int for both, or ``None`` in a place to keep that size.
        return_indices: also return the flat index h·W + w of each maximum in its plane, as an
            int64 tensor (what ``max_unpool2d`` reads).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.adaptive_max_pool2d(cr.ones(2, 3, 9, 7), (4, None)).shape
        (2, 3, 4, 7)
    """
    return _adaptive_max(
        input, output_size, return_indices, 2, AdaptiveMaxPool2D, "adaptive_max_pool2d"
    )


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):
    """Max pooling of volumes to a fixed output size, as
    ``torch.nn.functional.adaptive_max_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        output_size: (OD, OH, OW), one int for all, or ``None`` in a place to keep that size.
        return_indices: also return the flat index d·H·W + h·W + w of each maximum, as an
            int64 tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.adaptive_max_pool3d(cr.ones(1, 2, 5, 6, 7), 3).shape
        (1, 2, 3, 3, 3)
    """
    return _adaptive_max(
        input, output_size, return_indices, 3, AdaptiveMaxPool3D, "adaptive_max_pool3d"
    )


def adaptive_max_pool1d_with_indices(input, output_size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool1d_with_indices``: :func:`adaptive_max_pool1d`'s output
    and indices, whatever ``return_indices`` says."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool2d_with_indices``: (output, indices) always."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool3d_with_indices``: (output, indices) always."""
    return adaptive_max_pool3d(input, output_size, True)
