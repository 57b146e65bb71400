"""Regression losses, each one fused op: mean squared error, mean absolute error and Huber.

One op per loss instead of a chain of elementwise ops (subtract, square, mean) records one node
and makes one backward call, a third of the time on the seed network's single output, and its
derivative is the factor the explainer prints. ``d`` is input − target throughout.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import sgn
from chainrule.ops.loss_common import (
    _arrays,
    _check_reduction,
    _float_input,
    _float_target,
    _promoted,
    _reduce_array,
    _same_shape,
    _upstream,
    legacy_reduction,
    mean_alias,
)
from chainrule.ops.loss_weighted import check_weight, weighted
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


class MSE(Function):
    """ℓ = d², d = x − t.  Local derivatives: ∂ℓ/∂x = 2·d, ∂ℓ/∂t = −2·d."""

    label = "mse"
    formulas = ("2·(x − t)", "−2·(x − t)")

    def forward(self, x, t, reduction="mean"):
        d = np.subtract(x, t)
        self.d, self.reduction = d, reduction
        return _reduce_array(np.multiply(d, d), reduction, d.size, wide=True)

    def backward(self, grad):
        g = _upstream(grad, self.reduction, self.d.size)
        grad_x = np.multiply(self.d, g + g)  # doubling is exact: 2·g·d to the last bit
        grad_t = np.negative(grad_x) if self.needs_grad[1] else None
        return _arrays(grad_x if self.needs_grad[0] else None, grad_t)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives): 2·d·g, −2·d·g."""
        x, t = self.parents
        g = _graph_upstream(grad, self.reduction, self.d.size)
        grad_x = (x - t) * (g + g)
        return grad_x, -grad_x


