"""The inverse error function (``torch.erfinv``), the normal quantile's building block."""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import floating, operand
from chainrule.ops.special import _erf_series
from chainrule.ops.special import erf as _erf_array
from chainrule.tensor import Tensor

_HALF_SQRT_PI = math.sqrt(math.pi) / 2
_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
            -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)  # fmt: skip
_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)  # fmt: skip


def _polynomial(coefficients, w):
    p = np.full_like(w, coefficients[0])
    for c in coefficients[1:]:
        p = c + p * w
    return p


def _erf(y: np.ndarray) -> np.ndarray:
    # near 0, erf's 1 − erfc form loses the relative precision Newton needs; the series keeps it
    small = np.abs(y) < 0.5
    series = np.copysign(_erf_series(np.abs(np.where(small, y, 0.0))), y)
    return np.where(small, series, _erf_array(y))


def erfinv_array(x: np.ndarray) -> np.ndarray:
    """erfinv(x) in float64: Giles' single-precision approximation refined by two Newton steps
    on erf (quadratic convergence: ~1e-7 → ~1e-15). ±1 give ±inf, |x| > 1 NaN."""
    x = np.asarray(x, dtype=np.float64)
    inside = np.abs(x) < 1
    safe = np.where(inside, x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - safe) * (1.0 + safe))
        y = safe * np.where(
            w < 5.0, _polynomial(_CENTRAL, w - 2.5), _polynomial(_TAIL, np.sqrt(w) - 3.0)
        )
        for _ in range(2):
            y = y - (_erf(y) - safe) * _HALF_SQRT_PI * np.exp(y * y)
    edge = np.where(np.abs(x) == 1, np.copysign(np.inf, x), np.nan)
    return np.where(inside, y, edge)


class Erfinv(Function):
    label = "erfinv"
    formulas = ("√π/2·e^(erfinv(x)²)",)

    def forward(self, x):
        self.out = erfinv_array(x).astype(x.dtype, copy=False)
        return self.out

    def backward(self, grad):
        return (grad * _HALF_SQRT_PI * np.exp(self.out * self.out),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        out = Tensor._make(self.out, False)
        return (grad * _HALF_SQRT_PI * (out * out).exp(),)


def erfinv(x) -> Tensor:
    """The inverse error function, elementwise: ``erf(erfinv(x)) = x`` on ``(−1, 1)``.

    Example:
        >>> import chainrule as cr
        >>> round(cr.erfinv(cr.tensor(0.5, dtype=cr.float64)).item(), 6)
        0.476936
    """
    x = operand(x)
    if x.dtype.kind != "f":
        x = floating(x)  # PyTorch: int -> the default float dtype
    return Erfinv.apply(x)
