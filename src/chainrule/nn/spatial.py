"""Layers for image-shaped activations: BatchNorm2d, BatchNorm3d, Dropout2d and Unflatten.

BatchNorm2d and BatchNorm3d reuse :class:`~chainrule.nn.normalization.BatchNorm1d` on the
(N, C, H·W) or (N, C, D·H·W) view of their input (statistics per channel over batch and
pixels, exactly as PyTorch), so their gradients come from the same composite ops.
"""

from __future__ import annotations

import math

from chainrule.errors import DimensionError, ShapeError
from chainrule.nn._util import as_input
from chainrule.nn.dropout import Dropout
from chainrule.nn.dropout_variants import dropout2d
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d
from chainrule.ops._util import operand


class _BatchNormImages(BatchNorm1d):
    """BatchNorm1d's arithmetic on the (N, C, pixels) view of an (N, C, *spatial) input."""

    spatial_dims = 2
    layout = "H, W"

    def forward(self, x):
        name = type(self).__name__
        x = as_input(x, self._param_dtype(), name)
        c = self.num_features
        if x.ndim != 2 + self.spatial_dims or x.shape[1] != c:
            raise ShapeError(
                f"{name}({c}) got input of shape {x.shape}; expected (N, {c}, {self.layout})"
            )
        n, pixels = x.shape[0], math.prod(x.shape[2:])
        if self.training and n * pixels <= 1:
            raise ShapeError(
                f"{name} needs more than one value per channel in training, got input of "
                f"shape {x.shape}; use a batch larger than 1 or call model.eval()"
            )
        out = super().forward(x.reshape(n, c, pixels))
        return out.reshape(x.shape)


class BatchNorm2d(_BatchNormImages):
    """Normalise each channel over the batch and every pixel, then scale and shift:
    y = γ·x̂ + β, with running statistics for evaluation.

    Arguments as :class:`~chainrule.nn.BatchNorm1d` (``num_features`` is the channel count C).
    Parameters and buffers (``weight``, ``bias``, ``running_mean``, ``running_var``,
    ``num_batches_tracked``) have PyTorch's names and shapes.

    Shape: (N, C, H, W) → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.BatchNorm2d(6)(cr.ones(4, 6, 5, 5)).shape
        (4, 6, 5, 5)
    """


class BatchNorm3d(_BatchNormImages):
    """Normalise each channel over the batch and every voxel, then scale and shift:
    y = γ·x̂ + β, with running statistics for evaluation (after a Conv3d, as BatchNorm2d
    after a Conv2d).

    Arguments, parameters and buffers as :class:`~chainrule.nn.BatchNorm2d`.

    Shape: (N, C, D, H, W) → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.BatchNorm3d(4)(cr.ones(2, 4, 3, 5, 5)).shape
        (2, 4, 3, 5, 5)
    """

    spatial_dims = 3
    layout = "D, H, W"


class Dropout2d(Dropout):
    """Zero whole channels with probability ``p`` in training (scaling the rest by 1/(1 − p)),
    so neighbouring pixels of one feature map cannot stand in for each other.

    Args:
        p: probability of zeroing a channel, in [0, 1].
        inplace: write the result into the input where nothing is recorded for backward.
        generator: a :class:`chainrule.Generator` for the masks.

    Shape: (N, C, H, W) → same; a 3-D input is read as (N, C, L), and other ranks are
    deprecated, with PyTorch's warnings (see :func:`~chainrule.nn.functional.dropout2d`).
    """

    def forward(self, x):
        return dropout2d(x, self.p, self.training, self.inplace, generator=self.generator)


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (the inverse of :class:`Flatten`),
    e.g. vectors back into images.

    Args:
        dim: the dimension to split.
        unflattened_size: the new sizes; their product must equal the size of ``dim``.

    Shape: (N, 400) → (N, 16, 5, 5) with ``Unflatten(1, (16, 5, 5))``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Unflatten(1, (16, 5, 5))(cr.ones(2, 400)).shape
        (2, 16, 5, 5)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"Unflatten: dim must be an integer, got {dim!r}")
        given = unflattened_size  # a list stays a list, for PyTorch's repr
        if isinstance(unflattened_size, list):
            unflattened_size = tuple(unflattened_size)
        if (
            not isinstance(unflattened_size, tuple)
            or not unflattened_size
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and (s >= 1 or s == -1)
                for s in unflattened_size
            )
        ):
            raise ValueError(
                f"Unflatten: unflattened_size must be a tuple of positive ints, got "
                f"{unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = given

    def forward(self, x):
        x = operand(x)
        ndim = x.ndim
        if not -ndim <= self.dim < ndim:  # an IndexError too, as PyTorch's (0-d: no dim)
            raise DimensionError(
                f"Unflatten(dim={self.dim}) got input of shape {x.shape}: dimension {self.dim} "
                f"does not exist"
            )
        dim = self.dim % ndim
        size = x.shape[dim]
        known = math.prod(s for s in self.unflattened_size if s != -1)
        if (-1 not in self.unflattened_size and known != size) or size % known:
            raise ShapeError(
                f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size}) got input "
                f"of shape {x.shape}: {size} values cannot be split into that shape"
            )
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def _config(self) -> dict:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}
