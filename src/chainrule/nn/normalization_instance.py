"""Per-sample normalisation over channel groups: GroupNorm and InstanceNorm1d/2d/3d, with the
functions ``group_norm`` and ``instance_norm``.

Both are composites of existing ops (mean, subtract, multiply, sqrt, divide), like
:class:`~chainrule.nn.LayerNorm`, so their gradients, and gradients of gradients, come from the
engine. GroupNorm normalises each sample over groups of channels (with every pixel), InstanceNorm
over each channel of each sample; InstanceNorm is GroupNorm with one channel per group, plus
optional running statistics for evaluation.
"""

from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.autograd.compile_hooks import after_forward
from chainrule.errors import ShapeError, ZeroDivisorError
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.nn.normalization import check_eps, check_momentum
from chainrule.ops._util import operand
from chainrule.tensor import Tensor

__all__ = [
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "group_norm",
    "instance_norm",
]


def _standardise(x: Tensor, axes: tuple, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(x − mean) / √(biased variance + eps) over ``axes``, with that mean and variance.
    float16 is standardised in float32 (its statistics stay float32), as PyTorch's kernels."""
    if x.array.dtype == np.float16:
        x_hat, mean, var = _standardise(x.float(), axes, eps)
        return x_hat.half(), mean, var
    mean = ops.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = ops.mean(centred * centred, axis=axes, keepdims=True)
    return centred / ops.sqrt(var + eps), mean, var


def _affine(x_hat: Tensor, weight, bias) -> Tensor:
    """γ·x̂ + β with γ, β of shape (C,) applied along dimension 1."""
    stat_shape = (1, x_hat.shape[1]) + (1,) * (x_hat.ndim - 2)
    if weight is not None:
        x_hat = x_hat * operand(weight).reshape(stat_shape)
    if bias is not None:
        x_hat = x_hat + operand(bias).reshape(stat_shape)
    return x_hat


def _check_per_channel(tensor, name: str, channels: int, shape: tuple, fn: str) -> None:
    if tensor is not None and operand(tensor).shape != (channels,):
        raise ShapeError(
            f"{fn}: expected {name} to be a vector of size equal to the number of channels in "
            f"input, but got {name} of shape {operand(tensor).shape} and input of shape {shape}"
        )


def half_in_float32(input, *params) -> bool:  # noqa: A002
    """Whether a normalisation runs in float32 here: a float16 input with float16 (or no)
    parameters, which PyTorch normalises in float32 and rounds once (float16's squares of
    deviations overflow from 256 on)."""
    tensors = [operand(t) for t in (input, *params) if t is not None]
    return all(t.array.dtype == np.float16 for t in tensors)


def widened(tensor):
    """A float16 tensor as float32 (differentiable), None as None."""
    return None if tensor is None else operand(tensor).float()


def _param_dtype(*tensors):
    """The dtype the input must have: that of the first float parameter or buffer given."""
    for tensor in tensors:
        if tensor is not None and operand(tensor).array.dtype.kind == "f":
            return operand(tensor).array.dtype
    return None


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:  # noqa: A002
    """PyTorch's ``F.group_norm``: split the C channels into ``num_groups`` groups and normalise
    each sample over each group (its channels and every position), then scale by ``weight``
    and shift by ``bias`` (both of shape (C,), optional).

    Shape: (N, C, *) → same, C divisible by ``num_groups``.

    Example:
        >>> import chainrule as cr
        >>> y = cr.nn.functional.group_norm(cr.arange(8.0).reshape(1, 4, 2), 2)
        >>> [round(v, 3) for v in y.numpy().reshape(-1)[:4].tolist()]
        [-1.342, -0.447, 0.447, 1.342]
    """
    if half_in_float32(input, weight, bias):
        wide = group_norm(widened(input), num_groups, widened(weight), widened(bias), eps)
        return wide.half()
    x = as_input(input, _param_dtype(weight, bias), "group_norm")
    if x.ndim < 2:
        raise ShapeError(
            f"group_norm: expected at least 2 dimensions for input tensor (N, C, *) but "
            f"received {x.ndim} (shape {x.shape})"
        )
    groups = check_size(num_groups, "num_groups", "group_norm", 1)
    n, c = x.shape[:2]
    if c % groups:
        raise ShapeError(
            f"group_norm: expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {x.shape} and num_groups={groups}"
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        _check_per_channel(tensor, name, c, x.shape, "group_norm")
    per_group = (c // groups) * math.prod(x.shape[2:])
    if n * per_group == 1:  # PyTorch's test, made before its kernel runs
        raise ShapeError(
            f"group_norm: expected more than 1 value per channel when training, got input of "
            f"shape {x.shape} with num_groups={groups}"
        )
    x_hat, _, _ = _standardise(x.reshape(n, groups, per_group), (2,), check_eps(eps, "group_norm"))
    return _affine(x_hat.reshape(x.shape), weight, bias)


def instance_norm(
    input,  # noqa: A002 - PyTorch's name
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """PyTorch's ``F.instance_norm``: normalise each channel of each sample over its positions,
    then scale by ``weight`` and shift by ``bias`` (both (C,), optional).

    With ``use_input_stats`` (the default) the sample's own statistics are used, and
    ``running_mean``/``running_var`` (if given) move towards their average over the batch by
    ``momentum`` (the variance unbiased), in place, as PyTorch's do. Without it, the running
    statistics normalise instead.

    Shape: (N, C, *) → same.
    """
    x = as_input(input, _param_dtype(weight, bias, running_mean), "instance_norm")
    if use_input_stats and math.prod(x.shape[2:]) == 1:
        raise ShapeError(
            f"instance_norm: expected more than 1 spatial element when training, got input of "
            f"shape {x.shape}; each channel of each sample needs several positions"
        )
    if x.ndim < 2:
        raise ShapeError(f"instance_norm: expected input of shape (N, C, *), got {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("instance_norm: pass both running_mean and running_var, or neither")
    c = x.shape[1]
    for name, tensor in (("weight", weight), ("bias", bias)):
        _check_per_channel(tensor, name, c, x.shape, "instance_norm")
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var)):
        _check_per_channel(tensor, name, c, x.shape, "instance_norm")
    eps = check_eps(eps, "instance_norm")
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    if use_input_stats:
        x_hat, mean, var = _standardise(x, tuple(range(2, x.ndim)), eps)
        if running_mean is not None:
            # through after_forward, so a compiled step updates them on every call too
            stats = operand(running_mean).array, operand(running_var).array  # updated in place
            update = partial(_update_running, *stats)
            after_forward(update, float(momentum), mean, var, math.prod(x.shape[2:]))
    elif running_mean is None:
        raise RuntimeError(  # PyTorch's type: a missing argument, not a bad value
            "instance_norm: expected running_mean and running_var to be defined when "
            "use_input_stats is false; pass both, or use_input_stats=True"
        )
    else:
        mean = operand(running_mean).array.reshape(stat_shape)
        scale = 1.0 / np.sqrt(operand(running_var).array.reshape(stat_shape) + eps)
        x_hat = (x - mean.astype(x.dtype)) * scale.astype(x.dtype)
    return _affine(x_hat, weight, bias)


def _update_running(running_mean, running_var, momentum, mean, var, count) -> None:
    """PyTorch's update: each statistic moves towards its mean over the batch's samples."""
    unbiased = var * (count / (count - 1))
    running_mean *= 1 - momentum
    running_mean += momentum * mean.mean(axis=0).reshape(-1)
    running_var *= 1 - momentum
    running_var += momentum * unbiased.mean(axis=0).reshape(-1)


def _per_channel_parameters(module: Module, channels: int, affine: bool, bias: bool, dtype):
    if affine:
        module.weight = Parameter(np.ones(channels, dtype))
        if bias:
            module.bias = Parameter(np.zeros(channels, dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class GroupNorm(Module):
    """Normalise each sample over groups of channels, then scale and shift each channel:
    y = γ·x̂ + β, with x̂ = (x − mean) / √(variance + eps) over a group's channels and positions.
    No running statistics: training and evaluation compute the same.

    Args:
        num_groups: G, how many groups the channels are split into (C divisible by G).
        num_channels: C, the number of channels.
        eps: added to the variance before the square root.
        affine: learn γ (``weight``, starts at 1) and β (``bias``, starts at 0), both (C,).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        bias: learn β (with ``affine``).

    Shape: (N, C, *) → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.GroupNorm(2, 6)(cr.randn(4, 6, 5, 5)).shape
        (4, 6, 5, 5)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype=None,
        *,
        bias: bool = True,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        if isinstance(num_groups, (int, np.integer)) and num_groups == 0:
            raise ZeroDivisorError(
                "GroupNorm: num_groups is 0, and num_channels is divided among the groups; "
                "use num_groups >= 1 (1: one group of all channels, like LayerNorm)"
            )
        self.num_groups = check_size(num_groups, "num_groups", "GroupNorm", 1)
        self.num_channels = check_size(num_channels, "num_channels", "GroupNorm", 1)
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.eps = check_eps(eps, "GroupNorm")
        self.affine = bool(affine)
        self.use_bias = bool(bias)
        _per_channel_parameters(
            self, self.num_channels, self.affine, self.use_bias, float_dtype(dtype)
        )

    def forward(self, x):
        dtype = None if self.weight is None else self.weight.array.dtype
        x = as_input(x, dtype, "GroupNorm")
        if x.ndim >= 2 and x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) got input of shape "
                f"{x.shape}; expected (N, {self.num_channels}, *)"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )

    def _config(self) -> dict:
        dtype = np.dtype(np.float32) if self.weight is None else self.weight.array.dtype
        return {
            "num_groups": self.num_groups,
            "num_channels": self.num_channels,
            "eps": self.eps,
            "affine": self.affine,
            "bias": self.use_bias,
            "dtype": str(dtype),
        }


class _InstanceNorm(Module):
    """InstanceNorm1d/2d/3d: ``spatial_dims`` positions dimensions after (N, C)."""

    spatial_dims = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype=None,
        *,
        bias: bool = True,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        name = type(self).__name__
        self.num_features = check_size(num_features, "num_features", name, 1)
        self.eps = check_eps(eps, name)
        self.momentum = check_momentum(momentum, name)
        self.affine = bool(affine)
        self.use_bias = bool(bias)
        self.track_running_stats = bool(track_running_stats)
        dtype = float_dtype(dtype)
        c = self.num_features
        _per_channel_parameters(self, c, self.affine, self.use_bias, dtype)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor._make(np.zeros(c, dtype), False))
            self.register_buffer("running_var", Tensor._make(np.ones(c, dtype), False))
            # PyTorch registers the counter, but instance_norm never advances it
            self.register_buffer(
                "num_batches_tracked", Tensor._make(np.array(0, dtype=np.int64), False)
            )
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def forward(self, x):
        name = type(self).__name__
        x = as_input(x, _param_dtype(self.weight, self.running_mean), name)
        batched = self.spatial_dims + 2
        if x.ndim not in (batched - 1, batched):
            dims = ("L", "H, W", "D, H, W")[self.spatial_dims - 1]
            raise ShapeError(
                f"{name} expected {batched - 1}D or {batched}D input (got {x.ndim}D input of "
                f"shape {x.shape}): (N, C, {dims}), or one sample (C, {dims})"
            )
        self._check_channels(x, x.ndim - self.spatial_dims - 1)
        if x.ndim == batched - 1:  # one sample without its batch dimension
            return self._normalise(x.reshape((1,) + x.shape)).reshape(x.shape)
        return self._normalise(x)

    def _check_channels(self, x: Tensor, feature_dim: int) -> None:
        name, size = type(self).__name__, x.shape[feature_dim]
        if size == self.num_features:
            return
        if self.affine or self.track_running_stats:
            raise ShapeError(
                f"{name}: expected input's size at dim={feature_dim} to match num_features "
                f"({self.num_features}), but got: {size} (input of shape {x.shape})"
            )
        warnings.warn(  # PyTorch's warning: num_features is unused without affine or stats
            f"input's size at dim={feature_dim} does not match num_features. You can silence "
            "this warning by not passing in num_features, which is not used because "
            "affine=False",
            stacklevel=3,
        )

    def _normalise(self, x: Tensor) -> Tensor:
        return instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,  # PyTorch's reading of None
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def _config(self) -> dict:
        dtype = _param_dtype(self.weight, self.running_mean) or np.dtype(np.float32)
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "bias": self.use_bias,
            "dtype": str(dtype),
        }


class InstanceNorm1d(_InstanceNorm):
    """Normalise each channel of each sample over its length, then (with ``affine``) scale and
    shift: y = γ·(x − mean) / √(var + eps) + β.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance before the square root.
        momentum: weight of the new batch in the running statistics (``None`` keeps them
            unchanged, as PyTorch reads it).
        affine: learn γ (``weight``) and β (``bias``), both (C,); off by default.
        track_running_stats: keep a running mean and (unbiased) variance while training and
            normalise with them in ``eval()``; off by default.
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        bias: learn β (with ``affine``).

    Shape: (N, C, L) → same, or one unbatched sample (C, L).
    """

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """:class:`InstanceNorm1d` over each channel's pixels. Shape: (N, C, H, W) or (C, H, W)."""

    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """:class:`InstanceNorm1d` over each channel's voxels. Shape: (N, C, D, H, W) or
    (C, D, H, W)."""

    spatial_dims = 3


INSTANCE_NORMS = (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)
