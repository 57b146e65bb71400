"""``torch.distributions.Poisson``."""

from __future__ import annotations

import math

import numpy as np

from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.utils import broadcast_all, is_number, numpy_dtype
from chainrule.errors import NotSupportedError
from chainrule.tensor import Tensor

__all__ = ["Poisson"]

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


class Poisson(Distribution):
    """The Poisson distribution of counts with mean ``rate``.

    Args:
        rate: ≥ 0 (number or tensor).
        validate_args: check ``rate ≥ 0`` and, in ``log_prob``, that values are counts.

    ``log_prob`` is differentiable in ``rate`` (Poisson regression); the counts are data.
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = () if is_number(rate) else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = tuple(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        return self._finish_expand(new, Poisson, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        """Counts in ``rate``'s dtype, from chainrule's generator."""
        from chainrule.random import get_generator

        shape = self._extended_shape(sample_shape)
        rate = np.broadcast_to(np.asarray(self.rate.detach(), dtype=np.float64), shape)
        return Tensor._make(get_generator().poisson(rate).astype(numpy_dtype(self.rate)), False)

    def log_prob(self, value):
        from chainrule import where

        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        if value.requires_grad:
            raise NotSupportedError(
                "Poisson.log_prob is differentiable in rate only (chainrule has no lgamma "
                "op for the counts' gradient); pass value.detach()"
            )
        counts = np.asarray(value, dtype=np.float64)
        log_factorial = _lgamma(counts + 1).astype(np.float64).astype(numpy_dtype(rate))
        # xlogy: 0 · log(0) is 0, as PyTorch's value.xlogy(rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_log_rate = where(value == 0, 0.0, value * rate.log())
        return x_log_rate - rate - Tensor._make(log_factorial, False)
