"""More activation modules, as PyTorch's: PReLU (with its learned slope), Mish, Hardswish,
Hardsigmoid, Softsign, Tanhshrink, Threshold, GLU, Softmin and Softmax2d. Thin wrappers around
``ops/activation_extra.py``; ``inplace`` as in ``nn/activation.py``."""

from __future__ import annotations

import numpy as np

from chainrule._device import check_device
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.activation import _check_dim, _check_finite, _softmax_dim, in_place
from chainrule.nn.module import Module, Parameter
from chainrule.ops import activation_extra as _ops
from chainrule.ops._util import operand
from chainrule.ops.softmax import softmax


class PReLU(Module):
    """x if x > 0 else a·x, with the slope ``a`` learned: one for every channel together
    (``num_parameters=1``) or one per channel (dimension 1 of the input).

    Args:
        num_parameters: how many slopes: 1, or the number of input channels.
        init: the slopes' initial value (PyTorch's 0.25).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.

    Shape:
        any → same; ``weight`` is (num_parameters,), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PReLU()(cr.tensor([-2.0, 3.0])).tolist()
        [-0.5, 3.0]
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None, device=None):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        self.num_parameters = check_size(num_parameters, "num_parameters", "PReLU", 1)
        self.init = _check_finite(init, "init", "PReLU")
        self.weight = Parameter(np.empty(self.num_parameters, float_dtype(dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every slope back to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, x):
        return _ops.prelu(as_input(x, self.weight.array.dtype, "PReLU"), self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def _config(self) -> dict:
        return {
            "num_parameters": self.num_parameters,
            "init": self.init,
            "dtype": str(self.weight.array.dtype),
        }


class _Elementwise(Module):
    """An activation with nothing but ``inplace``: shape any → same."""

    _config_args = ("inplace",)
    _op = None
    _inplace_in_repr = False  # Hardswish and Hardsigmoid never show it; Mish does

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        out = type(self)._op(x)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace and self._inplace_in_repr else ""


class Mish(_Elementwise):
    """x·tanh(softplus(x)), elementwise. Shape: any → same."""

    _op = staticmethod(_ops.mish)
    _inplace_in_repr = True


class Hardswish(_Elementwise):
    """x·relu6(x + 3)/6, elementwise (MobileNetV3). Shape: any → same."""

    _op = staticmethod(_ops.hardswish)


class Hardsigmoid(_Elementwise):
    """relu6(x + 3)/6, elementwise. Shape: any → same."""

    _op = staticmethod(_ops.hardsigmoid)


class Softsign(Module):
    """x / (1 + |x|), elementwise. Shape: any → same."""

    _config_args = ()

    def forward(self, x):
        return _ops.softsign(x)


class Tanhshrink(Module):
    """x − tanh(x), elementwise. Shape: any → same."""

    _config_args = ()

    def forward(self, x):
        return _ops.tanhshrink(x)


class Threshold(Module):
    """x where x > threshold, else value. Shape: any → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Threshold(0.5, -1.0)(cr.tensor([0.2, 1.5])).tolist()
        [-1.0, 1.5]
    """

    _config_args = ("threshold", "value", "inplace")

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold = _check_finite(threshold, "threshold", "Threshold")
        self.value = _check_finite(value, "value", "Threshold")
        self.inplace = bool(inplace)

    def forward(self, x):
        out = _ops.threshold(x, self.threshold, self.value)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class GLU(Module):
    """a·σ(b), a and b the halves of the input along ``dim``. Shape: (*, 2M, *) → (*, M, *)."""

    _config_args = ("dim",)

    def __init__(self, dim: int = -1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"GLU: dim must be an integer, got {dim!r}")
        self.dim = dim

    def forward(self, x):
        return _ops.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(−x) along ``dim`` (no ``dim``: PyTorch's implicit choice, with its warning).
    Shape: any → same."""

    _config_args = ("dim",)
    produces = "distribution"

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _check_dim(dim, "Softmin")

    def forward(self, x):
        return _ops.softmin(x, dim=_softmax_dim(self.dim, x, "softmin"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels at every pixel: each (h, w) of a segmentation map becomes a
    distribution over the C classes. Shape: (N, C, H, W) or (C, H, W) → same.

    Example:
        >>> import chainrule as cr
        >>> p = cr.nn.Softmax2d()(cr.randn(2, 3, 4, 5))
        >>> bool(abs(p.sum(dim=1) - 1).max() < 1e-6)
        True
    """

    produces = "distribution"

    def forward(self, x):
        x = operand(x)
        if x.ndim not in (3, 4):
            raise ShapeError(
                f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead (shape "
                f"{x.shape}); give images (N, C, H, W) or (C, H, W)"
            )
        return softmax(x, dim=-3)
