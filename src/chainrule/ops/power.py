"""Powers: ``x ** p`` for a number ``p`` (the cheaper ``p·x^(p−1)`` rule), ``a ** b`` for a
tensor exponent, and PyTorch's dtype rules for both (bool and integer bases)."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError
from chainrule.ops import half_scalar
from chainrule.ops._util import floating
from chainrule.ops.elementwise import _binary, log, where
from chainrule.tensor import Tensor


def power(x: np.ndarray, p) -> np.ndarray:
    """``x ** p`` for a number ``p`` as PyTorch's CPU kernel computes it for floats: ``x·x·x``
    for 3, ``1/(x·x)`` for −2, ``1/√x`` for −0.5 (so −0 gives −∞ and −∞ NaN, where the IEEE
    power gives +∞ and 0), ``1/x`` for −1, ``√x`` for 0.5; other powers by ``np.power``
    (PyTorch's differ from NumPy's in the last bit now and then)."""
    if x.dtype.kind == "f":
        if p == 3:
            return x * x * x
        if p == -2:
            return np.reciprocal(x * x)
        if p == -0.5:
            return np.reciprocal(np.sqrt(x))
        if p == 0.5:
            return np.sqrt(x)
        if p == -1:
            return np.reciprocal(x)
    return x**p


class PowScalar(Function):
    """x ** p for a constant exponent p."""

    label = "pow"
    formulas = ("p·x^(p−1)",)

    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        if x.dtype is half_scalar.HALF:  # PyTorch's float16 pow (half_scalar.py)
            return half_scalar.power(x, half_scalar.exponent(exponent))
        if exponent == 2:  # the common case first: NumPy's x**2 is x*x, as PyTorch's
            return x**exponent
        return power(x, exponent)

    def backward(self, grad):
        p = self.exponent
        if p == 2:
            return (grad * (2 * self.x),)
        if p == 0:  # x⁰ is constant: 0 everywhere, also at 0 and NaN (PyTorch)
            return (np.zeros(np.broadcast_shapes(grad.shape, self.x.shape), grad.dtype),)
        if self.x.dtype is half_scalar.HALF:  # PyTorch's: p in float32 times x^(p−1) in float16
            lower = half_scalar.power(self.x, half_scalar.exponent(p - 1))
            with np.errstate(over="ignore", invalid="ignore"):
                return (grad * (np.float32(p) * lower.astype(np.float32)).astype(np.float16),)
        return (grad * (p * power(self.x, p - 1)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        p = self.exponent
        if p == 0:  # as backward: zeros, never 0·x^(−1) (NaN at x = 0); PyTorch's zeros_like
            shape = np.broadcast_shapes(grad.shape, x.shape)
            return (Tensor._make(np.zeros(shape, grad.array.dtype), False),)
        return (grad * (p * x ** (p - 1)),)


class Pow(Function):
    """a ** b with a tensor exponent."""

    label = "pow"
    formulas = ("b·a^(b−1)", "a^b·ln(a)")

    def forward(self, a, b):
        _dtype.refuse_bool(a.dtype, "** (pow)")
        self.a, self.b = a, b
        if b.dtype.kind in "iu" and a.dtype.kind in "iu" and (b < 0).any():
            self.out = _dtype.integer_power(a, b)
            return self.out
        if a.dtype is half_scalar.HALF and b.dtype is half_scalar.HALF:
            self.out = half_scalar.power(a, b)  # C's pow, as PyTorch's (nan ** 0 is 1)
            return self.out
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.out = a**b
        return self.out

    def backward(self, grad):
        a, b, out = self.a, self.b, self.out
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_grad[0]:
                # PyTorch's rule: 0 where b = 0 (a⁰ is constant, also at a = 0, where
                # b·a^(b−1) would be 0·∞)
                if a.dtype is half_scalar.HALF and b.dtype is half_scalar.HALF:
                    local = b * half_scalar.power(a, b - 1)  # C's pow, as the forward
                else:
                    local = b * a ** (b - 1) if b.dtype.kind == "f" else b * a ** (b - 1.0)
                grad_a = np.where(b == 0, 0, grad * local).astype(grad.dtype, copy=False)
            if self.needs_grad[1]:
                # a^b·ln(a), as PyTorch: 0 where a = 0 and b ≥ 0 (the limit), NaN for a < 0
                local = out * np.log(a.astype(out.dtype, copy=False))
                grad_b = grad * np.where((a == 0) & (b >= 0), 0, local)  # grad·0: −0 too
                grad_b = grad_b.astype(grad.dtype, copy=False)
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives), as backward's."""
        a, b = self.parents
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_a = where(self.b == 0, 0, grad * (b * a ** (b - 1)))
            grad_b = where((self.a == 0) & (self.b >= 0), 0, grad * (a**b * log(a)))
        return grad_a, grad_b


