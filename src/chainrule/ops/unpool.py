"""Max unpooling, as PyTorch's ``max_unpool1d/2d/3d``: the partial inverse of max pooling.

Each input value is written at the flat position (h·W + w, or d·H·W + h·W + w) its index gives
in a zero plane of the output size; the indices are the ones ``max_pool*(return_indices=True)``
and ``adaptive_max_pool*`` return. Where two values share an index, the later one (in row-major
input order) stays, as PyTorch's kernel writes them in that order. The gradient of each input
is the output gradient read back at its index.

The op classes carry PyTorch's node names (``MaxUnpool2DBackward0``, ``MaxUnpool3DBackward0``).
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv_util import _float_input
from chainrule.ops.getitem import GetItem
from chainrule.tensor import Tensor


class _MaxUnpool(Function):
    """Zeros of the output size with each input written at its index."""

    label = "max_unpool"
    formulas = ("1 at the input's index, else 0",)
    saves_inputs = False  # backward reads the indices only
    dims = 2

    def forward(self, x, *, indices, output_size):
        self.x_shape = x.shape
        lead = x.shape[: -self.dims]
        batch, size = int(np.prod(lead)), int(np.prod(output_size))
        self.rows = np.arange(batch)[:, None]
        self.cols = indices.reshape(batch, -1)
        out = np.zeros((batch, size), x.dtype)
        out[self.rows, self.cols] = x.reshape(batch, -1)  # repeated index: the last one stays
        return out.reshape(*lead, *output_size)

    def backward(self, grad):
        rows = grad.reshape(self.rows.shape[0], -1)
        return (rows[self.rows, self.cols].reshape(self.x_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        rows = grad.reshape(self.rows.shape[0], -1)
        picked = GetItem.apply(rows, index=(self.rows, self.cols), advanced=True)
        return (picked.reshape(*self.x_shape),)


class MaxUnpool2D(_MaxUnpool):
    """Max unpooling of images (PyTorch's ``MaxUnpool2DBackward0``)."""

    label = "max_unpool2d"
    dims = 2


class MaxUnpool3D(_MaxUnpool):
    """Max unpooling of volumes (PyTorch's ``MaxUnpool3DBackward0``)."""

    label = "max_unpool3d"
    dims = 3


def _ints(value, dims: int, name: str, op: str) -> tuple[int, ...]:
    """An int, or a tuple of ``dims`` ints (PyTorch's ``_single``/``_pair``/``_triple``)."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims
    if len(values) != dims or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values
    ):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}")
    return tuple(int(v) for v in values)


def unpool_output_size(spatial, kernel, stride, padding, output_size, op: str) -> tuple:
    """PyTorch's ``_unpool_output_size``: (in − 1)·stride − 2·padding + kernel per axis, or
    ``output_size`` (its last ``len(kernel)`` entries) when it lies within a stride of that."""
    dims = len(kernel)
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(spatial, stride, kernel, padding)]
    if output_size is None:
        sizes = default
    else:
        if isinstance(output_size, Tensor) or not isinstance(output_size, (list, tuple)):
            raise TypeError(f"{op}: output_size must be a tuple or list, got {output_size!r}")
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        if len(output_size) != dims:
            raise ValueError(
                f"output_size should be a sequence containing {dims} or {dims + 2} elements, "
                f"but it has a length of '{len(output_size)}'"
            )
        for d in range(dims):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < output_size[d] < high:
                raise ValueError(
                    f'invalid output_size "{output_size}" (dim {d} must be between {low} and '
                    f"{high})"
                )
        sizes = [int(s) for s in output_size]
    for d, size in enumerate(sizes):
        if size < 0:
            raise ValueError(
                f"max_unpooling: output_size must contain non-negative spatial dimensions, but "
                f"got output_size[{d}]={size}"
            )
    return tuple(sizes)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, dims: int, op: str):
    input, indices = operand(input), operand(indices)
    _float_input(input, op)
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{op}: input should be a {dims + 1}d or {dims + 2}d tensor, but got a tensor with "
            f"{input.ndim} dimensions"
        )
    if indices.dtype != np.int64:
        raise DTypeError(
            f"{op}: elements in indices should be type int64 but got: {indices.dtype}; pass the "
            f"indices max_pool{dims}d(..., return_indices=True) returns"
        )
    if indices.shape != input.shape:
        raise ShapeError(
            f"{op}: expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    kernel = _ints(kernel_size, dims, "kernel_size", op)
    stride = kernel if stride is None else _ints(stride, dims, "stride", op)
    padding = _ints(padding, dims, "padding", op)
    sizes = unpool_output_size(input.shape[-dims:], kernel, stride, padding, output_size, op)
    index = indices.array
    bad = (index < 0) | (index >= int(np.prod(sizes)))
    if bad.any():
        raise ShapeError(
            f"{op}: found an invalid max index: {int(index[bad].flat[0])} (output volumes are of "
            f"size {'x'.join(map(str, sizes))})"
        )
    if dims == 1:  # PyTorch unpools a sequence as an image of width 1
        out = MaxUnpool2D.apply(
            input.reshape(*input.shape, 1), indices=index[..., None], output_size=(*sizes, 1)
        )
        return out.reshape(*out.shape[:-1])
    return (MaxUnpool2D if dims == 2 else MaxUnpool3D).apply(
        input, indices=index, output_size=sizes
    )


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool1d`, as ``torch.nn.functional.max_unpool1d``: zeros of
    length (L − 1)·stride − 2·padding + kernel_size (or ``output_size``) with each input value
    at its index.

    Args:
        input: (N, C, L) or (C, L).
        indices: int64, the shape of ``input``: ``max_pool1d(..., return_indices=True)``'s.
        kernel_size, stride, padding: the max pooling's (stride: the kernel size).
        output_size: the length to restore (last entry of a shape), within a stride of the
            default.

    Example:
        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> out, idx = F.max_pool1d(cr.tensor([[1.0, 3.0, 2.0, 0.0]]), 2, return_indices=True)
        >>> F.max_unpool1d(out, idx, 2).tolist()
        [[0.0, 3.0, 2.0, 0.0]]
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        indices: int64, the shape of ``input``: the flat index h·W + w of each value.
        kernel_size, stride, padding: the max pooling's (stride: the kernel size).
        output_size: (H, W) (or a full shape) to restore, within a stride of the default
            (H − 1)·stride − 2·padding + kernel_size.

    Example:
        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> out, idx = F.max_pool2d(cr.ones(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(out, idx, 2).shape
        (1, 1, 4, 4)
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool3d`, as ``torch.nn.functional.max_unpool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        indices: int64, the shape of ``input``: the flat index d·H·W + h·W + w of each value.
        kernel_size, stride, padding, output_size: as :func:`max_unpool2d`, per axis.

    Example:
        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> out, idx = F.max_pool3d(cr.ones(1, 1, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(out, idx, 2).shape
        (1, 1, 4, 4, 4)
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")
