"""``nn.utils``: gradient clipping and flattening parameters to one vector, as in PyTorch."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import NonFiniteError, ShapeError
from chainrule.tensor import Tensor

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]


def _params(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters) -> list:
    """The gradients as arrays that share the parameters' gradient memory (skips None)."""
    return [np.asarray(p.grad_array) for p in _params(parameters) if p.grad_array is not None]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, **_
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector; every gradient
    is multiplied by ``min(1, max_norm / (norm + 1e-6))`` in place, as PyTorch does.

    Args:
        parameters: a tensor or an iterable of tensors (``model.parameters()``).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float("inf")`` for the largest absolute value,
            ``-float("inf")`` for the smallest (PyTorch's).
        error_if_nonfinite: raise :class:`chainrule.NonFiniteError` when the norm is NaN or inf.

    Returns:
        The joint norm before clipping, as a 0-d tensor.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()  # grad (6, 8), norm 10
        >>> float(cr.nn.utils.clip_grad_norm_([w], 1.0))
        10.0
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), np.float32), False)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    elif norm_type == -math.inf:  # the smallest absolute value, as PyTorch's -inf norm
        total = min(float(np.min(np.abs(g), initial=math.inf)) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise NonFiniteError(
            f"clip_grad_norm_: the gradients' total {norm_type}-norm is {total}; find the "
            f"non-finite gradient (cr.detect_anomaly()) or pass error_if_nonfinite=False"
        )
    scale = min(1.0, float(max_norm) / (total + 1e-6))
    for g in grads:
        g *= np.asarray(scale, dtype=g.dtype)
    return Tensor._make(np.asarray(total, dtype=grads[0].dtype), False)


def clip_grad_value_(parameters, clip_value: float, **_) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([3.0, -4.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> cr.nn.utils.clip_grad_value_([w], 1.0); w.grad.tolist()
        [1.0, -1.0]
    """
    limit = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -limit, limit, out=g)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (a copy, cut from the graph).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.utils.parameters_to_vector(cr.nn.Linear(2, 1).parameters()).shape
        (3,)
    """
    arrays = [np.asarray(p).reshape(-1) for p in _params(parameters)]
    return Tensor._make(np.concatenate(arrays) if arrays else np.zeros(0, np.float32), False)


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place.

    Raises:
        ShapeError: ``vec`` is not 1-D or its length differs from the parameters' total size.
    """
    values = np.asarray(vec)
    params = _params(parameters)
    total = sum(int(np.asarray(p).size) for p in params)
    if values.ndim != 1 or values.size != total:
        raise ShapeError(
            f"vector_to_parameters got a vector of shape {values.shape} for parameters with "
            f"{total} elements in all; pass a 1-D vector of length {total}"
        )
    start = 0
    for p in params:
        target = np.asarray(p)
        target[...] = values[start : start + target.size].reshape(target.shape)
        start += target.size
