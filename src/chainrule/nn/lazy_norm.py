"""Lazy normalisation layers, as PyTorch's: ``num_features`` is read from the first input.

``nn.LazyBatchNorm2d()`` is a :class:`~chainrule.nn.BatchNorm2d` whose parameters and running
statistics are empty until the first call; that call gives them their shape and their
initial values (weight 1, bias 0, mean 0, variance 1), in place, and turns the layer into a
``BatchNorm2d``, as PyTorch's ``cls_to_become``. Likewise ``LazyBatchNorm1d/3d`` and
``LazyInstanceNorm1d/2d/3d``.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.nn.normalization import BatchNorm1d
from chainrule.nn.normalization_instance import (
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _InstanceNorm,
)
from chainrule.nn.spatial import BatchNorm2d, BatchNorm3d
from chainrule.tensor import Tensor

# what each per-channel tensor starts as once its size is known
_INITIAL = {"weight": np.ones, "bias": np.zeros, "running_mean": np.zeros, "running_var": np.ones}


class _LazyNorm:
    """The shared part: build as the real layer with one stand-in channel, empty the
    per-channel tensors, and on the first call size them from the input's channels."""

    cls_to_become: type = BatchNorm2d

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        # PyTorch's signature, the same for both kinds: the lazy instance norms learn an
        # affine map and track statistics by default, unlike InstanceNorm2d
        self.cls_to_become.__init__(
            self, 1, eps, momentum, affine, track_running_stats, dtype, bias=bias, device=device
        )
        self.num_features = 0
        for name in _INITIAL:
            tensor = getattr(self, name)
            if tensor is not None:
                tensor.array = np.empty((0,), tensor.array.dtype)

    def has_uninitialized_params(self) -> bool:
        return self.num_features == 0

    def forward(self, x):
        self._initialize(x)  # the first call: after it the layer is a BatchNorm2d (its kind)
        return self.forward(x)

    def _initialize(self, x) -> None:
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        one_sample = isinstance(self, _InstanceNorm) and len(shape) == self.spatial_dims + 1
        if len(shape) < 2:
            raise ShapeError(
                f"{type(self).__name__} got input of shape {tuple(shape)}; expected (N, C, ...) "
                f"with the channels C in dimension 1"
            )
        self.num_features = int(shape[0] if one_sample else shape[1])
        for name, initial in _INITIAL.items():
            tensor = getattr(self, name)
            if tensor is not None:
                tensor.array = initial(self.num_features, tensor.array.dtype)
        self.__class__ = self.cls_to_become  # a BatchNorm2d from now on, as PyTorch's


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """:class:`BatchNorm1d` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    """:class:`BatchNorm2d` with ``num_features`` read from the first input.

    Example:
        >>> import chainrule as cr
        >>> bn = cr.nn.LazyBatchNorm2d()
        >>> bn(cr.ones(2, 5, 3, 3)).shape, bn.running_mean.shape, type(bn).__name__
        ((2, 5, 3, 3), (5,), 'BatchNorm2d')
    """

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    """:class:`BatchNorm3d` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """:class:`InstanceNorm1d` with ``num_features`` read from the first input."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    """:class:`InstanceNorm2d` with ``num_features`` read from the first input."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    """:class:`InstanceNorm3d` with ``num_features`` read from the first input."""

    cls_to_become = InstanceNorm3d
