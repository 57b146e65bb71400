"""``torch.distributions.Categorical``."""

from __future__ import annotations

import math

import numpy as np

from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.utils import (
    lazy_property,
    logits_to_probs,
    numpy_dtype,
    probs_to_logits,
)
from chainrule.tensor import Tensor

__all__ = ["Categorical"]


def _check_parameter(name: str, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"Categorical's `{name}` must be a chainrule Tensor, got {type(value).__name__}; "
            f"wrap it with cr.tensor({name})"
        )
    if value.dim() < 1:
        raise ValueError(f"`{name}` parameter must be at least one-dimensional.")


class Categorical(Distribution):
    """A categorical distribution over ``{0, ..., K−1}``, from ``probs`` or ``logits``.

    Args:
        probs: event probabilities (normalised over the last dim), shape ``(..., K)``.
        logits: unnormalised log-probabilities, shape ``(..., K)`` (normalised by
            ``logsumexp``, as PyTorch).
        validate_args: check the parameter and, in ``log_prob``, the class indices.

    Samples are int64 class indices of shape ``sample_shape + batch_shape``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            _check_parameter("probs", probs)
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            _check_parameter("logits", logits)
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._param = self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = tuple(batch_shape)
        param_shape = batch_shape + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(param_shape)
            new._param = new.logits
        new._num_events = self._num_events
        return self._finish_expand(new, Categorical, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self._param.shape)

    @property
    def mean(self) -> Tensor:
        from chainrule import full

        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape=()) -> Tensor:
        """int64 class indices drawn by inverse CDF from chainrule's generator."""
        from chainrule.random import get_generator

        shape = self._extended_shape(sample_shape)
        probs = np.asarray(self.probs.detach(), dtype=np.float64).reshape(-1, self._num_events)
        count = int(np.prod(shape[: len(shape) - len(self._batch_shape)], dtype=np.int64))
        if not (np.isfinite(probs).all() and (probs >= 0).all() and (probs.sum(-1) > 0).all()):
            raise RuntimeError(  # PyTorch's multinomial refuses these too (validate_args=False)
                "probability tensor contains either `inf`, `nan` or element < 0"
            )
        rows = probs.shape[0]
        cdf = np.cumsum(probs, axis=-1)
        cdf /= cdf[:, -1:]
        # one sorted search for every row at once: row r's CDF is shifted to [r, r + 1)
        offsets = np.arange(rows, dtype=np.float64)
        flat_cdf = (cdf + offsets[:, None]).ravel()
        draws = get_generator().random((count, rows)) + offsets
        index = np.searchsorted(flat_cdf, draws, side="right")
        index = index - np.arange(rows)[None, :] * self._num_events
        index = np.clip(index, 0, self._num_events - 1).astype(np.int64)
        return Tensor._make(index.reshape(shape), False)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        log_pmf = self.logits if tuple(self.logits.shape) == shape else self.logits.expand(shape)
        value = value.expand(shape[:-1] + (1,))
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(numpy_dtype(self.logits)).min)
        p_log_p = self.logits.clamp(min=min_real) * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        from chainrule import arange, long

        values = arange(self._num_events, dtype=long)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((self._num_events,) + self._batch_shape)
        return values
