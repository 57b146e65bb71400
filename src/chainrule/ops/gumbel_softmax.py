"""PyTorch's ``F.gumbel_softmax``: a differentiable sample from a categorical distribution
(Jang et al. and Maddison et al., 2016), with the straight-through one-hot of ``hard=True``.

softmax((logits + g)/τ) with g ~ Gumbel(0, 1), drawn as −ln E with E ~ Exponential(1) from
chainrule's seeded generator (``cr.manual_seed``): the same distribution as PyTorch's, not its
bits. ``hard=True`` returns the one-hot of each sample's largest entry, with the soft sample's
gradient, as PyTorch's ``y_hard − y_soft.detach() + y_soft``.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.autograd.function import Function
from chainrule.ops._util import float_operand
from chainrule.ops.softmax import softmax
from chainrule.random import Generator, get_generator
from chainrule.tensor import Tensor


class StraightThroughOneHot(Function):
    """The one-hot of y's largest entry along ``dim`` in the forward pass; the identity in the
    backward pass (the straight-through estimator).  Local derivative: 1."""

    label = "straight_through"
    definition = "straight_through(y) = one_hot(argmax y) forward, y backward"
    formulas = ("1 (the gradient passes as if the output were y)",)

    def forward(self, y, dim):
        index = np.expand_dims(np.argmax(y, axis=dim), dim)
        hard = np.zeros_like(y)
        np.put_along_axis(hard, index, 1, axis=dim)
        return hard - y + y  # PyTorch's sum, to the bit: not exactly 1 where y rounds

    def backward(self, grad):
        return (grad,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad,)


def gumbel_noise(generator: Generator | None, shape: tuple, dtype) -> np.ndarray:
    """Standard Gumbel samples −ln E, E ~ Exponential(1), in ``dtype``."""
    draws = get_generator(generator).standard_exponential(shape)
    # E is never 0 in PyTorch's sampler; a 0 here would make an infinite sample
    return (-np.log(np.maximum(draws, np.finfo(np.float64).tiny))).astype(dtype, copy=False)


def gumbel_softmax(
    logits,
    tau: float = 1,
    hard: bool = False,
    eps: float = 1e-10,
    dim: int = -1,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """A sample from the Gumbel-softmax distribution over ``dim``, as
    ``torch.nn.functional.gumbel_softmax``.

    Args:
        logits: unnormalised log-probabilities (floating point), shape (..., num_features).
        tau: the temperature τ; small τ gives samples close to one-hot.
        hard: return one-hot samples whose gradient is that of the soft sample.
        eps: deprecated and unused, as in PyTorch (a value other than the default warns).
        dim: the dimension the categories lie along.
        generator: a :class:`chainrule.Generator` for the noise (default: the global one).

    Shape:
        any → same; each slice along ``dim`` sums to 1 (is one-hot with ``hard=True``).

    Example:
        >>> import chainrule as cr
        >>> y = cr.nn.functional.gumbel_softmax(cr.zeros(2, 3), hard=True)
        >>> y.sum(dim=-1).tolist()
        [1.0, 1.0]
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    logits = float_operand(logits, "gumbel_softmax")
    # drawn through per_call, so that a compiled step draws new noise on every call
    noise = per_call(gumbel_noise, generator, logits.shape, logits.array.dtype)
    y_soft = softmax((logits + Tensor._make(noise, False)) / tau, dim=dim)
    if not hard:
        return y_soft
    if y_soft.ndim == 0:  # one category: the sample is 1, as PyTorch's
        return StraightThroughOneHot.apply(y_soft.reshape(1), dim=0).reshape(())
    return StraightThroughOneHot.apply(y_soft, dim=dim % y_soft.ndim)
