"""Activation functions, each stable for large |x| (no overflow warnings, no NaN).

Every derivative is written in terms of values the forward pass already computed (``self.out``
or the saved ``e^(−|z|)``), which is both cheaper and more accurate than recomputing it.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import ONE, ZERO, operand
from chainrule.ops._util import float_operand as _float_operand
from chainrule.tensor import Tensor

_SQRT_PI = math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_GELU_C = math.sqrt(2.0 / math.pi)
_TANH_GELU_K = 0.044715


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) without overflow (see :func:`_sigmoid_parts`)."""
    return _sigmoid_parts(z)[0]


def _sigmoid_parts(z: np.ndarray):
    """σ(z) and e = e^(−|z|), from which σ(−z) and σ(z)·σ(−z) follow without cancellation.

    σ(z) = e^min(z, 0) / (1 + e^(−|z|)): 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, no
    exponent above 0, so nothing overflows; and no ``np.where``, which costs as much as the
    five other calls on a small array. −|z| as ``negative(abs(z))``: the same bits as
    ``copysign(z, −1)`` and as fast on one element, a third of its time on a large array.
    """
    e = np.exp(np.negative(np.abs(z)))
    return np.divide(np.exp(np.minimum(z, ZERO)), np.add(e, ONE)), e


def _exp_neg_square(z: np.ndarray) -> np.ndarray:
    """e^(−z²) with z² split into an exact high part and a small correction (keeps ~1e-16)."""
    high = np.round(z * 4096.0) / 4096.0  # few significant bits: high² is exact
    return np.exp(-high * high) * np.exp(-(z - high) * (z + high))


def _erf_series(x: np.ndarray) -> np.ndarray:
    """erf(x) for 0 ≤ x ≤ 2.5 from the all-positive series
    erf(x) = (2/√π)·e^(−x²)·Σ (2x²)ⁿ·x/(2n+1)!! (no cancellation inside the sum; ~1e-15)."""
    term, total, two_x2 = x.copy(), x.copy(), 2.0 * x * x
    for n in range(1, 45):
        term = term * two_x2 / (2 * n + 1)
        total += term
    return (2.0 / _SQRT_PI) * _exp_neg_square(x) * total


_ERF_WIDTH, _ERF_PIECES, _ERF_DEGREE = 0.25, 10, 12
_erf_table: list = []


def _erf_piecewise(x: np.ndarray) -> np.ndarray:
    """erf(x) for 0 ≤ x < 2.5: a degree-12 polynomial per interval of width 1/4, fitted once (at
    Chebyshev nodes, to the series above). 13 multiply-adds instead of 45 series terms."""
    if not _erf_table:
        from numpy.polynomial import chebyshev

        half = _ERF_WIDTH / 2
        rows = []
        for i in range(_ERF_PIECES):
            mid = i * _ERF_WIDTH + half
            coef = chebyshev.chebinterpolate(
                lambda t, m=mid: _erf_series(m + half * t), _ERF_DEGREE
            )
            rows.append(chebyshev.cheb2poly(coef)[::-1])  # highest power first, for Horner
        _erf_table.append(np.array(rows))
    table = _erf_table[0]
    piece = np.minimum((x * (1 / _ERF_WIDTH)).astype(np.intp), _ERF_PIECES - 1)
    t = (x - (piece * _ERF_WIDTH + _ERF_WIDTH / 2)) * (2 / _ERF_WIDTH)
    coef = table[piece]
    total = coef[:, 0].copy()
    for k in range(1, _ERF_DEGREE + 1):
        total *= t
        total += coef[:, k]
    return total


