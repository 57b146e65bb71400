"""Pooling over images (NCHW) and sequences (NCL): max, average and adaptive average.

Max pooling is an elementwise maximum over the kh·kw strided views of the input, keeping the
arg-max offset so that backward routes each gradient to the one input that won, as PyTorch
does. Average pooling sums the same views and divides by the window's count.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv_util import (  # noqa: F401 - some are re-exported
    _float_input,
    pair,
    single,
)
from chainrule.ops.getitem import PlaceAt
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


# ---- pooling ------------------------------------------------------------------------------------
def _pool_size(size, kernel, stride, pad, dilation, ceil_mode) -> tuple[int, int]:
    """PyTorch's pooled length and the extra right padding its last window may need."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad:  # the last window would start in the padding
            out -= 1
    else:
        out = span // stride + 1
    extra = max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - (size + 2 * pad))
    return out, extra


def _offset_slices(i, j, stride, dilation, out_hw):
    (st_h, st_w), (dh, dw), (oh, ow) = stride, dilation, out_hw
    return (
        slice(None),
        slice(None),
        slice(i * dh, i * dh + st_h * (oh - 1) + 1, st_h),
        slice(j * dw, j * dw + st_w * (ow - 1) + 1, st_w),
    )


def first_inside_tap(out: int, stride: int, dilation: int, pad: int) -> np.ndarray:
    """For each of ``out`` windows along an axis, its first kernel tap past the padding in
    front (PyTorch's max pools start each window's arg-max there)."""
    start = np.arange(out) * stride - pad  # each window's first tap, in input coordinates
    return np.maximum(0, -(start // dilation))  # taps that fall before the input: ⌈−start/d⌉


def _pad_nchw(x, pads, fill) -> np.ndarray:
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + top + bottom, w + left + right), fill, x.dtype)
    xp[:, :, top : top + h, left : left + w] = x
    return xp


