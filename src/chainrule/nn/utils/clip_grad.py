"""Gradient clipping, as PyTorch's ``torch.nn.utils.clip_grad``: by total norm or by value."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import NonFiniteError
from chainrule.tensor import Tensor

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]


def _params(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters) -> list:
    """The gradients as arrays that share the parameters' gradient memory (skips None)."""
    return [np.asarray(p.grad_array) for p in _params(parameters) if p.grad_array is not None]


def _vector_norm(array: np.ndarray, norm_type: float) -> np.ndarray:
    """PyTorch's ``linalg.vector_norm`` as a 0-d array, computed in the array's own dtype.

    A float32 sum of squares overflows to inf where PyTorch's does; one element is its own
    absolute value for every p (PyTorch's shortcut, so ``[1e20]`` has norm 1e20, not inf).
    float16 is summed in float32 and the norm rounded to float16, as PyTorch's kernel does.
    """
    if array.dtype == np.float16:
        return _vector_norm(array.astype(np.float32), norm_type).astype(np.float16)
    if norm_type == 0:  # the number of nonzero elements (NaN counts)
        return np.asarray(np.count_nonzero(array), dtype=array.dtype)
    magnitude = np.abs(array).reshape(-1)
    if magnitude.size == 1:
        return magnitude.reshape(())
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if norm_type == math.inf:
            return np.asarray(np.max(magnitude, initial=0), dtype=array.dtype)
        if norm_type == -math.inf:
            return np.asarray(np.min(magnitude, initial=math.inf), dtype=array.dtype)
        if norm_type == 1:
            return np.sum(magnitude).reshape(())
        if norm_type == 2:
            return np.sqrt(np.sum(magnitude * magnitude)).reshape(())
        power = np.asarray(norm_type, dtype=array.dtype)
        return (np.sum(magnitude**power) ** (1 / power)).reshape(())


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """The norm of all ``tensors`` together: the norm of their norms (PyTorch ≥ 2.6's).

    Each tensor's norm is taken in its own dtype, then the norm of those norms in their common
    dtype, exactly as PyTorch composes them. For a p-norm that is the norm of all elements
    joined; for ``norm_type=0`` it counts the tensors that have a nonzero element.

    Args:
        tensors: a tensor or an iterable of tensors (usually gradients: ``[p.grad ...]``).
        norm_type: the p of the p-norm; ``inf`` for the largest absolute value, ``-inf`` for
            the smallest.
        error_if_nonfinite: raise :class:`chainrule.NonFiniteError` (a ``RuntimeError``, as
            PyTorch's error) when the total norm is NaN or infinite.
        foreach: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import chainrule as cr
        >>> float(cr.nn.utils.get_total_norm([cr.tensor([3.0]), cr.tensor([4.0])]))
        5.0
    """
    arrays = [np.asarray(t.array if isinstance(t, Tensor) else t) for t in _params(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._make(np.zeros((), np.float32), False)
    norms = [_vector_norm(a, norm_type) for a in arrays]
    total = _vector_norm(np.stack(norms).astype(np.result_type(*norms)), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise NonFiniteError(
            f"the total norm of order {norm_type} of the gradients is {float(total)}, so it "
            f"cannot be clipped; find the non-finite gradient (cr.detect_anomaly()) or pass "
            f"error_if_nonfinite=False to scale the gradients by it anyway"
        )
    return Tensor._make(total, False)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Multiply every gradient in place by ``min(1, max_norm / (total_norm + 1e-6))``.

    PyTorch ≥ 2.6's second half of :func:`clip_grad_norm_`, for a norm already computed (by
    :func:`get_total_norm`, perhaps over more parameters). A NaN norm makes every gradient
    NaN and an infinite one makes them 0 (inf·0 is NaN), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()  # grad (6, 8), norm 10
        >>> cr.nn.utils.clip_grads_with_norm_([w], 5.0, cr.tensor(10.0))
        >>> [round(g, 4) for g in w.grad.tolist()]  # times 5 / (10 + 1e-6)
        [3.0, 4.0]
    """
    grads = _grads(parameters)
    if not grads:
        return
    total = np.asarray(total_norm.array if isinstance(total_norm, Tensor) else total_norm)
    if total.dtype.kind != "f":
        total = total.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.asarray(max_norm, total.dtype) / (total + np.asarray(1e-6, total.dtype))
    coef = np.minimum(coef, np.asarray(1.0, total.dtype))  # NaN stays NaN
    with np.errstate(invalid="ignore"):
        for g in grads:
            g *= coef.astype(g.dtype)


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    :func:`get_total_norm` of the gradients, then :func:`clip_grads_with_norm_` with it, as
    PyTorch does: every gradient is multiplied by ``min(1, max_norm / (norm + 1e-6))`` in place.
    The norm is computed in the gradients' dtype, so float32 gradients whose norm exceeds the
    float32 range give an infinite norm (and are multiplied by 0); a NaN gradient makes the
    norm NaN and every gradient NaN.

    Args:
        parameters: a tensor or an iterable of tensors (``model.parameters()``).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float("inf")`` for the largest absolute value,
            ``-float("inf")`` for the smallest, 0 for PyTorch's count (see
            :func:`get_total_norm`).
        error_if_nonfinite: raise :class:`chainrule.NonFiniteError` (a ``RuntimeError``) when
            the norm is NaN or inf, leaving the gradients unchanged.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The joint norm before clipping, as a 0-d tensor of the gradients' dtype.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()  # grad (6, 8), norm 10
        >>> float(cr.nn.utils.clip_grad_norm_([w], 1.0))
        10.0
    """
    params = _params(parameters)
    grads = [p.grad_array for p in params if p.grad_array is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    ``foreach`` (PyTorch's choice of kernel) is accepted and changes nothing.

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
