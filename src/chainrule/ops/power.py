"""Powers: ``x ** p`` for a number ``p`` (the cheaper ``p·x^(p−1)`` rule), ``a ** b`` for a
tensor exponent, and PyTorch's dtype rules for both (bool and integer bases)."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError
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
        if exponent == 2:  # the common case first: NumPy's x**2 is x*x, as PyTorch's
            return x**exponent
        return power(x, exponent)

    def backward(self, grad):
        p = self.exponent
        if p == 2:
            return (grad * (2 * self.x),)
        if p == 0:  # x⁰ is constant: 0 everywhere, also at 0 and NaN (PyTorch)
            return (np.zeros(np.broadcast_shapes(grad.shape, self.x.shape), grad.dtype),)
        return (grad * (p * power(self.x, p - 1)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        p = self.exponent
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
                local = b * a ** (b - 1) if b.dtype.kind == "f" else b * a ** (b - 1.0)
                grad_a = np.where(b == 0, 0, grad * local).astype(grad.dtype, copy=False)
            if self.needs_grad[1]:
                # a^b·ln(a), as PyTorch: 0 where a = 0 and b ≥ 0 (the limit), NaN for a < 0
                local = out * np.log(a.astype(out.dtype, copy=False))
                grad_b = np.where((a == 0) & (b >= 0), 0, grad * local)
                grad_b = grad_b.astype(grad.dtype, copy=False)
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives), as backward's."""
        a, b = self.parents
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_a = where(self.b == 0, 0, grad * (b * a ** (b - 1)))
            grad_b = where((self.a == 0) & (self.b >= 0), 0, grad * (a**b * log(a)))
        return grad_a, grad_b


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
    return _binary(Pow, base, exponent)
