"""Normalisation layers: BatchNorm1d (statistics over the batch) and LayerNorm (per sample).

Both are composites of existing ops (mean, subtract, multiply, sqrt, divide), so their
gradients come from the engine and are correct by construction.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.autograd.compile_hooks import after_forward
from chainrule.errors import GraphError, ShapeError
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


def check_eps(eps, layer: str) -> float:
    if (
        isinstance(eps, bool)
        or not isinstance(eps, (int, float))
        or not (math.isfinite(eps) and eps > 0)
    ):
        raise ValueError(f"{layer}: eps must be a small positive number, got {eps!r}")
    return float(eps)


def check_momentum(momentum, layer: str) -> float | None:
    """A running-statistics momentum: a number in [0, 1], or None."""
    if momentum is not None and (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0.0 <= momentum <= 1.0
    ):
        raise ValueError(f"{layer}: momentum must be in [0, 1] or None, got {momentum!r}")
    return None if momentum is None else float(momentum)


def normalise_last(x: Tensor, k: int, weight, bias, eps: float) -> Tensor:
    """(x − mean) / √(biased variance + eps) over the last ``k`` dimensions, then ·weight
    + bias: LayerNorm's arithmetic, and ``F.layer_norm``'s (shapes already checked)."""
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = ops.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = ops.mean(centred * centred, axis=axes, keepdims=True)
    out = centred / ops.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class BatchNorm1d(Module):
    """Normalise each feature over the batch, then scale and shift: y = γ·x̂ + β.

    Training: x̂ = (x − batch mean) / √(batch variance + eps), and the running mean and
    (unbiased) running variance move towards the batch's by ``momentum``. Evaluation: the
    running statistics are used instead, so a single sample gives a deterministic answer.

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance before the square root.
        momentum: weight of the new batch in the running statistics; ``None`` for a plain
            cumulative average.
        affine: learn γ (``weight``, starts at 1) and β (``bias``, starts at 0).
        track_running_stats: keep running statistics (else always use the batch's).
        bias: learn β (with ``affine``).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.

    Shape: (N, C) or (N, C, L) → same.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
        *,
        bias: bool = True,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        name = type(self).__name__  # BatchNorm2d's errors name BatchNorm2d
        self.num_features = check_size(num_features, "num_features", name, 1)
        self.eps = check_eps(eps, name)
        self.momentum = check_momentum(momentum, name)
        self.affine = bool(affine)
        self.use_bias = bool(bias)
        self.track_running_stats = bool(track_running_stats)
        dtype = float_dtype(dtype)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype))
            if self.use_bias:
                self.bias = Parameter(np.zeros(c, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor._make(np.zeros(c, dtype), False))
            self.register_buffer("running_var", Tensor._make(np.ones(c, dtype), False))
            self.register_buffer(
                "num_batches_tracked", Tensor._make(np.array(0, dtype=np.int64), False)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _param_dtype(self):
        for tensor in (self.weight, self.running_mean):
            if tensor is not None:
                return tensor.array.dtype
        return None  # nothing learned or tracked: follow the input

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def forward(self, x):
        x = as_input(x, self._param_dtype(), "BatchNorm1d")
        c = self.num_features
        if x.ndim not in (2, 3) or x.shape[1] != c:
            raise ShapeError(
                f"BatchNorm1d({c}) got input of shape {x.shape}; expected (N, {c}) or (N, {c}, L)"
            )
        axes = (0,) if x.ndim == 2 else (0, 2)
        stat_shape = (1, c) if x.ndim == 2 else (1, c, 1)
        # PyTorch's rule: batch statistics in training, or in eval when there are no running
        # statistics (buffers set to None); flipping track_running_stats later changes neither
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch:
            n = x.array.size // c
            if n <= 1:
                raise ShapeError(
                    f"BatchNorm1d needs more than one value per feature in training, got input "
                    f"of shape {x.shape}; use a batch larger than 1 or call model.eval()"
                )
            mean = ops.mean(x, axis=axes, keepdims=True)
            centred = x - mean
            var = ops.mean(centred * centred, axis=axes, keepdims=True)
            x_hat = centred / ops.sqrt(var + self.eps)
            if self.training and self.track_running_stats:
                # through after_forward, so a compiled step updates them on every call too
                after_forward(self._update_running, mean, var, n)
        elif self.running_mean is None or self.running_var is None:
            missing = "running_mean" if self.running_mean is None else "running_var"
            raise GraphError(
                f"{missing} must be defined in evaluation mode (the other running statistic "
                f"is set); set both to None to normalise with the batch's statistics"
            )
        else:
            mean = self.running_mean.array.reshape(stat_shape)
            scale = 1.0 / np.sqrt(self.running_var.array.reshape(stat_shape) + self.eps)
            x_hat = (x - mean) * scale.astype(x.dtype)
        if self.weight is not None:
            x_hat = x_hat * self.weight.reshape(stat_shape)
        if self.bias is not None:
            x_hat = x_hat + self.bias.reshape(stat_shape)
        return x_hat

    def _update_running(self, batch_mean: np.ndarray, batch_var: np.ndarray, n: int) -> None:
        batch_mean, batch_var = batch_mean.reshape(-1), batch_var.reshape(-1)
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.array += 1
        if self.running_mean is None or self.running_var is None:
            return  # statistics removed (set to None): nothing to track, as PyTorch
        if self.momentum is None and self.num_batches_tracked is None:
            factor = 0.0  # a cumulative average with no counter: PyTorch leaves them
        elif self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked.array)
        else:
            factor = self.momentum
        unbiased = batch_var * (n / (n - 1))  # PyTorch keeps the unbiased variance
        self.running_mean.array *= 1 - factor
        self.running_mean.array += factor * batch_mean
        self.running_var.array *= 1 - factor
        self.running_var.array += factor * unbiased

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def _config(self) -> dict:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "bias": self.use_bias,
            "dtype": str(self._param_dtype() or np.dtype(np.float32)),
        }


class LayerNorm(Module):
    """Normalise each sample over its last dimensions, then scale and shift: y = γ·x̂ + β.

    x̂ = (x − mean) / √(variance + eps), with mean and (biased) variance over the trailing
    ``normalized_shape`` dimensions of each sample; no running statistics, same in train/eval.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dimension).
        eps: added to the variance before the square root.
        elementwise_affine: learn γ (``weight``, starts at 1) and β (``bias``, starts at 0).
        bias: learn β (with ``elementwise_affine``).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.

    Shape: (*, *normalized_shape) → same.
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype=None,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        try:
            shape = tuple(check_size(n, "normalized_shape", "LayerNorm", 1) for n in shape)
        except TypeError:
            raise ValueError(
                f"LayerNorm: normalized_shape must be an int or a tuple of ints, got "
                f"{normalized_shape!r}"
            ) from None
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must have at least one dimension")
        self.normalized_shape = shape
        self.eps = check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        self.use_bias = bool(bias)
        dtype = float_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype))
            if self.use_bias:
                self.bias = Parameter(np.zeros(shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        dtype = None if self.weight is None else self.weight.array.dtype
        x = as_input(x, dtype, "LayerNorm")
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ShapeError(
                f"LayerNorm({self.normalized_shape}) got input of shape {x.shape}; expected "
                f"(*, {', '.join(map(str, self.normalized_shape))})"
            )
        return normalise_last(x, k, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )

    def _config(self) -> dict:
        dtype = np.dtype(np.float32) if self.weight is None else self.weight.array.dtype
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.use_bias,
            "dtype": str(dtype),
        }
