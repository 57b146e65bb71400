"""Activation functions, each stable for large |x| (no overflow warnings, no NaN).

Every derivative is written in terms of values the forward pass already computed (``self.out``
or the saved ``e^(−|z|)``), which is both cheaper and more accurate than recomputing it.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError
from chainrule.ops._util import ONE, ZERO, floating, operand
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops.log1p_expm1 import expm1_and_exp, log1p_unit
from chainrule.ops.special import _exp_neg_square, gaussian_tail32, normal_cdf
from chainrule.tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_GELU_C = math.sqrt(2.0 / math.pi)
_TANH_GELU_K = 0.044715


# Up to this many elements Sigmoid takes its formula with the fewest NumPy calls (measured: the
# 1×16 forward + backward 6.8 µs, against 8.5 µs for the fewest passes over memory)
_SMALL = 256
# From this many elements ReLU takes max(z, zeros) rather than max(z, 0) (measured crossover:
# about 1,500 float32 elements; 4,096: 1.67 against 2.27 µs)
_RELU_FILL_MIN = 2048


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) without overflow (see :func:`_sigmoid_core`)."""
    return _sigmoid_core(z)[0]


def _sigmoid_parts(z: np.ndarray):
    """σ(z) and e = e^(−|z|), from which σ(−z) and σ(z)·σ(−z) follow without cancellation."""
    sig, e, _ = _sigmoid_core(z)
    return sig, e


def _exp_neg_abs(z: np.ndarray) -> np.ndarray:
    """e^(−|z|) in a fresh array of z's shape (0-d too): never above 1, so never overflows."""
    e = np.abs(z, out=np.empty_like(z))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _sigmoid_core(z: np.ndarray):
    """σ(z), e = e^(−|z|) and r = σ(|z|) = 1/(1 + e), each in its own array.

    σ(z) = r for z ≥ 0 and e·r for z < 0, chosen without ``np.where`` (six times a multiply's
    time): q = max([z ≥ 0], e) is 1 or e, and σ = q·r. Nothing overflows, σ(−z) = e·r keeps
    its relative accuracy far out, and σ(z)·σ(−z) = e·r² needs no 1 − σ. NaN stays NaN.
    """
    e = _exp_neg_abs(z)
    r = np.add(e, ONE, out=np.empty_like(z))
    np.divide(ONE, r, out=r)
    sig = np.greater_equal(z, ZERO, out=np.empty_like(z))
    np.maximum(sig, e, out=sig)
    sig *= r
    return sig, e, r


def _grad_times_sigmoid(grad, z, e, negate: bool = False) -> np.ndarray:
    """grad·σ(z) (or grad·σ(−z) with ``negate``) from the saved e = e^(−|z|), the way
    :func:`_sigmoid_core` builds σ: max([z ≥ 0], e)·1/(1 + e) (for σ(−z): [z < 0])."""
    local = np.add(e, ONE)
    local = np.divide(grad, local)
    compare = np.less if negate else np.greater_equal
    q = compare(z, ZERO, out=np.empty_like(z))
    np.maximum(q, e, out=q)
    local *= q
    return local


