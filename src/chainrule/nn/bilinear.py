"""The bilinear layer y = x1ᵀ A x2 + b (PyTorch's ``nn.Bilinear`` and ``F.bilinear``), written
with existing ops: one matrix product, a broadcast product and a sum, so its gradients (and
second derivatives) are theirs."""

from __future__ import annotations

import math

import numpy as np

from chainrule._device import check_device
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn._util import as_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.ops._util import float_operand
from chainrule.random import Generator
from chainrule.tensor import Tensor


def bilinear(input1, input2, weight, bias=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """y[..., o] = Σ_{i,j} input1[..., i] · weight[o, i, j] · input2[..., j] + bias[o], as
    ``torch.nn.functional.bilinear``.

    Shape:
        input1 (*, in1), input2 (*, in2) with the same leading dimensions, weight
        (out, in1, in2), bias (out,) → (*, out).

    Example:
        >>> import chainrule as cr
        >>> w = cr.ones(2, 3, 4)
        >>> cr.nn.functional.bilinear(cr.ones(5, 3), cr.ones(5, 4), w).shape
        (5, 2)
    """
    x1, x2 = float_operand(input1, "bilinear"), float_operand(input2, "bilinear")
    weight = float_operand(weight, "bilinear")
    if weight.ndim != 3:
        raise ShapeError(
            f"bilinear(): weight must be 3-D (out, in1, in2), got shape {tuple(weight.shape)}"
        )
    dtypes = {x1.dtype, x2.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:
        raise DTypeError(
            f"bilinear(): inputs, weight and bias must share one dtype, got "
            f"{sorted(map(str, dtypes))}; convert with .to(cr.float32) or .to(cr.float64)"
        )
    if x1.ndim != x2.ndim or x1.ndim == 0:
        raise ShapeError(
            f"bilinear(): input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must have the "
            f"same number of dimensions (at least 1)"
        )
    for dim, (a, b) in enumerate(zip(x1.shape[:-1], x2.shape[:-1])):
        if a != b:
            raise ShapeError(
                f"bilinear(): input batch dimensions do not match at dim {dim}: got {a} and {b}"
            )
    out_features, in1, in2 = weight.shape
    for name, got, wanted in (("input1", x1.shape[-1], in1), ("input2", x2.shape[-1], in2)):
        if got != wanted:
            raise ShapeError(
                f"bilinear(): {name} size does not match weight size: got {got} but expected "
                f"{wanted}"
            )
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ShapeError(
            f"bilinear(): bias must have shape ({out_features},), got {tuple(bias.shape)}"
        )
    lead = x1.shape[:-1]
    rows = int(np.prod(lead, dtype=np.int64))
    # x1 · A for every output at once: (B, in1) @ (in1, out·in2), then dotted with x2
    mixed = x1.reshape(rows, in1) @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)
    out = (mixed.reshape(rows, out_features, in2) * x2.reshape(rows, 1, in2)).sum(axis=-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, out_features)


class Bilinear(Module):
    """y = x1ᵀ A x2 + b, one bilinear form per output feature.

    Weights start as PyTorch's: A and b uniform in ±1/√in1_features.

    Args:
        in1_features: size of each first input sample.
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape:
        (*, in1_features), (*, in2_features) → (*, out_features); ``weight`` is
        (out_features, in1_features, in2_features), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.Bilinear(3, 4, 2)
        >>> layer(cr.ones(8, 3), cr.ones(8, 4)).shape
        (8, 2)
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        dtype=None,
        generator: Generator | None = None,
        device=None,
    ):
        check_device(device)  # a layer's parameters live on the CPU: chainrule computes there
        super().__init__()
        self.in1_features = check_size(in1_features, "in1_features", "Bilinear", 1)
        self.in2_features = check_size(in2_features, "in2_features", "Bilinear")
        self.out_features = check_size(out_features, "out_features", "Bilinear")
        dtype = float_dtype(dtype)
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Parameter(np.empty(shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh initial weights: uniform in ±1/√in1_features, as PyTorch."""
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound, generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, input1, input2):  # noqa: A002 - PyTorch's names
        dtype = self.weight.array.dtype
        x1, x2 = as_input(input1, dtype, "Bilinear"), as_input(input2, dtype, "Bilinear")
        return bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )

    def _config(self) -> dict:
        return {
            "in1_features": self.in1_features,
            "in2_features": self.in2_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.array.dtype),
        }
