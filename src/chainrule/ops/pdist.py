"""``pdist``: the p-norm distance between every pair of rows, as ``torch.nn.functional.pdist``.

For an (N, M) input the result holds ‖x_i − x_j‖_p for i < j in row-major order
(N·(N − 1)/2 values, the condensed upper triangle). The derivative is PyTorch's, pair by pair,
with d = x_i − x_j and D the pair's distance (x_j gets the negative):

- p = 0 (the count of differing coordinates): 0.
- p = 1: sign(d).
- p < 2: sign(d)·|d|^(p−1) / D^(p−1); 0 where D = 0, and where d = 0 when p < 1.
- p = 2: d / D; 0 where D = 0.
- p = ∞: sign(d) at every coordinate where |d| = D (ties all get it), else 0.
- other p: d·|d|^(p−2) / D^(p−1); 0 where D = 0.

Rows are compared one against all later rows at a time, so memory stays at N·M per step.
PyTorch has no second derivative for pdist, nor has chainrule.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def _distances(diff: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of each row of ``diff``."""
    if p == 0:
        return np.count_nonzero(diff, axis=1).astype(diff.dtype)
    if p == 1:
        return np.abs(diff).sum(axis=1)
    if p == 2:
        return np.sqrt((diff * diff).sum(axis=1))
    if p == math.inf:
        return np.abs(diff).max(axis=1, initial=0)
    return np.power(np.power(np.abs(diff), p).sum(axis=1), 1.0 / p)


def _pair_grad(diff: np.ndarray, grad: np.ndarray, dist: np.ndarray, p: float) -> np.ndarray:
    """∂‖d‖_p/∂d times each pair's upstream gradient, with PyTorch's zero rules."""
    g, dist = grad[:, None], dist[:, None]
    if p == 1:
        return g * np.sign(diff)
    if p == math.inf:
        return g * np.sign(diff) * (np.abs(diff) == dist)
    zero = dist == 0
    safe = np.where(zero, 1, dist)  # (the pairs at distance 0 get 0 below)
    if p == 2:
        return np.where(zero, 0, g * diff / safe)
    size = np.abs(diff)
    if p < 2:
        part = np.sign(diff) * np.power(size, p - 1) * g / np.power(safe, p - 1)
        if p < 1:
            part = np.where(diff == 0, 0, part)
    else:
        part = diff * np.power(size, p - 2) * g / np.power(safe, p - 1)
    return np.where(zero, 0, part)


class Pdist(Function):
    """‖x_i − x_j‖_p for every pair of rows i < j (PyTorch's ``PdistBackward0``)."""

    label = "pdist"
    formulas = ("∂‖x_i − x_j‖_p/∂x_i (PyTorch's rules at 0 and ∞), negated for x_j",)

    def forward(self, x, *, p):
        self.x, self.p = x, p
        n = x.shape[0]
        parts = [_distances(x[i] - x[i + 1 :], p) for i in range(n - 1)]
        self.out = np.concatenate(parts) if parts else np.zeros(0, x.dtype)
        return self.out.astype(x.dtype, copy=False)

    def backward(self, grad):
        x, p = self.x, self.p
        grad_x = np.zeros_like(x)
        if p == 0:
            return (grad_x,)
        start = 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for i in range(x.shape[0] - 1):
                stop = start + x.shape[0] - 1 - i
                diff = x[i] - x[i + 1 :]
                part = _pair_grad(diff, grad[start:stop], self.out[start:stop], p)
                grad_x[i] += part.sum(axis=0)
                grad_x[i + 1 :] -= part
                start = stop
        return (grad_x,)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph, as PyTorch's ``_pdist_backward`` node: its
        value is :meth:`backward`'s, and differentiating it again is refused, as PyTorch's."""
        return (PdistBackward.apply(grad, self.parents[0], op=self),)


class PdistBackward(Function):
    """pdist's gradient, recorded for ``create_graph=True``; it has no derivative itself."""

    label = "pdist_backward"
    formulas = (
        "not differentiable (as PyTorch's _pdist_backward)",
        "not differentiable (as PyTorch's _pdist_backward)",
    )

    def forward(self, grad, x, *, op):
        return op.backward(grad)[0]

    def backward(self, grad):
        raise NotImplementedError(
            "the derivative for pdist's gradient (PyTorch's '_pdist_backward') is not "
            "implemented, as in PyTorch: pdist has no second derivative; compute the distances "
            "with tensor ops, e.g. (x[i] - x[j]).norm(p), where one is needed"
        )

    backward_graph = backward  # (third derivatives neither)


def pdist(input, p: float = 2) -> Tensor:
    """The p-norm distance between every pair of rows, as ``torch.nn.functional.pdist``.

    Args:
        input: (N, M), floating point.
        p: the norm, ``p >= 0`` (0 counts differing coordinates; ``float('inf')`` the largest
            difference).

    Shape:
        (N, M) → (N·(N − 1)/2,): ‖x_0 − x_1‖, ‖x_0 − x_2‖, ..., ‖x_1 − x_2‖, ...

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.pdist(cr.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).tolist()
        [5.0, 1.0, 4.242640495300293]
    """
    input = operand(input)
    if input.ndim != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input.array.dtype.kind != "f":
        raise DTypeError(
            f"pdist only supports floating-point dtypes, got {input.array.dtype}; convert it "
            f"with x.astype('float32')"
        )
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)):
        raise TypeError(f"pdist: p must be a number, got {p!r}")
    if not p >= 0:  # (NaN too)
        raise ArgumentError("pdist only supports non-negative p values")
    return Pdist.apply(input, p=float(p))
