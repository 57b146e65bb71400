"""Elementwise math beyond arithmetic: trigonometric, hyperbolic, rounding and special functions.

Each op is one class with its forward and local derivative side by side, as in
``ops/elementwise.py``. Rounding ops (floor, ceil, round, trunc, sign) are flat almost
everywhere, so their gradient is zero, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import DTypeNotImplementedError
from chainrule.ops._util import floating, operand, operands, sgn
from chainrule.ops.elementwise import Div, Sub, _binary
from chainrule.ops.half_scalar import is_half_and_number, number_over_half
from chainrule.ops.lerp import lerp  # noqa: F401 - here too, beside the other elementwise math
from chainrule.ops.power import Pow, RPow  # noqa: F401 - RPow: reflected_pow's
from chainrule.tensor import Tensor


class Sin(Function):
    label = "sin"
    formulas = ("cos(x)",)

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        return (grad * np.cos(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad * cos(x),)


class Cos(Function):
    label = "cos"
    formulas = ("−sin(x)",)

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad):
        return (-grad * np.sin(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (-grad * sin(x),)


class Tan(Function):
    label = "tan"
    formulas = ("1 + tan²(x)",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = np.tan(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 + self.out * self.out),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        out = tan(self.parents[0])
        return (grad * (1 + out * out),)


class Asin(Function):
    label = "asin"
    formulas = ("1/√(1 − x²)",)

    def forward(self, x):
        self.x = x
        return np.arcsin(x)

    def backward(self, grad):
        return (grad / np.sqrt(1 - self.x * self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad / (1 - x * x).sqrt(),)


class Acos(Function):
    label = "acos"
    formulas = ("−1/√(1 − x²)",)

    def forward(self, x):
        self.x = x
        return np.arccos(x)

    def backward(self, grad):
        return (-grad / np.sqrt(1 - self.x * self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (-grad / (1 - x * x).sqrt(),)


class Atan(Function):
    label = "atan"
    formulas = ("1/(1 + x²)",)

    def forward(self, x):
        self.x = x
        return np.arctan(x)

    def backward(self, grad):
        return (grad / (1 + self.x * self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad / (1 + x * x),)


class Atan2(Function):
    """atan2(a, b): the angle of the point (b, a)."""

    label = "atan2"
    formulas = ("b/(a² + b²)", "−a/(a² + b²)")

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.arctan2(a, b)

    def backward(self, grad):
        # PyTorch's rule: 1/(a² + b²) taken as 0 where it is infinite, so the origin has
        # gradient 0, not NaN
        with np.errstate(divide="ignore"):
            recip = np.reciprocal(self.a * self.a + self.b * self.b)
        recip = np.where(np.isinf(recip), 0, recip)
        grad_a = grad * self.b * recip if self.needs_grad[0] else None
        grad_b = grad * -self.a * recip if self.needs_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where

        a, b = self.parents
        with np.errstate(divide="ignore"):
            recip = reciprocal(a * a + b * b)
        recip = where(np.isinf(recip.array), 0.0, recip)
        return grad * b * recip, grad * -a * recip


class Sinh(Function):
    label = "sinh"
    formulas = ("cosh(x)",)

    def forward(self, x):
        self.x = x
        return np.sinh(x)

    def backward(self, grad):
        return (grad * np.cosh(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad * cosh(x),)


class Cosh(Function):
    label = "cosh"
    formulas = ("sinh(x)",)

    def forward(self, x):
        self.x = x
        return np.cosh(x)

    def backward(self, grad):
        return (grad * np.sinh(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad * sinh(x),)


class Rsqrt(Function):
    label = "rsqrt"
    formulas = ("−½·x^(−3/2)",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = 1 / np.sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad * -0.5 * self.out**3,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        out = rsqrt(self.parents[0])
        return (grad * -0.5 * out**3,)


class Reciprocal(Function):
    label = "1/x"
    formulas = ("−1/x²",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = 1 / x
        return self.out

    def backward(self, grad):
        return (-grad * (self.out * self.out),)  # PyTorch's order: the square first

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        out = reciprocal(self.parents[0])
        return (-grad * (out * out),)


class Log1p(Function):
    """ln(1 + x), exact for tiny x where log(1 + x) would round 1 + x first."""

    label = "ln(1+x)"
    formulas = ("1/(1 + x)",)

    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, grad):
        return (grad / (1 + self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad / (1 + x),)


class Expm1(Function):
    """e^x − 1, exact for tiny x where exp(x) − 1 would cancel."""

    label = "e^x−1"
    formulas = ("e^x",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = np.expm1(x)
        return self.out

    def backward(self, grad):
        return (grad * (self.out + 1),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad * (expm1(self.parents[0]) + 1),)


class NanToNum(Function):
    """NaN, +∞ and −∞ replaced by finite numbers.  Local derivative: 1 where x is finite, 0 at
    the replaced entries (PyTorch's)."""

    label = "nan_to_num"
    formulas = ("1 where x is finite, else 0",)
    grads_match_inputs = True

    def forward(self, x, nan, posinf, neginf):
        self.x = x
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, grad):
        return (grad * np.isfinite(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad * Tensor._make(np.isfinite(self.x), False),)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    label = "erf"
    formulas = ("2/√π·e^(−x²)",)

    def forward(self, x):
        self.x = x
        return np.asarray(_erf(x), dtype=x.dtype)

    def backward(self, grad):
        return (grad * _TWO_OVER_SQRT_PI * np.exp(-self.x * self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad * _TWO_OVER_SQRT_PI * (-x * x).exp(),)


class _Flat(Function):
    """A piecewise-constant function: zero gradient everywhere it is defined."""

    formulas = ("0",)
    ufunc = None

    def forward(self, x):
        return type(self).ufunc(x)

    def backward(self, grad):
        return (np.zeros_like(grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (Tensor._make(np.zeros_like(grad.array), False),)


class Floor(_Flat):
    label = "floor"
    ufunc = np.floor


class Ceil(_Flat):
    label = "ceil"
    ufunc = np.ceil


class Round(_Flat):
    """Round half to even, as PyTorch and NumPy do."""

    label = "round"
    ufunc = np.round


class Trunc(_Flat):
    label = "trunc"
    ufunc = np.trunc


class Sign(_Flat):
    """−1, 0 or 1; 0 at NaN, as PyTorch (NumPy's sign gives NaN there)."""

    label = "sign"
    ufunc = staticmethod(sgn)


# ---- functions ------------------------------------------------------------------------------
def _unary(op, x, float_only: bool = True) -> Tensor:
    x = operand(x)
    if float_only and x.dtype.kind != "f":
        x = floating(x)  # PyTorch: int -> the default float dtype
    if op in _ROUNDING and x.dtype.kind != "f":
        if x.dtype.kind == "b" and op is not Sign:  # PyTorch has no bool kernel
            _dtype.refuse_bool(x.array.dtype, op.label)
        return Tensor._make(op.ufunc(x.array), False)
    return op.apply(x)


_ROUNDING = (Floor, Ceil, Round, Trunc, Sign)


def sin(x) -> Tensor:
    """sin(x), elementwise; integer tensors give float32, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
        >>> cr.sin(x).sum().backward()
        >>> [f"{g:.4f}" for g in x.grad.tolist()]  # cos(x)
        ['1.0000', '0.5403']
    """
    return _unary(Sin, x)


def cos(x) -> Tensor:
    """cos(x), elementwise."""
    return _unary(Cos, x)


def tan(x) -> Tensor:
    """tan(x), elementwise."""
    return _unary(Tan, x)


def asin(x) -> Tensor:
    """arcsin(x), elementwise (NaN outside [−1, 1], as in PyTorch)."""
    return _unary(Asin, x)


def acos(x) -> Tensor:
    """arccos(x), elementwise."""
    return _unary(Acos, x)


def atan(x) -> Tensor:
    """arctan(x), elementwise."""
    return _unary(Atan, x)


def atan2(a, b) -> Tensor:
    """The angle of the point (b, a), in (−π, π], elementwise with broadcasting.

    Example:
        >>> import chainrule as cr
        >>> f"{cr.atan2(cr.tensor(1.0), cr.tensor(-1.0)):.4f}"
        '2.3562'
    """
    integers = [isinstance(t, Tensor) and t.array.dtype.kind in "biu" for t in (a, b)]
    if all(integers):  # each straight to float, as PyTorch (via uint8, an int32 −5 would be 251)
        return Atan2.apply(floating(a), floating(b))
    a, b = operands(a, b)
    return Atan2.apply(floating(a), floating(b))


def sinh(x) -> Tensor:
    """sinh(x), elementwise."""
    return _unary(Sinh, x)


def cosh(x) -> Tensor:
    """cosh(x), elementwise."""
    return _unary(Cosh, x)


def rsqrt(x) -> Tensor:
    """1/√x, elementwise."""
    return _unary(Rsqrt, x)


def reciprocal(x) -> Tensor:
    """1/x, elementwise."""
    return _unary(Reciprocal, x)


def log1p(x) -> Tensor:
    """ln(1 + x), elementwise, without the rounding of 1 + x for tiny x (PyTorch's log1p).

    Example:
        >>> import chainrule as cr
        >>> cr.log1p(cr.tensor([1e-10], dtype=cr.float64)).item()  # log(1 + x) gives 1.00000008e-10
        9.999999999500001e-11
    """
    return _unary(Log1p, x)


def expm1(x) -> Tensor:
    """e^x − 1, elementwise, without the cancellation of exp(x) − 1 for tiny x."""
    return _unary(Expm1, x)


def nan_to_num(x, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """NaN → ``nan``, +∞ → ``posinf``, −∞ → ``neginf`` (by default the dtype's largest and
    smallest finite numbers), as ``torch.nan_to_num``; the gradient is 0 at replaced entries.

    Example:
        >>> import chainrule as cr
        >>> cr.nan_to_num(cr.tensor([1.0, float("nan"), float("inf")]), posinf=9.0).tolist()
        [1.0, 0.0, 9.0]
    """
    x = operand(x)
    if x.dtype.kind != "f":
        # integers and bools hold no NaN or infinity: a copy of the same dtype, as in PyTorch
        return Tensor._make(x.array.copy(), False)
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


def erf(x) -> Tensor:
    """The error function, elementwise."""
    return _unary(Erf, x)


def floor(x) -> Tensor:
    """The largest integer ≤ x (gradient 0); integer tensors are returned as they are."""
    return _unary(Floor, x, float_only=False)


def ceil(x) -> Tensor:
    """The smallest integer ≥ x (gradient 0)."""
    return _unary(Ceil, x, float_only=False)


def round(x, decimals: int | None = None) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even (gradient 0); ``decimals`` rounds to that many decimal places.

    Example:
        >>> import chainrule as cr
        >>> cr.round(cr.tensor([0.5, 1.5, 2.675])).tolist()
        [0.0, 2.0, 3.0]
    """
    x = operand(x)
    if decimals is not None and x.dtype.kind != "f":
        raise DTypeNotImplementedError(
            f"round(decimals=...) is not implemented for {x.dtype} tensors, as in PyTorch; "
            f"round() leaves integers as they are"
        )
    if decimals and x.dtype == np.float16:  # PyTorch scales in float32: 1234.5 · 100 fits
        return round(x.to(dtype=np.float32), decimals).to(dtype=np.float16)
    if decimals:
        scale = 10.0**decimals
        return _binary(RoundDecimals, _unary(Round, x * scale), scale)
    return _unary(Round, x, float_only=False)


def trunc(x) -> Tensor:
    """Round toward zero (gradient 0)."""
    return _unary(Trunc, x, float_only=False)


def sign(x) -> Tensor:
    """−1, 0 or 1 by the sign of x (gradient 0)."""
    return _unary(Sign, x, float_only=False)


class RoundDecimals(Div):
    """The last step of ``round(x, decimals)``, the division back: PyTorch's one node for the
    whole, ``RoundBackward1`` (gradient 0 all the same: the rounding before it is flat)."""


class RSub(Sub):
    """``number − x`` (``1 - x``): PyTorch's ``RsubBackward1``."""


class RDiv(Div):
    """``number / x`` (``2 / x``), as PyTorch computes it: ``x.reciprocal() * number`` (its last
    node a ``MulBackward0``), in one op; rounded as PyTorch's, bit for bit. Local derivatives:
    1/x, and −number/x² as −(grad·number)·(1/x)²."""

    def forward(self, a, b):
        self.a, self.r = a, np.reciprocal(b)
        self.out = self.r * a
        return self.out

    def backward(self, grad):
        grad_a = grad * self.r if self.needs_grad[0] else None
        grad_b = -(grad * self.a) * (self.r * self.r) if self.needs_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        r = reciprocal(b)
        return grad * r, -(grad * a) * (r * r)


def reflected_sub(x: Tensor, number) -> Tensor:
    """``number - x`` where ``number`` is not a tensor (``Tensor.__rsub__``)."""
    _dtype.refuse_bool_sub(number, x)
    return _binary(RSub, number, x)


def reflected_div(x: Tensor, number) -> Tensor:
    """``number / x`` for a non-tensor number (``__rtruediv__``); integers divide as floats."""
    if is_half_and_number(x, number):  # PyTorch's reciprocal times the number (half_scalar.py)
        return number_over_half(x, number)
    return _binary(RDiv, number, x if x.array.dtype.kind in "fc" else floating(x))


def reflected_pow(x: Tensor, number) -> Tensor:
    """``number ** x`` where ``number`` is not a tensor (``Tensor.__rpow__``)."""
    if is_half_and_number(x, number):  # PyTorch's float16 pow and gradient (half_scalar.py)
        return RPow.apply(operand(number, x), x, number=number)
    return _binary(RPow, number, x)


class Scale(Function):
    """x · c for a plain number c (``add(x, y, alpha=c)``'s ``alpha · y``): keeps the number
    only, so a second backward() may pass, as through PyTorch's ``AddBackward0``."""

    saves_inputs = saves_tensors = False  # the factor only (Function.release)
    label = "×"
    formulas = ("c",)

    def forward(self, x, factor):
        self.factor = factor
        return x * factor

    def backward(self, grad):
        return (grad * self.factor,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad * self.factor,)


def scaled(x, alpha):
    """``alpha · x`` for ``add``/``sub``'s ``alpha=``: through :class:`Scale` for a float tensor
    and a plain number, else as ``x * alpha``."""
    # Python's own int and float only: NumPy scalars and bools take the dtype rules of ``*``
    if type(alpha) in (int, float) and isinstance(x, Tensor) and x.array.dtype.kind == "f":
        return Scale.apply(x, factor=alpha)
    return x * alpha