# ---- the core three -------------------------------------------------------------------------
class Sigmoid(Function):
    """σ(z) = 1 / (1 + e^(−z)).  Local derivative: σ(z)·(1 − σ(z))."""

    label = "σ"
    formulas = ("σ(z)·(1 − σ(z))",)
    grads_match_inputs = True

    def forward(self, z):
        if z.size <= _SMALL:
            # Few elements: fewer NumPy calls beat fewer passes (e^min(z, 0)/(1 + e), 6 calls)
            e = np.exp(np.negative(np.abs(z)))
            self.out, self.e, self.r = np.divide(np.exp(np.minimum(z, ZERO)), e + ONE), e, None
            return self.out
        self.out, self.e, self.r = _sigmoid_core(z)
        return self.out

    def backward(self, grad):
        # σ(z)·(1 − σ(z)) = e/(1 + e)² = e·r² with e = e^(−|z|): no 1 − σ cancellation.
        if self.r is None:
            s = np.add(self.e, ONE)
            return (np.multiply(grad, np.divide(self.e, np.multiply(s, s))),)
        grad_z = np.multiply(grad, self.r)
        grad_z *= self.r
        grad_z *= self.e
        return (grad_z,)

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
        # max(0, z) in this order keeps z where it equals 0, so −0 stays −0 (PyTorch's), and NaN
        # stays NaN
        if z.size < _RELU_FILL_MIN:
            self.out = np.maximum(ZERO, z)
            return self.out
        # NumPy's maximum against a scalar runs about half as fast as against an array (12.8
        # against 6.0 µs on 128×256 float32, fill included): fill the output with 0 and take
        # max(out, z) into it.
        out = np.empty_like(z)
        out.fill(0)
        self.out = np.maximum(out, z, out=out)
        return self.out

    def backward(self, grad):
        # PyTorch passes the gradient where not (z ≤ 0): where out ≠ 0, NaN included
        return (np.multiply(grad, np.not_equal(self.out, ZERO)),)

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
        if 0 <= negative_slope <= 1:
            # The local derivative [z > 0]·(1 − a) + a is exactly 1 or a for 0 ≤ a ≤ 1 (the
            # rounding of 1 − a cancels when a is added back), and out = z·local is z or a·z:
            # four passes, no np.where (six times a multiply's time) and no scalar maximum
            self.local = np.greater(z, ZERO, out=np.empty_like(z))
            self.local *= 1 - slope
            self.local += slope
            return np.multiply(z, self.local)
        positive = z > 0
        self.local = np.where(positive, z.dtype.type(1), slope)
        return np.where(positive, z, np.multiply(z, slope))

    def backward(self, grad):
        return (np.multiply(grad, self.local),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad * Tensor._make(self.local, False),)  # the local derivative, saved


class ELU(Function):
    """z if z > 0 else α·(e^z − 1).  Local derivative: 1 if z > 0 else α·e^z."""

    label = "elu"
    formulas = ("1 if z > 0 else α·e^z",)

    def forward(self, z, alpha):
        self.alpha = z.dtype.type(alpha)
        if 0 < alpha <= 1:
            # α·(e^(−|z|) − 1) is z itself for z ≤ 0 and lies in (−α, 0] for z > 0, and
            # α·expm1(z) ≥ z for α ≤ 1: the maximum picks the right branch with no np.where
            minus_abs = np.abs(z, out=np.empty_like(z))
            np.negative(minus_abs, out=minus_abs)
            with np.errstate(under="ignore"):  # e^z is 0 below z = −103: right
                neg, self.exp = expm1_and_exp(minus_abs)
            if alpha != 1:
                neg *= self.alpha
                self.exp *= self.alpha
            self.z = z
            return np.maximum(neg, z)  # this order: elu(+0) is +0, as in PyTorch
        self.positive = np.logical_not(z <= 0)  # NaN counts as positive: its gradient passes
        # min(0, z) in this order keeps −0 (minimum returns its second argument on a tie)
        with np.errstate(under="ignore"):
            neg, self.exp = expm1_and_exp(np.minimum(ZERO, z))
        self.out = np.where(self.positive, z, self.alpha * neg)
        return self.out

    def backward(self, grad):
        if "z" in self.__dict__:
            # max([z > 0], α·e^(−|z|)): α·e^z itself for z ≤ 0 (out + α cancels for z ≪ 0), at
            # most α ≤ 1 above; at NaN [not z ≤ 0] is 1 and fmax skips the NaN, as PyTorch does
            local = np.less_equal(self.z, ZERO, out=np.empty_like(self.z))
            np.subtract(ONE, local, out=local)
            np.fmax(local, self.exp, out=local)
            local *= grad
            return (local,)
        return (np.where(self.positive, grad, grad * (self.alpha * self.exp)),)