class L1(Function):
    """ℓ = |d|, d = x − t.  Local derivatives: sign(d) and −sign(d) (0 where d = 0)."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "l1"
    formulas = ("sign(x − t)", "−sign(x − t)")

    def forward(self, x, t, reduction="mean"):
        d = np.subtract(x, t)
        self.d, self.reduction = d, reduction
        out = _reduce_array(np.abs(d), reduction, d.size, wide=True)
        # a finite mean or sum of |d| means no NaN in d: NumPy's sign is PyTorch's then
        self.plain_sign = reduction != "none" and bool(np.isfinite(out))
        return out

    def backward(self, grad):
        sign = np.sign(self.d) if self.plain_sign else sgn(self.d)
        grad_x = np.multiply(sign, _upstream(grad, self.reduction, self.d.size))
        grad_t = np.negative(grad_x) if self.needs_grad[1] else None
        return _arrays(grad_x if self.needs_grad[0] else None, grad_t)

    def backward_graph(self, grad):
        """sign(d)·g as a tensor: the sign is a constant (its derivative is 0 almost everywhere)."""
        g = _graph_upstream(grad, self.reduction, self.d.size)
        grad_x = tie(Tensor._make(sgn(self.d), False) * g, *self.parents, name="MulBackward0")
        return grad_x, -grad_x


class Huber(Function):
    """ℓ = ½d² where |d| < δ, else δ·(|d| − ½δ), d = x − t.

    Local derivatives: clip(d, −δ, δ) and its negation.
    """

    label = "huber"
    formulas = ("clip(x − t, −δ, δ)", "−clip(x − t, −δ, δ)")

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"δ = {float(self.delta):g}"

    def forward(self, x, t, reduction="mean", delta=1.0):
        d = np.subtract(x, t)
        size = np.abs(d)
        quadratic = np.multiply(np.multiply(d, d), 0.5)
        linear = np.multiply(np.subtract(size, 0.5 * delta), delta)
        self.d, self.reduction, self.delta = d, reduction, delta
        return _reduce_array(
            np.where(size < delta, quadratic, linear), reduction, d.size, wide=True
        )

    def backward(self, grad):
        delta = self.delta
        clipped = np.minimum(np.maximum(self.d, -delta), delta)  # np.clip's wrapper costs 3 µs
        grad_x = np.multiply(clipped, _upstream(grad, self.reduction, self.d.size))
        grad_t = np.negative(grad_x) if self.needs_grad[1] else None
        return _arrays(grad_x if self.needs_grad[0] else None, grad_t)

    def backward_graph(self, grad):
        """clip(d, −δ, δ)·g as a tensor: d itself where |d| < δ (derivative 1), the constant
        ±δ outside (derivative 0)."""
        x, t = self.parents
        d, delta = self.d, self.delta
        inside = np.abs(d) < delta
        mask = Tensor._make(inside.astype(d.dtype), False)
        edge = Tensor._make(np.where(inside, 0, delta * np.sign(d)).astype(d.dtype), False)
        grad_x = ((x - t) * mask + edge) * _graph_upstream(grad, self.reduction, d.size)
        return grad_x, -grad_x


class SmoothL1(Function):
    """PyTorch's smooth L1: ℓ = ½d²/β where |d| < β, else |d| − ½β, d = x − t (β > 0).

    Local derivatives: clip(d/β, −1, 1) and its negation.
    """

    label = "smooth_l1"
    formulas = ("clip((x − t)/β, −1, 1)", "−clip((x − t)/β, −1, 1)")

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"β = {float(self.beta):g}"

    def forward(self, x, t, reduction="mean", beta=1.0):
        d = np.subtract(x, t)
        size = np.abs(d)
        quadratic = np.divide(np.multiply(np.multiply(d, 0.5), d), beta)
        linear = np.subtract(size, 0.5 * beta)
        self.d, self.reduction, self.beta = d, reduction, beta
        return _reduce_array(np.where(size < beta, quadratic, linear), reduction, d.size, wide=True)

    def backward(self, grad):
        slope = np.minimum(np.maximum(np.divide(self.d, self.beta), -1), 1)
        grad_x = np.multiply(slope, _upstream(grad, self.reduction, self.d.size))
        grad_t = np.negative(grad_x) if self.needs_grad[1] else None
        return _arrays(grad_x if self.needs_grad[0] else None, grad_t)

    def backward_graph(self, grad):
        """clip(d/β, −1, 1)·g as a tensor: d/β where |d| < β, the constant ±1 outside."""
        x, t = self.parents
        d, beta = self.d, self.beta
        inside = np.abs(d) < beta
        mask = Tensor._make((inside / beta).astype(d.dtype), False)
        edge = Tensor._make(np.where(inside, 0, np.sign(d)).astype(d.dtype), False)
        grad_x = ((x - t) * mask + edge) * _graph_upstream(grad, self.reduction, d.size)
        return grad_x, -grad_x


def _graph_upstream(grad: Tensor, reduction: str, count: int) -> Tensor:
    """:func:`_upstream` on a tensor, recorded (second derivatives)."""
    return grad / count if reduction == "mean" and count != 1 else grad


def _checked(input, target, reduction, name):
    _check_reduction(reduction, name)
    input = _float_input(input, name)
    if name != "huber_loss":  # PyTorch's huber_loss keeps the input's dtype; the others promote
        input = _promoted(input, target)
    target = _float_target(target, input, name)
    _same_shape(input, target, name)
    return input, target


def mse_loss(
    input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None
) -> Tensor:
    """Mean squared error between ``input`` and ``target``.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        size_average, reduce: PyTorch's deprecated flags for the reduction (as there).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per-element losses); by keyword.
        weight: optional weight per element, of the input's shape; ``"mean"`` is then
            Σ(weight·d²) / Σweight, as PyTorch's (ops/loss_weighted.py).

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.mse_loss(cr.tensor([1.0, 3.0]), cr.tensor([0.0, 0.0])).item()
        5.0
    """
    reduction = legacy_reduction("mse_loss", size_average, reduce, reduction)
    input, target = _checked(input, target, reduction, "mse_loss")
    if weight is not None:
        weight = check_weight(weight, input, "mse_loss")
        return weighted(MSE.apply(input, target, reduction="none"), weight, reduction, True)
    return MSE.apply(input, target, reduction=reduction)


def l1_loss(
    input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None
) -> Tensor:
    """Mean absolute error between ``input`` and ``target``.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        weight: optional weight per element, of the input's shape; ``"mean"`` is then
            Σ(weight·|d|) / Σweight, as PyTorch's.

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0])).item()
        2.0
    """
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    input, target = _checked(input, target, reduction, "l1_loss")
    if weight is not None:
        weight = check_weight(weight, input, "l1_loss")
        return weighted(L1.apply(input, target, reduction="none"), weight, reduction, True)
    return L1.apply(input, target, reduction=reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """Huber loss: quadratic for errors smaller than ``delta``, linear beyond.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        delta: where the loss switches from ½d² to delta·(|d| − ½·delta).
        weight: optional weight per element, of the input's shape; ``"mean"`` is then the
            plain mean of weight·loss (not ÷ Σweight), as PyTorch's.

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), "none").tolist()
        [0.125, 2.5]
    """
    reduction = mean_alias(reduction, "huber_loss")
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss delta must be positive, got {delta}")
    input, target = _checked(input, target, reduction, "huber_loss")
    if weight is not None:
        weight = check_weight(weight, input, "huber_loss")
        per_element = Huber.apply(input, target, reduction="none", delta=float(delta))
        return weighted(per_element, weight, reduction, False)
    return Huber.apply(input, target, reduction=reduction, delta=float(delta))


def smooth_l1_loss(
    input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """PyTorch's smooth L1 loss: ½d²/β where |d| < β, else |d| − ½β (one op,
    ``SmoothL1LossBackward0``); the L1 loss when β = 0, as in PyTorch.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        beta: where the loss switches from quadratic to linear (≥ 0).

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> x, t = cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0])
        >>> cr.functional.smooth_l1_loss(x, t, reduction="none").tolist()
        [0.125, 2.5]
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be a number ≥ 0, got {beta!r}")
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    input, target = _checked(input, target, reduction, "smooth_l1_loss")
    return SmoothL1.apply(input, target, reduction=reduction, beta=float(beta))