class MaxPool2d(Function):
    """Largest value of each window; the gradient goes to the one input that won (the first
    maximum in row-major window order, as in PyTorch)."""

    label = "max_pool2d"
    formulas = ("1 at the window's arg-max, else 0",)

    def forward(self, x, *, kernel, stride, pads, dilation, out_hw):
        self.x_shape, self.pads, self.kernel = x.shape, pads, kernel
        self.stride, self.dilation, self.out_hw = stride, dilation, out_hw
        xp = _pad_nchw(x, pads, -np.inf)
        self.padded_hw = xp.shape[2:]
        kh, kw = kernel
        windows = [
            xp[_offset_slices(k // kw, k % kw, stride, dilation, out_hw)] for k in range(kh * kw)
        ]
        out = windows[0].copy()
        for window in windows[1:]:
            np.maximum(out, window, out=out)  # NaN wins, as in PyTorch
        # The arg-max: the first offset whose value equals the maximum, found by writing the
        # offsets last to first (cheaper than tracking it through the comparisons above).
        arg = np.zeros(out.shape, np.int16 if kh * kw < 32000 else np.int32)
        hit = np.empty(out.shape, bool)
        change = np.empty_like(arg)
        for k in range(kh * kw - 1, -1, -1):
            np.equal(windows[k], out, out=hit)
            # arg = k where hit: arg += (k − arg)·hit in integers, 20x np.copyto(where=)'s speed
            np.subtract(arg.dtype.type(k), arg, out=change)
            np.multiply(change, hit, out=change)
            arg += change
        nan = np.isnan(out)
        if nan.any():  # PyTorch keeps the last NaN of a window
            for k in range(kh * kw):
                np.copyto(arg, k, where=nan & np.isnan(windows[k]))
        if pads[0] or pads[2]:  # a −∞ maximum ties with the padding: it goes inside, as PyTorch
            first = first_inside_tap(out_hw[0], stride[0], dilation[0], pads[0])[:, None] * kw
            first = first + first_inside_tap(out_hw[1], stride[1], dilation[1], pads[2])
            np.copyto(arg, first.astype(arg.dtype), where=np.isneginf(out))
        self.arg = arg
        return out

    def indices(self) -> np.ndarray:
        """PyTorch's ``return_indices``: the flat index h·W + w of each maximum in its plane."""
        kh, kw = self.kernel
        oh, ow = self.out_hw
        top, _, left, _ = self.pads
        row = (np.arange(oh) * self.stride[0])[:, None] + (self.arg // kw) * self.dilation[0] - top
        col = (np.arange(ow) * self.stride[1])[None, :] + (self.arg % kw) * self.dilation[1] - left
        return (row * self.x_shape[3] + col).astype(np.int64)

    def backward(self, grad):
        kh, kw = self.kernel
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_hw), grad.dtype)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1
        hit = np.empty(grad.shape, bool)
        for k in range(kh * kw):
            where = _offset_slices(k // kw, k % kw, self.stride, self.dilation, self.out_hw)
            np.equal(self.arg, k, out=hit)
            if disjoint:  # every input sits in one window: write, no read-modify-write
                np.multiply(grad, hit, out=grad_xp[where])
            else:
                grad_xp[where] += grad * hit
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        return (grad_xp[:, :, top : top + h, left : left + w],)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives): each window's
        gradient added at its arg-max, which is constant almost everywhere."""
        kh, kw = self.kernel
        oh, ow = self.out_hw
        row = (np.arange(oh) * self.stride[0])[:, None] + (self.arg // kw) * self.dilation[0]
        col = (np.arange(ow) * self.stride[1])[None, :] + (self.arg % kw) * self.dilation[1]
        n, c = np.indices(self.x_shape[:2], sparse=True)
        index = (n[..., None, None], c[..., None, None], row, col)
        shape = (*self.x_shape[:2], *self.padded_hw)
        grad_xp = PlaceAt.apply(grad, shape=shape, index=index, advanced=True)
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        grad_x = grad_xp[:, :, top : top + h, left : left + w]
        return (tie(grad_x, self.parents[0], name="MaxPool2DWithIndicesBackwardBackward0"),)


class AvgPool2d(Function):
    """Mean of each window: out = Σ window / divisor, where the divisor counts the window's
    cells inside the input (``count_include_pad=False``), inside the padded input (True), or is
    ``divisor_override``."""

    label = "avg_pool2d"
    formulas = ("1/divisor for every input in the window",)

    def forward(self, x, *, kernel, stride, pads, out_hw, count_include_pad, divisor_override):
        self.x_shape, self.pads, self.kernel, self.stride = x.shape, pads, kernel, stride
        self.out_hw = out_hw
        if divisor_override is not None:
            divisor = np.full(out_hw, float(divisor_override))
        else:
            h, w = x.shape[-2:]
            rows = _avg_divisor(h, kernel[0], stride[0], pads[0], out_hw[0], count_include_pad)
            cols = _avg_divisor(w, kernel[1], stride[1], pads[2], out_hw[1], count_include_pad)
            divisor = rows[:, None] * cols[None, :]
        xp = _pad_nchw(x, pads, 0.0)
        self.padded_hw = xp.shape[2:]
        kh, kw = kernel
        one = (1, 1)
        out = xp[_offset_slices(0, 0, stride, one, out_hw)].copy()
        for k in range(1, kh * kw):
            out += xp[_offset_slices(k // kw, k % kw, stride, one, out_hw)]
        self.scale = (1.0 / divisor).astype(x.dtype)
        out *= self.scale
        return out

    def backward(self, grad):
        kh, kw = self.kernel
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_hw), grad.dtype)
        scaled = grad * self.scale
        for k in range(kh * kw):
            grad_xp[_offset_slices(k // kw, k % kw, self.stride, (1, 1), self.out_hw)] += scaled
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        return (grad_xp[:, :, top : top + h, left : left + w],)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        kh, kw = self.kernel
        scaled = grad * Tensor._make(self.scale, False)
        shape = (*self.x_shape[:2], *self.padded_hw)
        grad_xp = None
        for k in range(kh * kw):
            where = _offset_slices(k // kw, k % kw, self.stride, (1, 1), self.out_hw)
            part = PlaceAt.apply(scaled, shape=shape, index=where, advanced=False)
            grad_xp = part if grad_xp is None else grad_xp + part
        top, _, left, _ = self.pads
        h, w = self.x_shape[2:]
        return (grad_xp[:, :, top : top + h, left : left + w],)


def _avg_divisor(size, kernel, stride, pad, out, count_include_pad) -> np.ndarray:
    """How many cells each window along one axis counts (PyTorch's rule)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if count_include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    x = operand(x)
    _float_input(x, op)
    kernel = pair(kernel_size, "kernel_size", op, 1)
    stride = (
        kernel if stride is None or stride == () or stride == [] else pair(stride, "stride", op, 1)
    )
    padding = pair(padding, "padding", op, 0)
    dilation = pair(dilation, "dilation", op, 1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ShapeError(  # a ValueError, and PyTorch's RuntimeError
                f"{op}: padding {padding} must be at most half the kernel size {kernel}"
            )
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    h, w = x.shape[-2:]
    oh, extra_h = _pool_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow, extra_w = _pool_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"{op}: input of spatial size {(h, w)} is smaller than the kernel {kernel} "
            f"(padding {padding}); use a smaller kernel or a larger input"
        )
    pads = (padding[0], padding[0] + extra_h, padding[1], padding[1] + extra_w)
    return x, kernel, stride, padding, dilation, pads, (oh, ow)


def _batched(x: Tensor):
    return (x.reshape(1, *x.shape), True) if x.ndim == 3 else (x, False)


def max_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (padding counts as −∞).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows (default: the kernel size).
        padding: −∞ padding on each side, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a last, partial window), never starting a window
            in the right padding.
        return_indices: also return the flat index (h·W + w) of each maximum, as an int64
            array.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.max_pool2d(cr.ones(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    input, kernel, stride, _, dilation, pads, out_hw = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d"
    )
    input, unbatched = _batched(input)
    out = MaxPool2d.apply(
        input, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_hw=out_hw
    )
    if not return_indices:
        return out.reshape(out.shape[1:]) if unbatched else out
    fn = out._ctx if out._ctx is not None else None
    if fn is None:  # no graph was recorded: run the op once more to read its arg-max
        fn = MaxPool2d()
        fn.forward(
            input.array, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_hw=out_hw
        )
    indices = Tensor._make(fn.indices().astype(np.int64, copy=False), False)  # as PyTorch's
    if unbatched:
        return out.reshape(out.shape[1:]), indices[0]
    return out, indices


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool2d` (zero padding).
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window by this instead.
    """
    op = "avg_pool2d"
    input, kernel, stride, padding, _, pads, out_hw = _pool_args(
        input, kernel_size, stride, padding, 1, ceil_mode, op
    )
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, int)
        or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    input, unbatched = _batched(input)
    out = AvgPool2d.apply(
        input,
        kernel=kernel,
        stride=stride,
        pads=pads,
        out_hw=out_hw,
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )
    return out.reshape(out.shape[1:]) if unbatched else out


def _as_2d_pool(x, op):
    x = operand(x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op} expects input of shape (N, C, L) or (C, L), got {x.shape}")
    return x.reshape(*x.shape[:-1], 1, x.shape[-1])


def _squeeze_height(out: Tensor) -> Tensor:
    return out.reshape(*out.shape[:-2], out.shape[-1])


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """1-D max pooling over (N, C, L), as ``torch.nn.functional.max_pool1d``."""
    op = "max_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op, 1))
    result = max_pool2d(
        _as_2d_pool(input, op),
        (1, single(kernel_size, "kernel_size", op, 1)),
        stride,
        (0, single(padding, "padding", op)),
        (1, single(dilation, "dilation", op, 1)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        out, indices = result
        return _squeeze_height(out), indices.reshape(*indices.shape[:-2], indices.shape[-1])
    return _squeeze_height(result)


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """1-D average pooling over (N, C, L), as ``torch.nn.functional.avg_pool1d``."""
    op = "avg_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op, 1))
    out = avg_pool2d(
        _as_2d_pool(input, op),
        (1, single(kernel_size, "kernel_size", op, 1)),
        stride,
        (0, single(padding, "padding", op)),
        ceil_mode,
        count_include_pad,
    )
    return _squeeze_height(out)


class AdaptiveAvgPool2d(Function):
    """Average over PyTorch's adaptive windows [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉), written as two
    averaging matrices: out = A_h · x · A_wᵀ, so backward is A_hᵀ · grad · A_w."""

    label = "adaptive_avg_pool2d"
    formulas = ("1/(window size) for every input in the window",)

    def forward(self, x, *, output_size):
        h, w = x.shape[-2:]
        a_h, a_w = _adaptive_matrix(h, output_size[0]), _adaptive_matrix(w, output_size[1])
        self.a_h, self.a_w = a_h.astype(x.dtype), a_w.astype(x.dtype)
        return np.matmul(np.matmul(self.a_h, x), self.a_w.T)

    def backward(self, grad):
        return (np.matmul(np.matmul(self.a_h.T, grad), self.a_w),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (Tensor._make(self.a_h.T, False) @ grad @ Tensor._make(self.a_w, False),)


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    positions = np.arange(size)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return inside / (end - start)[:, None]


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (OH, OW), an int for both, or ``None`` in a place to keep that size.
    """
    op = "adaptive_avg_pool2d"
    input = operand(input)
    _float_input(input, op)
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"{op} expects input of shape (N, C, H, W) or (C, H, W), got {input.shape}"
        )
    h, w = input.shape[-2:]
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(s if s is not None else d for s, d in zip(sizes, (h, w)))
    oh, ow = pair(sizes, "output_size", op, 1)
    if h < 1 or w < 1:
        raise ShapeError(f"{op} got an empty input of shape {input.shape}")
    return AdaptiveAvgPool2d.apply(input, output_size=(oh, ow))


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Adaptive average pooling over (N, C, L) to ``output_size`` positions."""
    op = "adaptive_avg_pool1d"
    return _squeeze_height(
        adaptive_avg_pool2d(_as_2d_pool(input, op), (1, single(output_size, "output_size", op, 1)))
    )
