"""The inverse error function (``torch.erfinv``), the normal quantile's building block."""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import floating, operand
from chainrule.ops.special import _erf_series, erfc
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


def _newton_step(magnitude: np.ndarray, target: np.ndarray) -> np.ndarray:
    """One Newton step for erf(y) = target (y, target ≥ 0). Near 0 on erf(y) − target, with
    erf from its series (1 − erfc loses the relative precision there); in the tail on
    log erfc(y) − log(1 − target), nearly linear where erf itself is flat (1 − target is exact)."""
    small = target < 0.5
    series = _erf_series(np.where(small, magnitude, 0.0)) - target
    step_small = series * _HALF_SQRT_PI * np.exp(magnitude * magnitude)
    tail = erfc(magnitude)
    step_tail = (np.log(1.0 - target) - np.log(tail)) * tail * _HALF_SQRT_PI
    step_tail = step_tail * np.exp(magnitude * magnitude)
    return magnitude - np.where(small, step_small, step_tail)


def erfinv_array(x: np.ndarray) -> np.ndarray:
    """erfinv(x) in float64: Giles' single-precision approximation refined by four Newton steps
    (the far tail starts further off; four reach ~1e-13 relative). ±1 give ±inf, |x| > 1 NaN."""
    x = np.asarray(x, dtype=np.float64)
    inside = np.abs(x) < 1
    target = np.where(inside, np.abs(x), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = -np.log((1.0 - target) * (1.0 + target))
        y = target * np.where(
            w < 5.0, _polynomial(_CENTRAL, w - 2.5), _polynomial(_TAIL, np.sqrt(w) - 3.0)
        )
        for _ in range(4):
            y = _newton_step(y, target)
    edge = np.where(np.abs(x) == 1, np.copysign(np.inf, x), np.nan)
    return np.where(inside, np.copysign(y, x), edge)


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
        (x,) = self.parents
        out = Erfinv.apply(x)  # in the graph, so a second derivative sees erfinv's own slope
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
