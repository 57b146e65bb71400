"""``F.unfold`` (im2col) and ``F.fold`` (col2im): sliding blocks out of an image, and back.

unfold copies every (kh × kw) block of each channel into one column: (N, C, H, W) →
(N, C·kh·kw, L), L the number of block positions. fold is its adjoint: each column is added
back at its block's position, overlaps summed, so the gradient of one is the other (and
``fold(unfold(x))`` counts how many blocks cover each pixel). Both are vectorised: a strided
view gathers the blocks, and the sum loops only over the kh·kw kernel offsets.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DimensionError, DTypeNotImplementedError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor

__all__ = ["fold", "unfold"]


def _blocks(size: int, pad: int, kernel: int, dilation: int, stride: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _im2col(x: np.ndarray, kernel, dilation, padding, stride) -> np.ndarray:
    """(N, C, H, W) → (N, C·kh·kw, OH·OW), channel-major then kernel row, kernel column."""
    n, c, h, w = x.shape
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    oh, ow = _blocks(h, ph, kh, dh, sh), _blocks(w, pw, kw, dw, sw)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    s_n, s_c, s_h, s_w = x.strides
    windows = as_strided(
        x,
        shape=(n, c, kh, kw, oh, ow),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
        writeable=False,
    )
    return windows.reshape(n, c * kh * kw, oh * ow)


def _col2im(cols: np.ndarray, size, kernel, dilation, padding, stride) -> np.ndarray:
    """(N, C·kh·kw, OH·OW) → (N, C, H, W), each column added at its block: one strided
    slice-add per kernel offset."""
    n = cols.shape[0]
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = size, kernel, dilation, padding, stride
    oh, ow = _blocks(h, ph, kh, dh, sh), _blocks(w, pw, kw, dw, sw)
    c = cols.shape[1] // (kh * kw)
    blocks = cols.reshape(n, c, kh, kw, oh, ow)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            out[:, :, rows, columns] += blocks[:, :, i, j]
    return out[:, :, ph : ph + h, pw : pw + w]


def _batched(array: np.ndarray, ndim: int, fn, *args) -> np.ndarray:
    """``fn`` on a batched array; an unbatched one (``ndim`` − 1 dimensions) as a batch of 1."""
    if array.ndim == ndim:
        return fn(array, *args)
    return fn(array[None], *args)[0]


class Im2Col(Function):
    """Sliding blocks of an image as columns (``F.unfold``).  Local derivative: fold, which
    adds each column's gradient back at its block."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "unfold"
    formulas = ("fold (each column's gradient added back at its block)",)

    def forward(self, x, options):
        self.size, self.options = x.shape[-2:], options
        return _batched(x, 4, _im2col, *options)

    def backward(self, grad):
        return (_batched(grad, 3, _col2im, self.size, *self.options),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (Col2Im.apply(grad, size=self.size, options=self.options),)


class Col2Im(Function):
    """Columns added back into an image at their blocks, overlaps summed (``F.fold``).
    Local derivative: unfold, which reads each block's gradient."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "fold"
    formulas = ("unfold (each column reads the gradient of its block)",)

    def forward(self, cols, size, options):
        self.options = options
        return _batched(cols, 3, _col2im, size, *options)

    def backward(self, grad):
        return (_batched(grad, 4, _im2col, *self.options),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (Im2Col.apply(grad, options=self.options),)


# ---- argument checks, with PyTorch's messages ---------------------------------------------------
def _pair(value, name: str, op: str) -> tuple[int, int]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(
                f"{op}(): argument '{name}' must be an int or a tuple of ints, but found an "
                f"element of type {type(v).__name__} in {value!r}"
            )
    if len(values) != 2:
        raise ArgumentError(
            f"{op}: it is expected {name} equals to 2, but got size {len(values)} ({value!r}); "
            f"give one int or a pair (height, width)"
        )
    return int(values[0]), int(values[1])


def _options(op: str, kernel_size, dilation, padding, stride) -> tuple:
    kernel, dilation = _pair(kernel_size, "kernel_size", op), _pair(dilation, "dilation", op)
    padding, stride = _pair(padding, "padding", op), _pair(stride, "stride", op)
    for name, (a, b), low in (
        ("kernel size", kernel, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
    ):
        if a < low or b < low:
            short = {"kernel size": "kernel", "padding": "pad"}.get(name, name)
            rule = "be greater than zero" if low else "be non-negative"
            raise ArgumentError(
                f"{op}: {name} should {rule}, but got {short}_height: {a} {short}_width: {b}"
            )
    return kernel, dilation, padding, stride


def _float(x: Tensor, op: str) -> None:
    if x.array.dtype.kind != "f":
        raise DTypeNotImplementedError(
            f"{op} is not implemented for {x.array.dtype} (as PyTorch's); convert the input "
            f"with x.float() or x.double()"
        )


def _describe(options) -> str:
    kernel, dilation, padding, stride = options
    return f"kernel_size={kernel}, dilation={dilation}, padding={padding}, stride={stride}"


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:  # noqa: A002
    """PyTorch's ``F.unfold``: every sliding (kh × kw) block of a batch of images as a column,
    the block's channels first, then its rows, then its columns.

    Args:
        input: images (N, C, H, W), or one image (C, H, W).
        kernel_size, dilation, padding, stride: ints or (height, width) pairs, as a
            convolution's; zeros are added around each image by ``padding``.

    Shape: (N, C, H, W) → (N, C·kh·kw, L) and (C, H, W) → (C·kh·kw, L), where L = OH·OW and
    OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1 (OW alike).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.unfold(cr.ones(2, 3, 5, 6), 2).shape
        (2, 12, 20)
    """
    x = operand(input)
    options = _options("unfold", kernel_size, dilation, padding, stride)
    if x.ndim not in (3, 4) or 0 in x.shape[x.ndim - 3 :]:
        error = DimensionError if x.ndim < 3 else ShapeError
        raise error(
            f"unfold: expected a 3D (C, H, W) or 4D (N, C, H, W) tensor with possibly 0 batch "
            f"size and other non-zero dimensions for input, but got: {list(x.shape)}"
        )
    _float(x, "unfold")
    kernel, dilation, padding, stride = options
    size = x.shape[-2:]
    blocks = [_blocks(size[k], padding[k], kernel[k], dilation[k], stride[k]) for k in (0, 1)]
    if min(blocks) < 1:
        raise ShapeError(
            f"unfold: given input with spatial size {tuple(size)}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding "
            f"blocks as {tuple(blocks)}, but its components must be at least one; use a smaller "
            f"kernel or dilation, or more padding"
        )
    return Im2Col.apply(x, options=options)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:  # noqa: A002
    """PyTorch's ``F.fold``, the adjoint of :func:`unfold`: each column is added back into an
    image of ``output_size`` at its block's position; where blocks overlap, the values sum.

    Args:
        input: columns (N, C·kh·kw, L), or (C·kh·kw, L) for one image.
        output_size: (H, W) of the image (an int for both), before padding is cut off.
        kernel_size, dilation, padding, stride: as :func:`unfold`'s; L must be the number of
            blocks these give in an image of ``output_size``.

    Shape: (N, C·kh·kw, L) → (N, C, H, W) and (C·kh·kw, L) → (C, H, W).

    Example:
        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> F.fold(F.unfold(cr.ones(1, 1, 3, 3), 2), (3, 3), 2).numpy()[0, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    cols = operand(input)
    size = _pair(output_size, "output_size", "fold")
    options = _options("fold", kernel_size, dilation, padding, stride)
    if cols.ndim not in (2, 3) or 0 in cols.shape[cols.ndim - 2 :]:
        raise ShapeError(
            f"fold: expected a 2D (C·kh·kw, L) or 3D (N, C·kh·kw, L) tensor for input with "
            f"possibly 0 batch size and non-zero dimensions, but got: {list(cols.shape)}"
        )
    _float(cols, "fold")
    kernel, dilation, padding, stride = options
    rows, length = cols.shape[-2:]
    if rows % (kernel[0] * kernel[1]):
        raise ShapeError(
            f"fold: expected size of input's dimension {cols.ndim - 2} to be divisible by the "
            f"product of kernel_size, but got input.size({cols.ndim - 2})={rows} and "
            f"kernel_size={kernel}"
        )
    blocks = [_blocks(size[k], padding[k], kernel[k], dilation[k], stride[k]) for k in (0, 1)]
    if min(blocks) < 1 or blocks[0] * blocks[1] != length:
        raise ShapeError(
            f"fold: given output_size={size}, {_describe(options)}, expected size of input's "
            f"dimension {cols.ndim - 1} to match the calculated number of sliding blocks "
            f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
            f"input.size({cols.ndim - 1})={length}"
        )
    return Col2Im.apply(cols, size=size, options=options)