class GELU(Function):
    """z·Φ(z) with Φ the standard normal CDF.  Local derivative: Φ(z) + z·φ(z)."""

    label = "gelu"
    formulas = ("Φ(z) + z·φ(z)",)

    def forward(self, z):
        self.z = z
        if z.dtype == np.float32:
            # Φ(−|z|) and e^(−z²/2) in float32 (special.gaussian_tail32); Φ(z) is 1 − Φ(−|z|)
            # for z ≥ 0 and Φ(−|z|) below: | [z ≥ 0] − Φ(−|z|) |, no np.where
            tail, self.gauss = gaussian_tail32(np.abs(z))
            self.cdf = np.greater_equal(z, ZERO, out=np.empty_like(z))
            self.cdf -= tail
            np.abs(self.cdf, out=self.cdf)
            return np.multiply(z, self.cdf)
        z64 = z.astype(np.float64, copy=False)
        self.gauss, self.cdf = None, normal_cdf(z64)
        return (z64 * self.cdf).astype(z.dtype, copy=False)

    def backward(self, grad):
        if self.gauss is not None:
            local = np.multiply(self.z, np.float32(_INV_SQRT_2PI))
            local *= self.gauss
            local += self.cdf
            local *= grad
            return (local,)
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
        # float32 and float64 in their own precision (as PyTorch); float16 through float32
        w = z if z.dtype.itemsize >= 4 else z.astype(np.float32)
        c, k = w.dtype.type(_TANH_GELU_C), w.dtype.type(_TANH_GELU_C * _TANH_GELU_K)
        # u = z·(c + c·k·z²); z² overflows only where tanh is ±1 anyway
        self.t = np.empty_like(w)
        with np.errstate(over="ignore"):
            np.multiply(w, w, out=self.t)
        self.t *= k
        self.t += c
        self.t *= w
        np.tanh(self.t, out=self.t)
        self.half = np.add(self.t, ONE)  # ½·(1 + t), the local derivative's first term
        self.half *= w.dtype.type(0.5)
        self.z = w
        return np.multiply(w, self.half).astype(z.dtype, copy=False)

    def backward(self, grad):
        z = self.z
        # ½·(1 − t²) = (1 − t)·½(1 + t): no cancellation where t is near ±1
        with np.errstate(over="ignore"):
            du = np.multiply(z, z)
        du *= z.dtype.type(3 * _TANH_GELU_C * _TANH_GELU_K)
        du += z.dtype.type(_TANH_GELU_C)
        local = np.subtract(ONE, self.t)
        local *= self.half
        local *= z
        local *= du
        local += self.half
        local *= grad
        return (local.astype(grad.dtype, copy=False),)


class Softplus(Function):
    """ln(1 + e^(β·z))/β, and z itself where β·z > threshold (PyTorch's rule).

    Local derivative: σ(β·z), and 1 above the threshold.
    """

    label = "softplus"
    formulas = ("σ(β·z) (1 where β·z > threshold)",)

    def forward(self, z, beta, threshold):
        if beta == 1 and threshold >= 17 and z.dtype == np.float32:
            # Above z = 17, ln(1 + e^(−z)) < 4.2e-8 is below half an ulp of z, and σ(z) rounds
            # to 1: the threshold's np.where changes nothing in float32
            self.z, self.e = z, _exp_neg_abs(z)
            zero = np.multiply(self.e, ZERO, out=np.empty_like(z))  # 0, or NaN where z is NaN
            out = np.maximum(z, zero, out=zero)  # max(z, 0) without a scalar maximum
            out += log1p_unit(self.e)
            self.linear = None
            return out
        bz = z * np.asarray(beta, dtype=z.dtype)
        self.linear = bz > threshold
        self.sig, e = _sigmoid_parts(bz)
        # ln(1 + e^x) = max(x, 0) + ln(1 + e^(−|x|)): the exponential never exceeds 1
        soft = (np.maximum(bz, 0) + log1p_unit(e)) / np.asarray(beta, dtype=z.dtype)
        return np.where(self.linear, z, soft)

    def backward(self, grad):
        if self.linear is None:
            return (_grad_times_sigmoid(grad, self.z, self.e),)
        return (np.where(self.linear, grad, grad * self.sig),)


