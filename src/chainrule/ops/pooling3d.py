"""3-D max and average pooling over volumes (NCDHW), as ``torch.nn.functional.max_pool3d`` and
``avg_pool3d``, written as the 2-D pools are (``ops/pooling.py``): one op each, over the
kd·kh·kw strided views of the (padded) input, never a copy per tap.

- max: an elementwise maximum over the views, keeping the arg-max tap so that backward routes
  each gradient to the window's first maximum in (depth, row, column) order, PyTorch's; NaN
  wins, as in PyTorch.
- average: the views summed, times 1 / PyTorch's divisor, which is the product of each axis's
  count (padding counted or not, windows cut by ``ceil_mode``).

The op classes carry PyTorch's node names (``MaxPool3DWithIndices``, ``AvgPool3D``), so
``grad_fn.name()`` agrees with PyTorch's ``MaxPool3DWithIndicesBackward0`` and
``AvgPool3DBackward0``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import fixed
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import operand
from chainrule.ops.conv3d_util import triple
from chainrule.ops.conv_util import _float_input
from chainrule.ops.getitem import PlaceAt
from chainrule.ops.piecewise_link import tie
from chainrule.ops.pooling import first_inside_tap
from chainrule.tensor import Tensor


def _tap_slices(tap: int, kernel, stride, dilation, out_size) -> tuple:
    """The (N, C, OD, OH, OW) view of padded volumes that kernel tap ``tap`` (flat, in
    (depth, row, column) order) reads for every window."""
    kd, kh, kw = kernel
    offsets = (tap // (kh * kw), tap // kw % kh, tap % kw)
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s)
        for o, d, s, n in zip(offsets, dilation, stride, out_size)
    )


def _pad_volumes(x: np.ndarray, pads, fill) -> np.ndarray:
    if not any(pads):
        return x
    n, c, d, h, w = x.shape
    sizes = [size + pads[2 * i] + pads[2 * i + 1] for i, size in enumerate((d, h, w))]
    xp = np.full((n, c, *sizes), fill, x.dtype)
    xp[:, :, pads[0] : pads[0] + d, pads[2] : pads[2] + h, pads[4] : pads[4] + w] = x
    return xp


def _inside(xp, op):
    """The input's part of padded volumes, in the input's own rank (unbatched: no N)."""
    pads, (d, h, w) = op.pads, op.x_shape[2:]
    inside = xp[:, :, pads[0] : pads[0] + d, pads[2] : pads[2] + h, pads[4] : pads[4] + w]
    return inside[0] if op.unbatched else inside


class MaxPool3DWithIndices(Function):
    """Largest value of each (kD, kH, kW) window; the gradient goes to the one input that won
    (the first maximum in (depth, row, column) order, as in PyTorch)."""

    label = "max_pool3d"
    formulas = ("1 at the window's arg-max, else 0",)

    def forward(self, x, *, kernel, stride, pads, dilation, out_size):
        # an unbatched (C, D, H, W) volume is pooled as a batch of one, inside the op: PyTorch's
        # grad_fn of an unbatched pool is the pool's own node
        self.unbatched = x.ndim == 4
        x = x[None] if self.unbatched else x
        self.x_shape, self.pads, self.kernel = x.shape, pads, kernel
        self.stride, self.dilation, self.out_size = stride, dilation, out_size
        xp = _pad_volumes(x, pads, -np.inf)
        self.padded_size = xp.shape[2:]
        taps = kernel[0] * kernel[1] * kernel[2]
        views = [xp[_tap_slices(t, kernel, stride, dilation, out_size)] for t in range(taps)]
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)  # NaN wins, as in PyTorch
        # The arg-max: the first tap whose value equals the maximum, found by writing the taps
        # last to first (as MaxPool2d: cheaper than tracking it through the comparisons).
        arg = np.zeros(out.shape, np.int16 if taps < 32000 else np.int32)
        hit = np.empty(out.shape, bool)
        change = np.empty_like(arg)
        for t in range(taps - 1, -1, -1):
            np.equal(views[t], out, out=hit)
            np.subtract(arg.dtype.type(t), arg, out=change)  # arg = t where hit, in integers
            np.multiply(change, hit, out=change)
            arg += change
        nan = np.isnan(out)
        if nan.any():  # PyTorch keeps the last NaN of a window
            for t in range(taps):
                np.copyto(arg, t, where=nan & np.isnan(views[t]))
        if pads[0] or pads[2] or pads[4]:  # a −∞ maximum ties with the padding: as MaxPool2d
            firsts = [
                first_inside_tap(n, s, d, pad).reshape(shape)
                for n, s, d, pad, shape in zip(
                    out_size, stride, dilation, pads[::2], ((-1, 1, 1), (1, -1, 1), (1, 1, -1))
                )
            ]
            first = (firsts[0] * kernel[1] + firsts[1]) * kernel[2] + firsts[2]
            np.copyto(arg, first.astype(arg.dtype), where=np.isneginf(out))
        self.arg = arg
        return out[0] if self.unbatched else out

    def _positions(self) -> tuple:
        """(depth, row, column) in the padded volumes of each window's maximum."""
        kd, kh, kw = self.kernel
        taps = (self.arg // (kh * kw), self.arg // kw % kh, self.arg % kw)
        shapes = ((-1, 1, 1), (1, -1, 1), (1, 1, -1))
        return tuple(
            (np.arange(n) * s).reshape(shape) + tap * d
            for n, s, d, tap, shape in zip(self.out_size, self.stride, self.dilation, taps, shapes)
        )

    def indices(self) -> np.ndarray:
        """PyTorch's ``return_indices``: the flat index d·H·W + h·W + w of each maximum."""
        z, y, x = self._positions()
        h, w = self.x_shape[3:]
        z, y, x = z - self.pads[0], y - self.pads[2], x - self.pads[4]
        indices = ((z * h + y) * w + x).astype(np.int64)
        return indices[0] if self.unbatched else indices

    def backward(self, grad):
        grad = grad[None] if self.unbatched else grad
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_size), grad.dtype)
        disjoint = all(
            s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation, self.kernel)
        )
        hit = np.empty(grad.shape, bool)
        for t in range(self.kernel[0] * self.kernel[1] * self.kernel[2]):
            where = _tap_slices(t, self.kernel, self.stride, self.dilation, self.out_size)
            np.equal(self.arg, t, out=hit)
            if disjoint:  # every input sits in one window: write, no read-modify-write
                np.multiply(grad, hit, out=grad_xp[where])
            else:
                grad_xp[where] += grad * hit
        return (_inside(grad_xp, self),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives): each window's
        gradient added at its arg-max, which is constant almost everywhere."""
        grad = grad.unsqueeze(0) if self.unbatched else grad
        n, c = np.indices(self.x_shape[:2], sparse=True)
        index = (n[..., None, None, None], c[..., None, None, None], *self._positions())
        shape = (*self.x_shape[:2], *self.padded_size)
        grad_xp = PlaceAt.apply(grad, shape=shape, index=index, advanced=True)
        name = "MaxPool3DWithIndicesBackwardBackward0"
        return (tie(_inside(grad_xp, self), self.parents[0], name=name),)


class AvgPool3D(Function):
    """Mean of each (kD, kH, kW) window: out = Σ window · (1 / divisor), PyTorch's divisor."""

    label = "avg_pool3d"
    formulas = ("1/divisor for every input in the window",)

    def forward(self, x, *, kernel, stride, pads, out_size, scale):
        self.unbatched = x.ndim == 4  # (a batch of one inside the op, as MaxPool3DWithIndices)
        x = x[None] if self.unbatched else x
        self.x_shape, self.pads, self.kernel = x.shape, pads, kernel
        self.stride, self.out_size, self.scale = stride, out_size, scale
        xp = _pad_volumes(x, pads, 0.0)
        self.padded_size = xp.shape[2:]
        one = (1, 1, 1)
        out = xp[_tap_slices(0, kernel, stride, one, out_size)].copy()
        for t in range(1, kernel[0] * kernel[1] * kernel[2]):
            out += xp[_tap_slices(t, kernel, stride, one, out_size)]
        out *= scale
        return out[0] if self.unbatched else out

    def backward(self, grad):
        grad = grad[None] if self.unbatched else grad
        grad_xp = np.zeros((*self.x_shape[:2], *self.padded_size), grad.dtype)
        scaled = grad * self.scale
        for t in range(self.kernel[0] * self.kernel[1] * self.kernel[2]):
            grad_xp[_tap_slices(t, self.kernel, self.stride, (1, 1, 1), self.out_size)] += scaled
        return (_inside(grad_xp, self),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        grad = grad.unsqueeze(0) if self.unbatched else grad
        scaled = grad * Tensor._make(self.scale, False)
        shape = (*self.x_shape[:2], *self.padded_size)
        grad_xp = None
        for t in range(self.kernel[0] * self.kernel[1] * self.kernel[2]):
            where = _tap_slices(t, self.kernel, self.stride, (1, 1, 1), self.out_size)
            part = PlaceAt.apply(scaled, shape=shape, index=where, advanced=False)
            grad_xp = part if grad_xp is None else grad_xp + part
        return (_inside(grad_xp, self),)


def _pool3d_args(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    from chainrule.ops.pooling import _pool_size

    x = operand(x)
    _float_input(x, op)
    kernel = triple(kernel_size, "kernel_size", op, 1)
    empty = stride is None or stride == () or stride == []
    stride = kernel if empty else triple(stride, "stride", op, 1)
    padding = triple(padding, "padding", op, 0)
    dilation = triple(dilation, "dilation", op, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ShapeError(  # a ValueError, and PyTorch's RuntimeError
            f"{op}: padding {padding} must be at most half the kernel size {kernel}"
        )
    if x.ndim not in (4, 5):
        raise ShapeError(
            f"{op} expects input of shape (N, C, D, H, W) or (C, D, H, W), got {tuple(x.shape)}"
        )
    out_size, pads = [], []
    for axis, size in enumerate(x.shape[-3:]):
        out, extra = _pool_size(
            size, kernel[axis], stride[axis], padding[axis], dilation[axis], ceil_mode
        )
        if out < 1:
            name = ("depth", "height", "width")[axis]
            raise ShapeError(
                f"{op}: input {name} {size} is smaller than the kernel {kernel} (padding "
                f"{padding}); use a smaller kernel or a larger input"
            )
        out_size.append(out)
        pads += [padding[axis], padding[axis] + extra]  # ceil_mode's last window may need extra
    return x, kernel, stride, padding, dilation, tuple(pads), tuple(out_size)


def max_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d`` (padding counts as −∞).

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, dilation: ints or triples (stride: the kernel size).
        ceil_mode: round the output size up, never starting a window in the far padding.
        return_indices: also return the flat index (d·H·W + h·W + w) of each maximum, as an
            int64 tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.max_pool3d(cr.ones(1, 2, 4, 6, 6), 2).shape
        (1, 2, 2, 3, 3)
    """
    op = "max_pool3d"
    input, kernel, stride, _, dilation, pads, out_size = _pool3d_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, op
    )
    options = dict(kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_size=out_size)
    out = MaxPool3DWithIndices.apply(input, **options)
    if not return_indices:
        return out
    fn = out._ctx
    if fn is None:  # no graph was recorded: run the op once more to read its arg-max
        fn = MaxPool3DWithIndices()
        fn.forward(input.array, **options)
    return out, Tensor._make(fn.indices(), False)


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, ceil_mode: as :func:`max_pool3d` (zero padding).
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window by this instead.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.avg_pool3d(cr.ones(1, 2, 4, 6, 6), 2).shape
        (1, 2, 2, 3, 3)
    """
    op = "avg_pool3d"
    input, kernel, stride, padding, _, pads, out_size = _pool3d_args(
        input, kernel_size, stride, padding, 1, ceil_mode, op
    )
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, (int, np.integer))
        or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    sizes = (input.shape[-3:], kernel, stride, padding, out_size)
    # sizes alone decide it, so cr.compile's plan keeps it (compile_hooks.fixed)
    scale = fixed(_avg_scale3d, sizes, count_include_pad, divisor_override, input.dtype)
    return AvgPool3D.apply(
        input, kernel=kernel, stride=stride, pads=pads, out_size=out_size, scale=scale
    )


def _avg_scale3d(sizes, count_include_pad: bool, divisor_override, dtype) -> np.ndarray:
    """(OD, OH, OW): 1 / how many values each window of avg_pool3d averages."""
    from chainrule.ops.pooling import _avg_divisor

    if divisor_override is not None:
        return np.asarray(1.0 / divisor_override, dtype)
    counts = [_avg_divisor(*per_axis, count_include_pad) for per_axis in zip(*sizes)]
    divisor = np.multiply.outer(np.multiply.outer(counts[0], counts[1]), counts[2])
    return (1.0 / divisor).astype(dtype)
