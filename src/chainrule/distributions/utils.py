"""``torch.distributions.utils``: parameter broadcasting and the logits/probs conversions."""

from __future__ import annotations

import numbers

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.tensor import Tensor

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
]

euler_constant = 0.57721566490153286060


def is_number(value) -> bool:
    """A Python (or NumPy scalar) number, as PyTorch's ``_Number``; bools are not numbers."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """The values as tensors of one broadcast shape; a number takes the first tensor's dtype
    (the default dtype when there is none), as PyTorch's ``broadcast_all``."""
    if not all(isinstance(v, Tensor) or is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number or chainrule.Tensor.")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)), None)
    if dtype is None:
        from chainrule import get_default_dtype

        dtype = get_default_dtype()
    tensors = [v if isinstance(v, Tensor) else _scalar(v, dtype) for v in values]
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else t.expand(shape) for t in tensors)


def _scalar(value, dtype) -> Tensor:
    from chainrule import tensor

    return tensor(value, dtype=dtype)


def as_tensor_like(value, like: Tensor) -> Tensor:
    """``value`` as a tensor of ``like``'s dtype (numbers passed where PyTorch takes them)."""
    if isinstance(value, Tensor):
        return value
    return _scalar(value, like.dtype)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid when ``is_binary``, else softmax over the last dim."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to ``[eps, 1 - eps]`` (eps of its dtype), so their logs are finite."""
    eps = float(np.finfo(numpy_dtype(probs)).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities (clamped first): ``log p − log1p(−p)`` when ``is_binary``,
    else ``log p`` (unnormalised logits of a categorical)."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:  # noqa: N801 - PyTorch's name
    """Computed on first access (with grad on) and cached on the instance, as PyTorch's: a
    distribution made from ``logits`` builds its ``probs`` only when asked."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum over the rightmost ``dim`` dimensions."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:-dim] + (-1,)).sum(-1)


def numpy_dtype(tensor: Tensor) -> np.dtype:
    """The NumPy dtype of a tensor's values."""
    return np.asarray(tensor.detach()).dtype