class RPow(Pow):
    """``number ** x`` (``2 ** x``): PyTorch's ``PowBackward2``. With a float16 x and the plain
    ``number`` given, PyTorch's local derivative: out · ln(number), ln in float32 (not the
    float16 number's)."""

    def forward(self, a, b, number=None):
        if number is None:
            return super().forward(a, b)
        self.a, self.b, self.number = a, b, number
        self.out = half_scalar.power(a, b)
        return self.out

    def backward(self, grad):
        if getattr(self, "number", None) is None:
            return super().backward(grad)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ln = np.float32(np.log(np.float64(self.number)))
            local = (self.out.astype(np.float32) * ln).astype(np.float16)
            if self.number == 0:  # a⁰·ln 0 taken as 0 where b ≥ 0 (the limit), as PyTorch
                local = np.where(self.b >= 0, np.float16(0), local)
            return None, (grad * local if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives), as backward's."""
        if getattr(self, "number", None) is None:
            return super().backward_graph(grad)
        from chainrule.ops.elementwise import Mul
        from chainrule.ops.math import reflected_pow

        with np.errstate(divide="ignore", invalid="ignore"):
            ln = float(np.float32(np.log(np.float64(self.number))))
        local = half_scalar.half_by_number(Mul, reflected_pow(self.parents[1], self.number), ln)
        if self.number == 0:
            local = where(self.b >= 0, 0, local)
        return None, grad * local


def pow(base, exponent) -> Tensor:  # noqa: A001 - mirrors the ** operator
    """base ** exponent; a constant exponent uses the cheaper ``p·x^(p−1)`` rule.

    A number exponent adapts to the tensor, as in PyTorch: a NumPy float64 scalar leaves a
    float32 tensor float32, an integer or bool tensor to a float power gives the default float
    dtype (NumPy would give float64), a bool tensor to an integer power int64 (NumPy: int8).
    """
    if (
        isinstance(base, Tensor)
        and isinstance(exponent, (int, float, np.integer, np.floating))
        and not isinstance(exponent, (bool, np.bool_))
    ):
        if isinstance(exponent, np.generic):
            exponent = exponent.item()
        kind = base.array.dtype.kind
        if kind in "biu" and isinstance(exponent, float):
            base = floating(base)
        elif kind in "biu" and exponent < 0:
            raise DTypeError(
                f"Integers to negative integer powers are not allowed (as in PyTorch): "
                f"{base.array.dtype} ** {exponent}; use floats, e.g. x.float() ** {exponent}"
            )
        elif kind == "b":
            base = Tensor._make(base.array.astype(np.int64), False)
        elif kind in "iu":  # uint8 ** 300 raises, as PyTorch's (NumPy: OverflowError)
            _dtype.checked_int(exponent, base.array.dtype)
        return PowScalar.apply(base, exponent=exponent)
    if exponent.__class__ in (bool, np.bool_) and getattr(base, "dtype", None) == np.bool_:
        # PyTorch answers a bool tensor to a bool power in bool: mask ** True is the mask,
        # mask ** False all True (NumPy: int8)
        return Tensor._make(np.logical_or(base.array, not exponent), False)
    if not isinstance(base, Tensor) and half_scalar.is_half_and_number(exponent, base):
        from chainrule.ops.math import reflected_pow  # np.float64(2) ** x: as 2 ** x

        return reflected_pow(exponent, base)
    return _binary(Pow, base, exponent)
