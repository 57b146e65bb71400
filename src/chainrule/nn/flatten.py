"""Flatten: merge a range of dimensions into one (e.g. images into vectors)."""

from __future__ import annotations

from chainrule import ops
from chainrule.errors import DimensionError, ShapeError
from chainrule.nn.module import Module
from chainrule.ops._util import operand


class Flatten(Module):
    """Merge dimensions ``start_dim`` … ``end_dim`` into one.

    Args:
        start_dim: first dimension to merge (default 1: keep the batch dimension).
        end_dim: last dimension to merge (default -1).

    Shape: (N, 8, 8) → (N, 64) with the defaults.
    """

    _config_args = ("start_dim", "end_dim")

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"Flatten: {name} must be an integer, got {value!r}")
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        x = operand(x)
        ndim = max(x.ndim, 1)
        for dim in (self.start_dim, self.end_dim):
            if not -ndim <= dim < ndim:  # an IndexError too, as PyTorch's
                raise DimensionError(
                    f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) got input of "
                    f"shape {x.shape}: dimension {dim} does not exist"
                )
        if self.start_dim % ndim > self.end_dim % ndim:
            raise ShapeError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for "
                f"input of shape {x.shape}"
            )
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
