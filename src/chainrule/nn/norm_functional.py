"""The normalisation functions ``F.layer_norm``, ``F.batch_norm`` and ``F.rms_norm``.

Composites of existing ops (mean, subtract, multiply, sqrt, divide), like the layers
:class:`~chainrule.nn.LayerNorm`, :class:`~chainrule.nn.BatchNorm1d` and
:class:`~chainrule.nn.RMSNorm` that share their arithmetic, so first and second-order gradients
come from the engine. PyTorch's checks and messages for shapes and options.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from chainrule import ops
from chainrule.autograd.compile_hooks import after_forward
from chainrule.errors import ArgumentError, DimensionError, DTypeError, ShapeError
from chainrule.nn._util import as_input
from chainrule.nn.normalization import normalise_last
from chainrule.nn.normalization_instance import (
    _affine,
    _param_dtype,
    _standardise,
    half_in_float32,
    widened,
)
from chainrule.ops._util import operand
from chainrule.ops.math import rsqrt
from chainrule.ops.norm import normalize as _normalize
from chainrule.out_argument import write_out
from chainrule.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "rms_norm"]


# ---- layer_norm and rms_norm: statistics over the trailing normalized_shape ----------------------
def rms_last(x: Tensor, k: int, weight, eps: float | None) -> Tensor:
    """x / √(mean(x²) + eps) over the last ``k`` dimensions, then ·weight, in PyTorch's order
    (x · rsqrt(...)); ``eps=None`` is the machine epsilon of x's dtype."""
    if eps is None:
        eps = float(np.finfo(x.array.dtype).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = x * rsqrt(ops.mean(x * x, axis=axes, keepdims=True) + eps)
    return out if weight is None else out * weight


def _same_dtype(x: Tensor, tensors: dict, fn: str) -> None:
    """Every tensor given has the input's dtype (PyTorch refuses mixed dtypes too)."""
    for name, tensor in tensors.items():
        if tensor is not None and operand(tensor).array.dtype != x.array.dtype:
            raise DTypeError(
                f"{fn}: {name} is {operand(tensor).array.dtype} but the input is "
                f"{x.array.dtype}; all must share one dtype, e.g. {name}.to(x.dtype)"
            )


def _trailing_shape(normalized_shape, fn: str) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)) or not isinstance(
        normalized_shape, (tuple, list)
    ):
        raise TypeError(
            f"{fn}(): argument 'normalized_shape' must be a tuple of ints, not "
            f"{type(normalized_shape).__name__}; write ({normalized_shape!r},) for the last "
            f"dimension"
        )
    if not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in normalized_shape
    ):
        raise TypeError(
            f"{fn}(): normalized_shape must be a tuple of ints, got {normalized_shape!r}"
        )
    shape = tuple(int(n) for n in normalized_shape)
    if not shape:
        raise ShapeError(
            f"{fn}: expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            f"least one element, but got normalized_shape = []"
        )
    return shape


def _check_trailing(x: Tensor, shape: tuple, params: dict, fn: str, star: str) -> None:
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape) :] != shape:
        raise ShapeError(
            f"{fn}: given normalized_shape={list(shape)}, expected input with shape "
            f"[*{star}{', '.join(map(str, shape))}], but got input of size{list(x.shape)}"
        )
    for name, tensor in params.items():
        if tensor is not None and operand(tensor).shape != shape:
            raise ShapeError(
                f"{fn}: expected {name} to be of same shape as normalized_shape, but got "
                f"{name} of shape {list(operand(tensor).shape)} and normalized_shape = "
                f"{list(shape)}"
            )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:  # noqa: A002
    """PyTorch's ``F.layer_norm``: normalise each sample over its last dimensions (those of
    ``normalized_shape``), y = (x − mean) / √(variance + eps) · weight + bias, the variance
    biased; ``weight`` and ``bias`` (optional) have the shape ``normalized_shape``.

    Shape: (*, *normalized_shape) → same.

    Example:
        >>> import chainrule as cr
        >>> y = cr.nn.functional.layer_norm(cr.tensor([[1.0, 3.0]]), (2,))
        >>> [round(v, 4) for v in y.numpy().reshape(-1).tolist()]
        [-1.0, 1.0]
    """
    if half_in_float32(input, weight, bias):
        args = (normalized_shape, widened(weight), widened(bias), eps)
        return layer_norm(widened(input), *args).half()
    shape = _trailing_shape(normalized_shape, "layer_norm")
    x = as_input(input, _param_dtype(weight, bias), "layer_norm")
    params = {"weight": weight, "bias": bias}
    _check_trailing(x, shape, params, "layer_norm", ", ")
    _same_dtype(x, params, "layer_norm")
    return normalise_last(x, len(shape), weight, bias, float(eps))


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None) -> Tensor:  # noqa: A002
    """PyTorch's ``F.rms_norm``: y = x / √(mean(x²) + eps) · weight, the mean over the last
    dimensions (those of ``normalized_shape``); ``eps=None`` is ``finfo(x.dtype).eps``.

    Shape: (*, *normalized_shape) → same.

    Example:
        >>> import chainrule as cr
        >>> y = cr.nn.functional.rms_norm(cr.tensor([[3.0, 4.0]]), (2,), eps=0.0)
        >>> [round(v, 4) for v in y.numpy().reshape(-1).tolist()]
        [0.8485, 1.1314]
    """
    if half_in_float32(input, weight):  # eps=None: float32's, as PyTorch's float16 kernel
        return rms_norm(widened(input), normalized_shape, widened(weight), eps).half()
    shape = _trailing_shape(normalized_shape, "rms_norm")
    x = as_input(input, _param_dtype(weight), "rms_norm")
    _check_trailing(x, shape, {"weight": weight}, "rms_norm", "")
    return rms_last(x, len(shape), weight, None if eps is None else float(eps))


