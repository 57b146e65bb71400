"""``nn.utils``: gradient clipping and flattening parameters to one vector, as in PyTorch."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import DTypeError, NonFiniteError, ShapeError
from chainrule.ops.shape import cat
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
    """All parameters flattened and joined into one 1-D tensor, recorded on the graph.

    As PyTorch's ``torch.cat([p.view(-1) for p in parameters])``: the result is a new tensor
    (a copy), and a loss computed from it sends gradients back to the parameters. Mixed dtypes
    are promoted as :func:`chainrule.cat` does.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (cr.nn.utils.parameters_to_vector([w]) ** 2).sum().backward()
        >>> w.grad.tolist()
        [2.0, 4.0]
    """
    params = _params(parameters)
    if not params:
        return Tensor._make(np.zeros(0, np.float32), False)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place (not recorded).

    PyTorch assigns each slice to ``param.data``, so the parameters then share ``vec``'s memory
    and take its dtype; chainrule copies the values into the parameters' own arrays instead
    and asks for ``vec`` in the parameters' dtype rather than changing their dtype.

    Raises:
        ShapeError: ``vec`` is not 1-D or its length differs from the parameters' total size.
        DTypeError: ``vec`` is a tensor of another dtype than a parameter.
    """
    values = vec.array if isinstance(vec, Tensor) else np.asarray(vec)
    params = _params(parameters)
    total = sum(int(np.asarray(p).size) for p in params)
    if values.ndim != 1 or values.size != total:
        raise ShapeError(
            f"vector_to_parameters got a vector of shape {values.shape} for parameters with "
            f"{total} elements in all; pass a 1-D vector of length {total}"
        )
    if isinstance(vec, Tensor):
        for p in params:
            if p.array.dtype != values.dtype:
                raise DTypeError(
                    f"vector_to_parameters got a {values.dtype} vector for a {p.array.dtype} "
                    f"parameter (PyTorch would change the parameter's dtype); convert the "
                    f"vector first: vec.to({str(p.array.dtype)!r})"
                )
    start = 0
    for p in params:
        target = np.asarray(p)
        target[...] = values[start : start + target.size].reshape(target.shape)
        start += target.size
