"""Negative log-likelihood losses of two distributions, as ``torch.nn.functional``'s:
``poisson_nll_loss`` and ``gaussian_nll_loss``.

Both are composed of differentiable ops the way PyTorch composes them, so the input, the target
and the variance all get PyTorch's gradients (NaN included: the Stirling term's gradient at a
target of 0 is NaN in both libraries). The one op here, :class:`FloorAtEps`, is the variance's
clamp to ``eps`` that PyTorch makes outside the graph: the value is clamped, the gradient
passes through unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import float_operand, operand
from chainrule.ops.elementwise import where
from chainrule.ops.loss_common import _check_reduction, _reduce, legacy_reduction
from chainrule.tensor import Tensor


class FloorAtEps(Function):
    """max(v, eps) forward; gradient 1 everywhere (PyTorch clamps the variance under no_grad,
    so its graph sees the clamp as the identity)."""

    label = "floor_eps"
    formulas = ("1",)
    saves_inputs = False

    def forward(self, v, eps=0.0):
        return np.maximum(v, np.asarray(eps, v.dtype))

    def backward(self, grad):
        return (grad,)

    def backward_graph(self, grad):
        """The identity on tensors: its derivative is 1, a constant."""
        return (grad,)


def poisson_nll_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood, as ``torch.nn.functional.poisson_nll_loss``:
    e^input − target·input for a log-rate input (``log_input=True``), else
    input − target·ln(input + eps).

    Args:
        input: the log-rate (or the rate with ``log_input=False``).
        target: observed counts, broadcast against the input (differentiable, as in PyTorch).
        full: add Stirling's approximation of ln(target!),
            target·ln(target) − target + ½·ln(2π·target), where target > 1.
        eps: keeps ln away from 0 when ``log_input=False``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.functional.poisson_nll_loss(cr.tensor([0.0]), cr.tensor([2.0])).item(), 4)
        1.0
    """
    name = "poisson_nll_loss"
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    _check_reduction(reduction, name)
    x = float_operand(input, name)
    t = operand(target, x)
    _broadcastable(name, x.shape, t.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if log_input:
            loss = x.exp() - t * x
        else:
            loss = x - t * (x + eps).log()
        if full:
            stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
            zero = np.zeros((), stirling.array.dtype)
            loss = loss + where(np.asarray(t.array <= 1), zero, stirling)
    return _reduce(loss, reduction)


def _broadcastable(name: str, *shapes) -> tuple:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(
            f"{name} got input of shape {shapes[0]} and target of shape {shapes[1]}, which do "
            f"not broadcast together"
        ) from None


def _checked_var(var, x: Tensor, name: str) -> Tensor:
    """The variance as a tensor PyTorch's rules accept against the input: the input's shape,
    one dimension short (a trailing 1 added), or the input's number of dimensions with exactly
    one mismatched dimension, of size 1 (homoscedastic along it)."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{name}: var has negative entry/entries ({var})")
        return Tensor._make(np.full(x.shape, var, x.array.dtype), False)
    var = operand(var, x)
    if (var.array < 0).any():
        raise ValueError(f"{name}: var has negative entry/entries; variances must be ≥ 0")
    if var.shape == x.shape:
        return var
    if var.shape == x.shape[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == x.ndim and sum(v for i, v in zip(x.shape, var.shape) if i != v) == 1:
        return var
    raise ValueError(
        f"{name}: var is of incorrect size: got {var.shape} for input of shape {x.shape}; give "
        f"the input's shape, the input's shape without its last dimension, or the input's shape "
        f"with one dimension set to 1"
    )


def gaussian_nll_loss(
    input,  # noqa: A002 - PyTorch's name
    target,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood ½·(ln max(var, eps) + (input − target)²/max(var, eps)),
    as ``torch.nn.functional.gaussian_nll_loss``.

    Args:
        input: the predicted means.
        target: samples, broadcast against the input.
        var: variances (≥ 0): the input's shape, that shape without its last dimension, that
            shape with one dimension of size 1, or a float for all.
        full: add the constant ½·ln(2π).
        eps: the variance's floor (the clamp passes gradients through unchanged, as PyTorch's).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> x, y = cr.tensor([1.0]), cr.tensor([3.0])
        >>> round(cr.nn.functional.gaussian_nll_loss(x, y, 2.0).item(), 4)
        1.3466
    """
    name = "gaussian_nll_loss"
    x = float_operand(input, name)
    var = _checked_var(var, x, name)
    _check_reduction(reduction, name)
    t = operand(target, x)
    _broadcastable(name, x.shape, t.shape)
    var = FloorAtEps.apply(var, eps=eps)
    diff = x - t
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
