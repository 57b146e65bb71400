"""Reductions: sum, mean, max, min, var, std, logsumexp, argmax, argmin."""

from __future__ import annotations

import builtins

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import expand_reduced, normalize_axis, operand
from chainrule.tensor import Tensor


class Sum(Function):
    label = "Σ"
    formulas = ("1",)

    def forward(self, x, axes, keepdims):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return np.sum(x, axis=axes, keepdims=keepdims)

    def backward(self, grad):
        grad = expand_reduced(grad, self.in_shape, self.axes, self.keepdims)
        return (np.broadcast_to(grad, self.in_shape),)


class Mean(Function):
    label = "mean"
    formulas = ("1/n",)

    def forward(self, x, axes, keepdims):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        out = np.mean(x, axis=axes, keepdims=keepdims)
        self.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out

    def backward(self, grad):
        grad = expand_reduced(grad, self.in_shape, self.axes, self.keepdims) / builtins.max(
            self.count, 1
        )
        return (np.broadcast_to(grad, self.in_shape),)


class _Extreme(Function):
    """Shared by Max and Min: the gradient goes to the extreme element(s); ties share it."""

    reducer = None

    def forward(self, x, axes, keepdims):
        self.x, self.axes, self.keepdims = x, axes, keepdims
        self.out = type(self).reducer(x, axis=axes, keepdims=True)
        if keepdims:
            return self.out
        return self.out.reshape(()) if axes is None else np.squeeze(self.out, axis=axes)

    def backward(self, grad):
        grad = expand_reduced(grad, self.x.shape, self.axes, self.keepdims)
        hit = self.x == self.out
        count = hit.sum(axis=self.axes, keepdims=True)
        return (np.where(hit, grad / count, np.zeros((), dtype=grad.dtype)),)


class Max(_Extreme):
    label = "max"
    formulas = ("1/(number of maxima) at a maximum, else 0",)
    reducer = staticmethod(np.max)


class Min(_Extreme):
    label = "min"
    formulas = ("1/(number of minima) at a minimum, else 0",)
    reducer = staticmethod(np.min)


class LogSumExp(Function):
    """ln Σ exp(x), computed as m + ln Σ exp(x − m) with m = max(x) so nothing overflows."""

    label = "logsumexp"
    formulas = ("softmax(x)",)

    def forward(self, x, axes, keepdims):
        self.x, self.axes, self.keepdims = x, axes, keepdims
        shift = np.max(x, axis=axes, keepdims=True)
        top = (x == shift) & np.isfinite(shift)
        shift = np.where(np.isfinite(shift), shift, np.zeros((), dtype=x.dtype))
        # Σ exp(x − m) = count + rest, with count the maxima's exact 1s: ln(count) +
        # log1p(rest/count) keeps a tiny result (e.g. ln(1 + e^−37)) instead of rounding to 0.
        count = np.sum(top, axis=axes, keepdims=True).astype(x.dtype)
        rest = np.sum(np.where(top, 0, np.exp(x - shift)), axis=axes, keepdims=True)
        some = count > 0
        ones = np.where(some, count, 1)
        with np.errstate(divide="ignore"):  # no finite maximum: ln Σ as before (may be −inf)
            fallback = np.log(np.where(some, 1, rest))
        self.out = shift + np.where(some, np.log(ones) + np.log1p(rest / ones), fallback)
        if keepdims:
            return self.out
        return self.out.reshape(()) if axes is None else np.squeeze(self.out, axis=axes)

    def backward(self, grad):
        grad = expand_reduced(grad, self.x.shape, self.axes, self.keepdims)
        return (grad * np.exp(self.x - self.out),)


def _reduce(op, x, axis, keepdims, dim, name):
    x = operand(x)
    axes = normalize_axis(axis, dim, x.array.ndim, name)
    if x.array.ndim == 0:
        axes = None
    return op.apply(x, axes=axes, keepdims=keepdims)


def sum(x, axis=None, keepdims=False, *, dim=None) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (None: all; an int or a tuple); ``dim`` is accepted as in PyTorch."""
    return _reduce(Sum, x, axis, keepdims, dim, "sum")


def mean(x, axis=None, keepdims=False, *, dim=None) -> Tensor:
    """Mean over ``axis`` (None: all; an int or a tuple)."""
    return _reduce(Mean, x, axis, keepdims, dim, "mean")


def max(x, axis=None, keepdims=False, *, dim=None) -> Tensor:  # noqa: A001
    """Largest value over ``axis``; tied maxima share the gradient evenly."""
    return _reduce(Max, x, axis, keepdims, dim, "max")


def min(x, axis=None, keepdims=False, *, dim=None) -> Tensor:  # noqa: A001
    """Smallest value over ``axis``; tied minima share the gradient evenly."""
    return _reduce(Min, x, axis, keepdims, dim, "min")


def logsumexp(x, axis=None, keepdims=False, *, dim=None) -> Tensor:
    """ln Σ exp(x) over ``axis``, stable for any finite input."""
    return _reduce(LogSumExp, x, axis, keepdims, dim, "logsumexp")


def var(x, axis=None, keepdims=False, *, dim=None, correction=0) -> Tensor:
    """Variance over ``axis``: Σ(x − mean)² / (n − correction) (NumPy's default, correction=0)."""
    x = operand(x)
    axes = normalize_axis(axis, dim, x.array.ndim, "var")
    n = x.array.size if axes is None else int(np.prod([x.array.shape[a] for a in axes]))
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) / (n - correction)


def std(x, axis=None, keepdims=False, *, dim=None, correction=0) -> Tensor:
    """Standard deviation: √var."""
    from chainrule.ops.elementwise import sqrt

    return sqrt(var(x, axis=axis, keepdims=keepdims, dim=dim, correction=correction))


def argmax(x, axis=None, keepdims=False, *, dim=None) -> Tensor:
    """Index of the largest value (an integer tensor, no gradient)."""
    x = operand(x)
    axis = dim if dim is not None else axis
    return Tensor._make(np.asarray(np.argmax(x.array, axis=axis, keepdims=keepdims)), False)


def argmin(x, axis=None, keepdims=False, *, dim=None) -> Tensor:
    """Index of the smallest value (an integer tensor, no gradient)."""
    x = operand(x)
    axis = dim if dim is not None else axis
    return Tensor._make(np.asarray(np.argmin(x.array, axis=axis, keepdims=keepdims)), False)
