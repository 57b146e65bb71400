"""Softmax and log-softmax along one axis, stable for any finite input (the maximum is
subtracted first and the exact 1 it contributes is kept apart from the rest of the sum)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops._util import normalize_axis
from chainrule.tensor import Tensor


class _Top:
    """Where the maximum of each slice along ``axis`` sits, to read and write those entries.

    ``np.take_along_axis`` and ``np.put_along_axis`` cost 4–5 µs a call, more than the rest of a
    small softmax together. Along the last axis of a C-ordered array the same entries are one
    fancy index into the flat view (a quarter of a microsecond); other layouts use NumPy's.
    """

    __slots__ = ("index", "axis", "flat")

    def __init__(self, x: np.ndarray, axis: int):
        self.index = x.argmax(axis=axis, keepdims=True)  # the method: np.argmax wraps it
        self.axis = axis
        self.flat = None
        if axis == x.ndim - 1:
            n = x.shape[-1]
            self.flat = self.index + np.arange(0, self.index.size * n, n).reshape(self.index.shape)

    def take(self, a: np.ndarray) -> np.ndarray:
        if self.flat is not None and a.flags.c_contiguous:
            return a.reshape(-1)[self.flat]
        return np.take_along_axis(a, self.index, axis=self.axis)

    def put(self, a: np.ndarray, value) -> None:
        """Write ``value`` at the maxima of ``a`` (a fresh array this module made)."""
        if self.flat is not None and a.flags.c_contiguous:
            a.reshape(-1)[self.flat] = value
        else:
            np.put_along_axis(a, self.index, value, axis=self.axis)


def _softmax_parts(x: np.ndarray, axis: int):
    """Shifted logits x − max, where the max is (:class:`_Top`), r = Σ e^(x−max) over all but
    the max, and ln(1 + r). Splitting off the max's exact 1 lets log1p keep tiny
    log-probabilities exact."""
    top = _Top(x, axis)
    shifted = x - top.take(x)
    e = np.exp(shifted)
    top.put(e, 0)
    rest = e.sum(axis=axis, keepdims=True)
    top.put(e, 1)
    return shifted, e, top, rest, np.log1p(rest)


class Softmax(Function):
    """e^(x_i) / Σ_j e^(x_j) along an axis.  Local derivative: p_i·(δ_ij − p_j)."""

    label = "softmax"
    formulas = ("p·(δ − p)  (grad·p − p·Σ grad·p)",)

    def forward(self, x, axis):
        self.axis = axis
        _, e, self.top, self.rest, _ = _softmax_parts(x, axis)
        self.out = e / (1 + self.rest)
        return self.out

    def backward(self, grad):
        p, axis, top = self.out, self.axis, self.top
        gp = grad * p
        dot = gp.sum(axis=axis, keepdims=True)
        grad_x = gp - p * dot
        # At the max, p·(g − Σgp) = p·(g·(1 − p) − Σ_others g·p), with 1 − p = r/(1 + r) exact.
        g_top = top.take(grad)
        p_top = top.take(p)
        others = dot - g_top * p_top
        exact = p_top * (g_top * (self.rest / (1 + self.rest)) - others)
        top.put(grad_x, exact)
        return (grad_x,)


class LogSoftmax(Function):
    """x_i − ln Σ_j e^(x_j) along an axis.  Local derivative: δ_ij − softmax(x)_j."""

    label = "log_softmax"
    formulas = ("δ − softmax(x)  (grad − softmax·Σ grad)",)

    def forward(self, x, axis):
        self.axis = axis
        shifted, _, self.top, self.rest, log_total = _softmax_parts(x, axis)
        self.out = shifted - log_total
        return self.out

    def backward(self, grad):
        axis, top = self.axis, self.top
        total = grad.sum(axis=axis, keepdims=True)
        grad_x = grad - np.exp(self.out) * total
        # At the max: g − p·Σg = (g − Σg) + (1 − p)·Σg, exact when only the max has a gradient.
        g_top = top.take(grad)
        exact = (g_top - total) + (self.rest / (1 + self.rest)) * total
        top.put(grad_x, exact)
        return (grad_x,)


def _softmax_axis(x: Tensor, axis, dim, op: str) -> int:
    if dim is not None:  # PyTorch's name wins over the default axis=-1
        axis = dim
    if axis is None or not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{op} needs one integer axis, got {axis!r}")
    axes = normalize_axis(axis, None, x.array.ndim, op)
    return axes[0]


def _along_axis(op_class, x, axis, dim, op: str) -> Tensor:
    x = _float_operand(x, op)
    axis = _softmax_axis(x, axis, dim, op)
    if x.array.ndim == 0:  # a single number: treat it as a vector of length 1
        from chainrule.ops.shape import reshape

        return reshape(op_class.apply(reshape(x, 1), axis=0), ())
    return op_class.apply(x, axis=axis)


def softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Softmax e^x / Σ e^x along one axis; every slice along it sums to 1.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.softmax(cr.tensor([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    return _along_axis(Softmax, x, axis, dim, "softmax")


def log_softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Log-softmax x − ln Σ e^x along one axis, stable for any finite logits.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> [round(v, 4) for v in cr.functional.log_softmax(cr.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    return _along_axis(LogSoftmax, x, axis, dim, "log_softmax")
