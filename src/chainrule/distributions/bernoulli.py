"""``torch.distributions.Bernoulli``."""

from __future__ import annotations

import math

import numpy as np

from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.utils import (
    broadcast_all,
    is_number,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)
from chainrule.tensor import Tensor

__all__ = ["Bernoulli"]


class Bernoulli(Distribution):
    """A Bernoulli distribution (0 or 1), parameterised by ``probs`` or ``logits`` (not both).

    Args:
        probs: probability of drawing 1, in ``[0, 1]``.
        logits: log-odds of drawing 1 (``probs = sigmoid(logits)``).
        validate_args: check the parameter and, in ``log_prob``, that values are 0 or 1.

    ``log_prob`` and ``entropy`` work from the logits in the log-sigmoid form (as PyTorch's
    binary cross-entropy with logits), so they stay finite for large logits.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        scalar = is_number(probs if probs is not None else logits)
        super().__init__(() if scalar else self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = tuple(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        return self._finish_expand(new, Bernoulli, batch_shape)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self._param.shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        from chainrule import where

        mode = (self.probs >= 0.5).type_as(self.probs)
        return where(self.probs == 0.5, math.nan, mode)  # a tie has no mode

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        """0/1 draws in ``probs``' dtype, from chainrule's generator."""
        from chainrule import no_grad, rand

        shape = self._extended_shape(sample_shape)
        with no_grad():
            probs = self.probs.detach()
            array = np.asarray(probs)
            if not ((array >= 0) & (array <= 1)).all():  # NaN included, as PyTorch's bernoulli
                raise RuntimeError(
                    "Bernoulli.sample: expected every probability in [0, 1] (NaN is not); "
                    "validate_args=True names the offending values"
                )
            return (rand(shape, dtype=probs.dtype) < probs.expand(shape)).type_as(probs)

    def log_prob(self, value):
        from chainrule.nn.functional import binary_cross_entropy_with_logits

        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        from chainrule.nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        from chainrule import arange

        values = arange(2, dtype=self._param.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((2,) + self._batch_shape)
        return values
