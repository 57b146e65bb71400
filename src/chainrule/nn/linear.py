"""Linear (fully connected) layer and Identity."""

from __future__ import annotations

import math

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.nn import init
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.random import Generator
from chainrule.tensor import Tensor


class Linear(Module):
    """y = x @ Wᵀ + b.

    Weights start as PyTorch's do: W and b uniform in (−1/√in_features, 1/√in_features)
    (Kaiming-uniform with a = √5), drawn from the seeded generator.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights (default: global).

    Shape:
        input (..., in_features) → output (..., out_features). NumPy arrays and lists are
        converted to the weight's dtype.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.Linear(3, 2)
        >>> layer(cr.ones(8, 3)).shape
        (8, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=None,
        generator: Generator | None = None,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        dtype = float_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh initial weights (PyTorch's default scheme)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x):
        # The parameters straight from the registry (no __getattr__ trip); arrays and lists
        # take the weights' dtype; ops.linear checks the rest, once.
        params = self._parameters
        try:
            weight, bias = params["weight"], params["bias"]
        except KeyError:  # weight drop: a plain tensor set as the attribute in its place
            weight, bias = self.weight, self.bias
        if not isinstance(x, Tensor):
            x = as_input(x, weight.array.dtype, "Linear")
        return ops.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def _config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.array.dtype),
        }


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); ignores constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x

    def _config(self) -> dict:
        return {}
