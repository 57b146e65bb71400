"""PyTorch's ``weight=`` of ``mse_loss``, ``l1_loss`` and ``huber_loss``: each element's loss
times its weight, then the reduction, built from differentiable ops as PyTorch builds it (so
the weight gets a gradient too, and second derivatives work).

The weight must have the input's shape (PyTorch's ``ValueError`` otherwise). ``"sum"`` adds the
weighted losses; ``"mean"`` divides that sum by the sum of the weights for ``mse_loss`` and
``l1_loss`` (a weighted mean), but takes the plain mean of the weighted losses for
``huber_loss``, as PyTorch 2.13 does.
"""

from __future__ import annotations

from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def check_weight(weight, input, loss: str) -> Tensor:
    """``weight`` as a tensor of the input's shape, or PyTorch's ``ValueError``."""
    weight = operand(weight)
    input_shape = input.shape if isinstance(input, Tensor) else operand(input).shape
    if weight.shape != input_shape:
        raise ValueError(
            f"{loss}: Weights and input must have the same size (weight of shape "
            f"{weight.shape}, input of shape {input_shape})."
        )
    return weight


def weighted(per_element: Tensor, weight: Tensor, reduction: str, by_weight: bool) -> Tensor:
    """The weighted losses reduced: ``"none"``, ``"sum"``, or ``"mean"`` (÷ Σweight where
    ``by_weight``, else ÷ the element count)."""
    losses = per_element * weight
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weight.sum() if by_weight else losses.mean()