class SiLU(Function):
    """z·σ(z).  Local derivative: σ(z)·(1 + z·(1 − σ(z)))."""

    label = "silu"
    formulas = ("σ(z)·(1 + z·(1 − σ(z)))",)

    def forward(self, z):
        self.z = z
        self.sig, self.e, self.r = _sigmoid_core(z)
        return np.multiply(z, self.sig)

    def backward(self, grad):
        # σ(z)·(1 + z·σ(−z)) = σ(z) + z·e·r², with σ(z)·σ(−z) = e·r² (no 1 − σ cancellation)
        local = np.multiply(self.z, self.e)
        local *= self.r
        local *= self.r
        local += self.sig
        local *= grad
        return (local,)


class LogSigmoid(Function):
    """ln σ(z) = min(z, 0) − ln(1 + e^(−|z|)).  Local derivative: 1 − σ(z) = σ(−z)."""

    label = "log σ"
    formulas = ("1 − σ(z)",)

    def forward(self, z):
        self.z, self.e = z, _exp_neg_abs(z)
        zero = np.multiply(self.e, ZERO, out=np.empty_like(z))  # 0, or NaN where z is NaN
        out = np.minimum(z, zero, out=zero)  # min(z, 0) without a scalar minimum
        out -= log1p_unit(self.e)
        return out

    def backward(self, grad):
        return (_grad_times_sigmoid(grad, self.z, self.e, negate=True),)


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
    if x.__class__ is not Tensor or x.array.dtype.kind != "f":
        x = floating(x)
    return Sigmoid.apply(x)


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
    if x.__class__ is not Tensor or x.array.dtype.kind != "f":
        x = floating(x)
    return Tanh.apply(x)


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
    x = x if isinstance(x, Tensor) else operand(x)
    if x.array.dtype.kind != "f":
        if x.array.dtype == np.bool_:
            raise DTypeError("relu of a bool tensor is not defined (as in PyTorch); convert first")
        # integers keep their dtype (NumPy would promote uint8 against a float zero)
        return Tensor._make(np.maximum(x.array, x.array.dtype.type(0)), False)
    return ReLU.apply(x)


class Hardtanh(Function):
    """z clamped to [low, high].  Local derivative: 1 strictly inside, 0 at and beyond the
    bounds (PyTorch's: unlike clamp, the bounds themselves pass nothing; NaN passes)."""

    label = "hardtanh"
    formulas = ("1 if low < z < high else 0",)
    grads_match_inputs = True

    def forward(self, z, low, high):
        self.z, self.low, self.high = z, z.dtype.type(low), z.dtype.type(high)
        return np.minimum(self.high, np.maximum(self.low, z))  # z itself on a tie (−0 stays)

    def backward(self, grad):
        blocked = (self.z <= self.low) | (self.z >= self.high)
        return (grad * np.logical_not(blocked),)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val], as ``torch.nn.functional.hardtanh``; the gradient is 1
    strictly inside the bounds and 0 at them.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.hardtanh(cr.tensor([-2.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    if not min_val <= max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return Hardtanh.apply(_float_operand(x, "hardtanh"), low=float(min_val), high=float(max_val))


def relu6(x) -> Tensor:
    """min(max(x, 0), 6), as ``torch.nn.functional.relu6`` (``hardtanh(x, 0, 6)``)."""
    return hardtanh(x, 0.0, 6.0)


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
