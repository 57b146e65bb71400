"""``nn.RMSNorm``: each sample divided by the root mean square of its last dimensions, then
scaled; LayerNorm without the centring and the bias (Zhang & Sennrich, 2019)."""

from __future__ import annotations

import numpy as np

from chainrule._device import check_device
from chainrule.errors import ShapeError
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.nn.norm_functional import rms_last
from chainrule.nn.normalization import check_eps

__all__ = ["RMSNorm"]


class RMSNorm(Module):
    """Divide each sample by its root mean square over the last dimensions, then scale:
    y = x / √(mean(x²) + eps) · γ.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dimension).
        eps: added to the mean square before the square root; ``None`` (the default) is the
            machine epsilon of the input's dtype, ``finfo(x.dtype).eps``, as PyTorch's.
        elementwise_affine: learn γ (``weight``, of shape ``normalized_shape``, starts at 1).
        device: ``None`` or ``"cpu"`` (chainrule computes on the CPU).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.

    Shape: (*, *normalized_shape) → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.RMSNorm(4)(cr.ones(2, 3, 4)).shape
        (2, 3, 4)
    """

    def __init__(
        self,
        normalized_shape,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_device(device)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        try:
            shape = tuple(check_size(n, "normalized_shape", "RMSNorm", 1) for n in shape)
        except TypeError:
            raise ValueError(
                f"RMSNorm: normalized_shape must be an int or a tuple of ints, got "
                f"{normalized_shape!r}"
            ) from None
        if not shape:
            raise ValueError("RMSNorm: normalized_shape must have at least one dimension")
        self.normalized_shape = shape
        self.eps = None if eps is None else check_eps(eps, "RMSNorm")
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, float_dtype(dtype)))
        else:
            float_dtype(dtype)  # still refuse a dtype layers cannot hold
            self.register_parameter("weight", None)

    def forward(self, x):
        dtype = None if self.weight is None else self.weight.array.dtype
        x = as_input(x, dtype, "RMSNorm")
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k :] != self.normalized_shape:
            raise ShapeError(
                f"RMSNorm({self.normalized_shape}) got input of shape {x.shape}; expected "
                f"(*, {', '.join(map(str, self.normalized_shape))})"
            )
        return rms_last(x, k, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )

    def _config(self) -> dict:
        dtype = np.dtype(np.float32) if self.weight is None else self.weight.array.dtype
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "dtype": str(dtype),
        }
