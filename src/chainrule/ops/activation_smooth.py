"""The smooth activations (ELU, GELU, softplus, SiLU, log-sigmoid) and hardtanh: forward,
local derivative and, for second derivatives, the local derivative again as tensor ops
(``backward_graph``), side by side."""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import ONE, ZERO
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops.activation import (
    _exp_neg_abs,
    _grad_times_sigmoid,
    _sigmoid_core,
    _sigmoid_parts,
)
from chainrule.ops.log1p_expm1 import expm1_and_exp, log1p_unit
from chainrule.ops.piecewise_link import tie
from chainrule.ops.special import _exp_neg_square, gaussian_tail32, normal_cdf
from chainrule.tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_GELU_C = math.sqrt(2.0 / math.pi)
_TANH_GELU_K = 0.044715


def _constant(array: np.ndarray) -> Tensor:
    return Tensor._make(array, False)


class ELU(Function):
    """z if z > 0 else α·(e^z − 1).  Local derivative: 1 if z > 0 else α·e^z."""

    label = "elu"
    definition = "elu(z) = z if z > 0 else α·(e^z − 1)"
    formulas = ("1 if z > 0 else α·e^z",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"α = {float(self.alpha):g}"

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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import exp, where

        (z,) = self.parents
        passes = _constant(np.logical_not(z.array <= 0))  # NaN passes, as backward
        # at z = 0 the local derivative is α, but PyTorch's second derivative there is 0
        alpha = float(self.alpha)
        negative = _constant(z.array < 0)
        # e^z of the negative z only: a large positive z would overflow, and its gradient
        # through the branch not taken would be 0·∞ = NaN
        curved = where(negative, exp(where(negative, z, 0.0)) * alpha, alpha)
        return (grad * where(passes, ONE, curved),)


class GELU(Function):
    """z·Φ(z) with Φ the standard normal CDF.  Local derivative: Φ(z) + z·φ(z)."""

    label = "gelu"
    definition = "gelu(z) = z·Φ(z), Φ the standard normal CDF and φ its density"
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
        # |z| capped at 40, where φ is exactly 0 already: z·φ(z) is 0 for every finite z past
        # it (a cap below 38.6 left denormal φ(38), times z), and NaN at ±∞, as in PyTorch
        with np.errstate(under="ignore"):
            pdf = _INV_SQRT_2PI * _exp_neg_square(np.minimum(np.abs(z64), 40.0) * _SQRT_HALF)
        return (grad * (self.cdf + z64 * pdf).astype(grad.dtype, copy=False),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.math import erf

        (z,) = self.parents
        cdf = (erf(z * _SQRT_HALF) + 1) * 0.5
        pdf = (z * z * -0.5).exp() * _INV_SQRT_2PI
        return (grad * (cdf + z * pdf),)


class GELUTanh(Function):
    """½·z·(1 + tanh(u)) with u = √(2/π)·(z + 0.044715·z³).

    Local derivative: ½·(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(u).
    """

    label = "gelu_tanh"
    definition = "gelu_tanh(z) = ½·z·(1 + t)"
    explained_name = "GELU (approximate = 'tanh')"  # what the user wrote: nn.GELU("tanh")
    formulas = ("½(1 + t) + ½z(1 − t²)·√(2/π)(1 + 0.134145z²)",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return "t = tanh(√(2/π)·(z + 0.044715·z³))"

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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        t = (z * (_TANH_GELU_C + _TANH_GELU_C * _TANH_GELU_K * z * z)).tanh()
        du = _TANH_GELU_C + 3 * _TANH_GELU_C * _TANH_GELU_K * z * z
        return (grad * ((t + 1) * 0.5 + z * (1 - t * t) * du * 0.5),)


class Softplus(Function):
    """ln(1 + e^(β·z))/β, and z itself where β·z > threshold (PyTorch's rule).

    Local derivative: σ(β·z), and 1 above the threshold.
    """

    label = "softplus"
    definition = "softplus(z) = ln(1 + e^(β·z))/β"
    formulas = ("σ(β·z) (1 where β·z > threshold)",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"β = {float(self.beta):g}, threshold = {float(self.threshold):g}"

    def forward(self, z, beta, threshold):
        self.beta, self.threshold = beta, threshold
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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where

        (z,) = self.parents
        linear = _constant(z.array * np.asarray(self.beta, z.array.dtype) > self.threshold)
        return (grad * where(linear, ONE, (z * float(self.beta)).sigmoid()),)


class SiLU(Function):
    """z·σ(z).  Local derivative: σ(z)·(1 + z·(1 − σ(z)))."""

    label = "silu"
    definition = "silu(z) = z·σ(z)"
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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        s = z.sigmoid()
        return (grad * (s * (1 + z * (1 - s))),)


class LogSigmoid(Function):
    """ln σ(z) = min(z, 0) − ln(1 + e^(−|z|)).  Local derivative: 1 − σ(z) = σ(−z)."""

    label = "log σ"
    definition = "log σ(z) = ln(1/(1 + e^(−z)))"
    formulas = ("1 − σ(z)",)

    def forward(self, z):
        self.z, self.e = z, _exp_neg_abs(z)
        zero = np.multiply(self.e, ZERO, out=np.empty_like(z))  # 0, or NaN where z is NaN
        out = np.minimum(z, zero, out=zero)  # min(z, 0) without a scalar minimum
        out -= log1p_unit(self.e)
        return out

    def backward(self, grad):
        return (_grad_times_sigmoid(grad, self.z, self.e, negate=True),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        return (grad * (-z).sigmoid(),)


class Hardtanh(Function):
    """z clamped to [low, high].  Local derivative: 1 strictly inside, 0 at and beyond the
    bounds (PyTorch's: unlike clamp, the bounds themselves pass nothing; NaN passes)."""

    label = "hardtanh"
    definition = "hardtanh(z) = min(max(z, low), high)"
    formulas = ("1 if low < z < high else 0",)
    grads_match_inputs = True

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"low = {float(self.low):g}, high = {float(self.high):g}"

    def forward(self, z, low, high):
        self.z, self.low, self.high = z, z.dtype.type(low), z.dtype.type(high)
        return np.minimum(self.high, np.maximum(self.low, z))  # z itself on a tie (−0 stays)

    def backward(self, grad):
        blocked = (self.z <= self.low) | (self.z >= self.high)
        return (grad * np.logical_not(blocked),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        blocked = (self.z <= self.low) | (self.z >= self.high)
        mask = _constant(np.logical_not(blocked).astype(self.z.dtype))
        return (tie(grad * mask, self.parents[0], name="HardtanhBackwardBackward0"),)


class ReLU6(Hardtanh):
    """min(max(z, 0), 6): hardtanh with its bounds fixed, an op of its own so an explanation
    names what the user wrote (``ReLU6``, not ``Hardtanh (low = 0, high = 6)``).

    Local derivative: 1 if 0 < z < 6 else 0.
    """

    label = "relu6"
    definition = "relu6(z) = min(max(z, 0), 6)"
    formulas = ("1 if 0 < z < 6 else 0",)
    explained_constants = None  # the bounds are in the formula itself

    def forward(self, z):
        return super().forward(z, 0.0, 6.0)


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
    return ReLU6.apply(_float_operand(x, "relu6"))


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


def gelu(input, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x·Φ(x), Φ the standard normal CDF.

    Args:
        input: input tensor or array (floating point).
        approximate: ``"none"`` for the exact erf form, ``"tanh"`` for the tanh approximation.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.functional.gelu(cr.tensor([1.0], dtype="float64")).item(), 6)
        0.841345
    """
    input = _float_operand(input, "gelu")
    if approximate == "none":
        return GELU.apply(input)
    if approximate == "tanh":
        return GELUTanh.apply(input)
    raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus ln(1 + e^(βx))/β, a smooth ReLU; linear where βx > ``threshold``.

    Args:
        input: input tensor or array (floating point).
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
    return Softplus.apply(_float_operand(input, "softplus"), beta=beta, threshold=threshold)


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


def log_sigmoid(input) -> Tensor:
    """ln σ(x), computed without overflow or loss of tiny values.

    Args:
        input: input tensor or array (floating point).

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.log_sigmoid(cr.tensor([-1000.0, 1000.0])).tolist()
        [-1000.0, 0.0]
    """
    return LogSigmoid.apply(_float_operand(input, "log_sigmoid"))