def _erfc_nonneg(z: np.ndarray) -> np.ndarray:
    """erfc(z) for z ≥ 0: absolute error below 2e-15, and relative error about 1e-15 in the
    tail z ≥ 2.5 (where erfc < 4e-4), so Φ(x) = erfc(−x/√2)/2 stays accurate far out.

    Below 2.5: 1 − erf(z) from :func:`_erf_piecewise`. Above: the continued fraction
    erfc(z) = e^(−z²)/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + ...)))), evaluated from its tail.
    """
    z = np.asarray(z, dtype=np.float64)
    shape = z.shape
    z = z.reshape(-1)
    out = np.empty_like(z)
    low = z < 2.5
    if low.all():
        return (1.0 - _erf_piecewise(z)).reshape(shape)
    if low.any():
        out[low] = 1.0 - _erf_piecewise(z[low])
    high = ~low
    x = np.minimum(z[high], 26.0)  # erfc(26) ≈ 6e-296: beyond it the answer rounds to 0
    frac = x.copy()
    for k in range(40, 0, -1):
        frac = x + (0.5 * k) / frac
    value = _exp_neg_square(x) / (_SQRT_PI * frac)
    out[high] = np.where(z[high] > 26.0, 0.0, value)
    return out.reshape(shape)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x), the standard normal CDF, accurate in both tails (float64 internally)."""
    x64 = np.asarray(x, dtype=np.float64)
    tail = 0.5 * _erfc_nonneg(np.abs(x64) * _SQRT_HALF)  # Φ(−|x|)
    return np.where(x64 >= 0, 1.0 - tail, tail)


# ---- the core three -------------------------------------------------------------------------
class Sigmoid(Function):
    """σ(z) = 1 / (1 + e^(−z)).  Local derivative: σ(z)·(1 − σ(z))."""

    label = "σ"
    formulas = ("σ(z)·(1 − σ(z))",)
    grads_match_inputs = True

    def forward(self, z):
        self.out, self.e = _sigmoid_parts(z)
        return self.out

    def backward(self, grad):
        # σ(z)·(1 − σ(z)) = e/(1 + e)² with e = e^(−|z|): no 1 − σ cancellation for large z.
        s = np.add(self.e, ONE)
        return (np.multiply(grad, np.divide(self.e, np.multiply(s, s))),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        s = sigmoid(z)
        return (grad * s * (1 - s),)


class Tanh(Function):
    """tanh(z).  Local derivative: 1 − tanh(z)²."""

    label = "tanh"
    formulas = ("1 − tanh(z)²",)
    grads_match_inputs = True

    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        out = self.out
        return (np.multiply(grad, np.subtract(ONE, np.multiply(out, out))),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        t = tanh(z)
        return (grad * (1 - t * t),)


class ReLU(Function):
    """max(z, 0).  Local derivative: 1 if z > 0 else 0."""

    label = "relu"
    formulas = ("1 if z > 0 else 0",)
    grads_match_inputs = True

    def forward(self, z):
        self.out = np.maximum(z, ZERO)
        return self.out

    def backward(self, grad):
        return (np.multiply(grad, np.greater(self.out, ZERO)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        return (grad * Tensor._make((z.array > 0).astype(z.array.dtype), False),)


# ---- the rest of the family -----------------------------------------------------------------
class LeakyReLU(Function):
    """z if z > 0 else a·z.  Local derivative: 1 if z > 0 else a."""

    label = "leaky_relu"
    formulas = ("1 if z > 0 else a",)

    def forward(self, z, negative_slope):
        slope = z.dtype.type(negative_slope)
        positive = z > 0
        if 0 <= negative_slope <= 1:
            # max(z, a·z) is the same number for 0 ≤ a ≤ 1, and max(1, a) or max(0, a) the
            # local derivative: no np.where (five times a multiply's time on a large array)
            self.local = np.maximum(positive.astype(z.dtype), slope)
            return np.maximum(z, np.multiply(z, slope))
        self.local = np.where(positive, z.dtype.type(1), slope)
        return np.where(positive, z, np.multiply(z, slope))

    def backward(self, grad):
        return (np.multiply(grad, self.local),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad * Tensor._make(self.local, False),)  # the local derivative, saved


class ELU(Function):
    """z if z > 0 else α·(e^z − 1).  Local derivative: 1 if z > 0 else out + α (= α·e^z)."""

    label = "elu"
    formulas = ("1 if z > 0 else out + α",)

    def forward(self, z, alpha):
        self.positive = z > 0
        self.alpha = np.asarray(alpha, dtype=z.dtype)
        # expm1 of min(z, 0): never overflows, and accurate for small |z|
        self.out = np.where(self.positive, z, self.alpha * np.expm1(np.minimum(z, 0)))
        return self.out

    def backward(self, grad):
        return (np.where(self.positive, grad, grad * (self.out + self.alpha)),)


class GELU(Function):
    """z·Φ(z) with Φ the standard normal CDF.  Local derivative: Φ(z) + z·φ(z)."""

    label = "gelu"
    formulas = ("Φ(z) + z·φ(z)",)

    def forward(self, z):
        z64 = z.astype(np.float64, copy=False)
        self.z, self.cdf = z, normal_cdf(z64)
        return (z64 * self.cdf).astype(z.dtype, copy=False)

    def backward(self, grad):
        z64 = self.z.astype(np.float64, copy=False)
        pdf = _INV_SQRT_2PI * _exp_neg_square(np.minimum(np.abs(z64), 38.0) * _SQRT_HALF)
        return (grad * (self.cdf + z64 * pdf).astype(grad.dtype, copy=False),)


class GELUTanh(Function):
    """½·z·(1 + tanh(u)) with u = √(2/π)·(z + 0.044715·z³).

    Local derivative: ½·(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(u).
    """

    label = "gelu_tanh"
    formulas = ("½(1 + t) + ½z(1 − t²)·√(2/π)(1 + 0.134145z²)",)

    def forward(self, z):
        # z + k·z³ = z·(1 + k·z²); u stays finite for any finite z in float64, and tanh saturates
        z2 = z * z if z.dtype == np.float64 else (z.astype(np.float64) ** 2)
        u = _TANH_GELU_C * z.astype(np.float64, copy=False) * (1.0 + _TANH_GELU_K * z2)
        self.z, self.t = z, np.tanh(u)
        return (0.5 * z * (1.0 + self.t)).astype(z.dtype, copy=False)

    def backward(self, grad):
        z = self.z.astype(np.float64, copy=False)
        t = self.t
        du = _TANH_GELU_C * (1.0 + 3.0 * _TANH_GELU_K * z * z)
        local = 0.5 * (1.0 + t) + 0.5 * z * ((1.0 - t) * (1.0 + t)) * du
        return (grad * local.astype(grad.dtype, copy=False),)


class Softplus(Function):
    """ln(1 + e^(β·z))/β, and z itself where β·z > threshold (PyTorch's rule).

    Local derivative: σ(β·z), and 1 above the threshold.
    """

    label = "softplus"
    formulas = ("σ(β·z) (1 where β·z > threshold)",)

    def forward(self, z, beta, threshold):
        bz = z * np.asarray(beta, dtype=z.dtype)
        self.linear = bz > threshold
        self.sig, e = _sigmoid_parts(bz)
        # ln(1 + e^x) = max(x, 0) + ln(1 + e^(−|x|)): the exponential never exceeds 1
        soft = (np.maximum(bz, 0) + np.log1p(e)) / np.asarray(beta, dtype=z.dtype)
        return np.where(self.linear, z, soft)

    def backward(self, grad):
        return (np.where(self.linear, grad, grad * self.sig),)


class SiLU(Function):
    """z·σ(z).  Local derivative: σ(z)·(1 + z·(1 − σ(z)))."""

    label = "silu"
    formulas = ("σ(z)·(1 + z·(1 − σ(z)))",)

    def forward(self, z):
        # σ(z) and 1 − σ(z) = σ(−z) from e = e^(−|z|): 1/(1 + e) on one side of 0 and
        # e/(1 + e) on the other, each without cancellation
        e = np.exp(np.negative(np.abs(z)))
        den = np.add(e, ONE)
        big, small = np.divide(ONE, den), np.divide(e, den)
        positive = np.greater_equal(z, ZERO)
        self.z = z
        self.sig = np.where(positive, big, small)
        self.sig_neg = np.where(positive, small, big)
        self.out = np.multiply(z, self.sig)
        return self.out

    def backward(self, grad):
        return (grad * (self.sig * (1 + self.z * self.sig_neg)),)


class LogSigmoid(Function):
    """ln σ(z) = min(z, 0) − ln(1 + e^(−|z|)).  Local derivative: 1 − σ(z) = σ(−z)."""

    label = "log σ"
    formulas = ("1 − σ(z)",)

    def forward(self, z):
        e = np.exp(-np.abs(z))
        self.sig_neg = np.where(z >= 0, e / (1 + e), 1 / (1 + e))
        return np.minimum(z, 0) - np.log1p(e)

    def backward(self, grad):
        return (grad * self.sig_neg,)


# ---- functions ------------------------------------------------------------------------------
def sigmoid(x) -> Tensor:
    """Logistic function σ(x) = 1 / (1 + e^(−x)), elementwise and stable for any finite x.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.sigmoid(cr.tensor([0.0])).tolist()
        [0.5]
    """
    return Sigmoid.apply(x if isinstance(x, Tensor) else operand(x))


def tanh(x) -> Tensor:
    """Hyperbolic tangent, elementwise.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.tanh(cr.tensor([0.0])).tolist()
        [0.0]
    """
    return Tanh.apply(x if isinstance(x, Tensor) else operand(x))


def relu(x) -> Tensor:
    """Rectified linear unit max(x, 0), elementwise.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.relu(cr.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return ReLU.apply(x if isinstance(x, Tensor) else operand(x))


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU: x where x > 0, else ``negative_slope``·x.

    Args:
        x: input tensor or array (floating point).
        negative_slope: slope for negative inputs.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.leaky_relu(cr.tensor([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    return LeakyReLU.apply(_float_operand(x, "leaky_relu"), negative_slope=negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x where x > 0, else α·(e^x − 1).

    Args:
        x: input tensor or array (floating point).
        alpha: the value the output approaches for very negative x is −alpha.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.elu(cr.tensor([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    return ELU.apply(_float_operand(x, "elu"), alpha=alpha)


def gelu(x, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x·Φ(x), Φ the standard normal CDF.

    Args:
        x: input tensor or array (floating point).
        approximate: ``"none"`` for the exact erf form, ``"tanh"`` for the tanh approximation.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.functional.gelu(cr.tensor([1.0], dtype="float64")).item(), 6)
        0.841345
    """
    x = _float_operand(x, "gelu")
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus ln(1 + e^(βx))/β, a smooth ReLU; linear where βx > ``threshold``.

    Args:
        x: input tensor or array (floating point).
        beta: sharpness (larger is closer to ReLU).
        threshold: above this value of βx the output is x itself, as in PyTorch.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.functional.softplus(cr.tensor([0.0], dtype="float64")).item(), 6)
        0.693147
    """
    if beta == 0:
        raise ValueError("softplus beta must be non-zero")
    return Softplus.apply(_float_operand(x, "softplus"), beta=beta, threshold=threshold)


def silu(x) -> Tensor:
    """Sigmoid linear unit (swish) x·σ(x).

    Args:
        x: input tensor or array (floating point).

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.silu(cr.tensor([0.0])).tolist()
        [0.0]
    """
    return SiLU.apply(_float_operand(x, "silu"))


def log_sigmoid(x) -> Tensor:
    """ln σ(x), computed without overflow or loss of tiny values.

    Args:
        x: input tensor or array (floating point).

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.log_sigmoid(cr.tensor([-1000.0, 1000.0])).tolist()
        [-1000.0, 0.0]
    """
    return LogSigmoid.apply(_float_operand(x, "log_sigmoid"))


# The softmax family lives in ops/softmax.py; its old import path keeps working.
# isort: split
from chainrule.ops.softmax import (  # noqa: E402, F401
    LogSoftmax,
    Softmax,
    _softmax_parts,
    log_softmax,
    softmax,
)
