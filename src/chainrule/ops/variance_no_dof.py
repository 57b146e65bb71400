"""The variance where n − correction ≤ 0 (``var``, ``std``, ``var_mean``, ``std_mean`` with a
correction of at least the number of elements): PyTorch's values and PyTorch's gradient.

The value is Σ(x − mean)² ÷ max(n − correction, 0): +∞, or NaN for a constant slice (0/0).
Composed ops would carry ∞·(x − mean) through the mean's derivative, whose ∞ − ∞ makes every
gradient NaN. PyTorch's ``var_backward`` leaves the mean out (Σ(x − mean) = 0), so its
gradient, matched here, is

- over every element (no ``dim``, or a 0-d tensor): grad·(NaN where x = mean, +∞ elsewhere);
- over ``dim``: 2/(n − correction)·grad·(x − mean), the divisor not clamped: ±∞ (NaN at the
  mean) when n = correction, a finite negative multiple when n < correction.

``std`` of it (√ of +∞ or NaN) then gets PyTorch's gradients through ``StdRoot``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import expand_reduced
from chainrule.tensor import Tensor


class VarNoDof(Function):
    """Σ(x − mean)² ÷ max(n − correction, 0) with n − correction ≤ 0.  Local derivative:
    2·(x − mean)/(n − correction) over ``dim``; NaN at the mean and +∞ elsewhere over all."""

    label = "var"
    formulas = ("2·(x − mean)/(n − correction); over all: NaN at the mean, +∞ elsewhere",)

    def forward(self, x, axes, keepdims, dof, full):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.dof, self.full = dof, full
        # (an empty x has nothing to centre; np.mean would warn about the empty slice)
        centred = np.subtract(x, np.mean(x, axis=axes, keepdims=True)) if x.size else x.copy()
        self.centred = centred
        squares = np.sum(np.multiply(centred, centred), axis=axes, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.divide(squares, 0))

    def _full_factor(self) -> np.ndarray:
        """Over every element: NaN where x equals the mean, +∞ elsewhere."""
        dtype = self.centred.dtype
        return np.where(self.centred == 0, dtype.type(np.nan), dtype.type(np.inf))

    def _scale(self):
        """Over ``dim``: 2/(n − correction) in the input's dtype (+∞ for n = correction)."""
        with np.errstate(divide="ignore"):
            return self.centred.dtype.type(np.float64(2.0) / np.float64(self.dof))

    def backward(self, grad):
        grad = expand_reduced(grad, self.in_shape, self.axes, self.keepdims)
        with np.errstate(invalid="ignore", over="ignore"):
            if self.full:
                return (np.multiply(grad, self._full_factor()),)
            return (np.multiply(np.multiply(grad, self._scale()), self.centred),)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (for second derivatives): the constant factor
        over all elements; (2/(n − correction))·grad·(x − mean) over ``dim``."""
        from chainrule.ops.reduce import mean

        shape = list(self.in_shape)
        for axis in range(len(shape)) if self.axes is None else self.axes:
            shape[axis] = 1
        grad = grad.reshape(tuple(shape))
        if self.full:
            return (grad * Tensor._make(self._full_factor(), False),)
        (x,) = self.parents
        return ((grad * float(self._scale())) * (x - mean(x, axis=self.axes, keepdims=True)),)


class VarMeanNoDof(VarNoDof):
    """var_mean's variance where n − correction ≤ 0: PyTorch's ``VarMeanBackward0``."""