# ---- batch_norm: statistics per channel over the batch and every position --------------------
def _check_channels(x: Tensor, tensors: dict) -> None:
    c = x.shape[1]
    for name, tensor in tensors.items():
        if tensor is not None and operand(tensor).shape != (c,):
            raise ShapeError(
                f"batch_norm: {name} should contain {c} elements (shape ({c},), one per "
                f"channel of input of shape {x.shape}), not shape {operand(tensor).shape}"
            )


def _update_running(running_mean, running_var, momentum, mean, var, count) -> None:
    """PyTorch's update: each running statistic moves towards the batch's by ``momentum``,
    the variance unbiased (count / (count − 1))."""
    running_mean *= 1 - momentum
    running_mean += momentum * mean.reshape(-1)
    running_var *= 1 - momentum
    running_var += (momentum * count / (count - 1)) * var.reshape(-1)


def batch_norm(
    input,  # noqa: A002 - PyTorch's name
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """PyTorch's ``F.batch_norm``: normalise each channel over the batch and every position,
    then scale by ``weight`` and shift by ``bias`` (both (C,), optional).

    With ``training=True`` the batch's statistics are used, and ``running_mean`` and
    ``running_var`` (if given; ``None`` is allowed) move towards them by ``momentum``, in place,
    the variance unbiased, as PyTorch's. With ``training=False`` (the default) the running
    statistics normalise instead, and must be given.

    Shape: (N, C, *) → same.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0], [3.0]])
        >>> y = cr.nn.functional.batch_norm(x, None, None, training=True)
        >>> [round(v, 4) for v in y.numpy().reshape(-1).tolist()]
        [-1.0, 1.0]
    """
    dtype = _param_dtype(weight, bias, running_mean, running_var)
    x = as_input(input, dtype, "batch_norm")
    if x.ndim < 2:
        raise DimensionError(
            f"batch_norm: expected input of shape (N, C, *) with at least 2 dimensions, got "
            f"shape {x.shape}"
        )
    stats = {"running_mean": running_mean, "running_var": running_var}
    params = {**stats, "weight": weight, "bias": bias}
    _check_channels(x, params)
    _same_dtype(x, params, "batch_norm")
    if not training:
        for name, tensor in stats.items():
            if tensor is None:
                raise ArgumentError(
                    f"batch_norm: {name} must be defined in evaluation mode (training=False); "
                    f"pass the running statistics, or training=True for the batch's"
                )
        stat_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        mean = operand(running_mean).array.reshape(stat_shape)
        scale = 1.0 / np.sqrt(operand(running_var).array.reshape(stat_shape) + eps)
        return _affine((x - mean.astype(x.dtype)) * scale.astype(x.dtype), weight, bias)
    return _batch_norm_training(x, running_mean, running_var, weight, bias, momentum, eps)


def _batch_norm_training(x, running_mean, running_var, weight, bias, momentum, eps) -> Tensor:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)):
        raise TypeError(
            f"batch_norm(): argument 'momentum' must be float, not {type(momentum).__name__} "
            f"(nn.BatchNorm's momentum=None, a cumulative average, is the layer's, not F's)"
        )
    count = x.array.size // max(x.shape[1], 1)
    if x.shape[0] * math.prod(x.shape[2:]) == 1:
        raise ShapeError(
            f"batch_norm: expected more than 1 value per channel when training, got input "
            f"size {x.shape}; use a batch larger than 1 or training=False"
        )
    if not eps > 0:
        raise ArgumentError(f"batch_norm eps must be positive during training, but got {eps}")
    if (running_mean is None) != (running_var is None):
        raise ArgumentError(
            "batch_norm: running_mean and running_var must either both be None or neither be None"
        )
    if count == 0:  # no values: nothing to normalise and, as PyTorch, nothing to track
        return _affine(x, weight, bias)
    axes = (0, *range(2, x.ndim))
    x_hat, mean, var = _standardise(x, axes, float(eps))
    if running_mean is not None:
        # through after_forward, so a compiled step updates them on every call too
        arrays = operand(running_mean).array, operand(running_var).array  # updated in place
        after_forward(partial(_update_running, *arrays), float(momentum), mean, var, count)
    return _affine(x_hat, weight, bias)


def normalize(input, p=2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:  # noqa: A002
    """``input / max(‖input‖_p, eps)`` along ``dim``, as ``torch.nn.functional.normalize``:
    each slice scaled to norm 1 (a zero slice stays 0); ``out=`` writes the result into a
    tensor (no autograd, as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.normalize(cr.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    result = _normalize(input, p, dim, eps)
    if out is None:
        return result
    return write_out(out, result, "nn.functional.normalize")
