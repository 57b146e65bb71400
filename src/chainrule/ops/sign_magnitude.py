"""Sign and magnitude, PyTorch's ``sgn``, ``signbit``, ``frac``, ``copysign`` and ``hypot``:
each value's sign (or sign bit), its fractional part, its magnitude with another's sign, and
the length √(a² + b²)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeNotImplementedError
from chainrule.ops._util import floating, operand, operands
from chainrule.tensor import Tensor


def _refuse_integers(x: Tensor, op: str) -> None:
    if x.array.dtype.kind in "biu":
        raise DTypeNotImplementedError(
            f"{op} is not implemented for {x.array.dtype} tensors, as in PyTorch; convert "
            f"first, e.g. x.float()"
        )


class Copysign(Function):
    """copysign(a, b): |a| with the sign of b (the sign bit: −0.0 and −NaN count)."""

    label = "copysign"
    formulas = ("copysign(a, b)/a (0 where a = 0)", "0")

    def forward(self, a, b):
        self.a = a
        self.out = np.copysign(a, b)
        return self.out

    def _ratio(self) -> np.ndarray:
        """PyTorch's rule: the ratio out/a (±1), taken as 0 at a = 0."""
        zero = self.a == 0
        ratio = np.divide(self.out, np.where(zero, 1, self.a))
        return np.where(zero, 0, ratio).astype(self.out.dtype, copy=False)

    def backward(self, grad):
        grad_a = grad * self._ratio() if self.needs_grad[0] else None
        grad_b = np.zeros_like(grad) if self.needs_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph, PyTorch's ratio out/a (0 at a = 0)."""
        from chainrule.ops.elementwise import where

        a, b = self.parents
        zero = self.a == 0
        with np.errstate(invalid="ignore"):
            ratio = where(zero, 0.0, copysign(a, b) / where(zero, 1.0, a))
        return grad * ratio, grad * 0


class Hypot(Function):
    """hypot(a, b) = √(a² + b²), without overflow in between."""

    label = "hypot"
    formulas = ("a/hypot(a, b)", "b/hypot(a, b)")

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.hypot(a, b)
        return self.out

    def backward(self, grad):
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN at the origin, as PyTorch
            grad_a = grad * self.a / self.out if self.needs_grad[0] else None
            grad_b = grad * self.b / self.out if self.needs_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        with np.errstate(divide="ignore", invalid="ignore"):
            out = hypot(a, b)
            return grad * a / out, grad * b / out


def sgn(input) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.sgn``: for real tensors the same as :func:`sign` (−1, 0 or 1; gradient 0).

    Example:
        >>> import chainrule as cr
        >>> cr.sgn(cr.tensor([-2.0, 0.0, 3.0])).tolist()
        [-1.0, 0.0, 1.0]
    """
    from chainrule.ops.math import sign

    return sign(input)


def signbit(input) -> Tensor:  # noqa: A002
    """Whether each value's sign bit is set: true for negatives, −0.0 and −NaN (a bool tensor,
    outside the graph).

    Example:
        >>> import chainrule as cr
        >>> cr.signbit(cr.tensor([-1.0, -0.0, 0.0])).tolist()
        [True, True, False]
    """
    x = operand(input)
    array = x.array.view(np.int8) if x.array.dtype == np.bool_ else x.array
    return Tensor._make(np.signbit(array), False)


def frac(input) -> Tensor:  # noqa: A002
    """The fractional part ``x − trunc(x)``, with x's sign (gradient 1); floats only.

    Example:
        >>> import chainrule as cr
        >>> cr.frac(cr.tensor([1.5, -1.25])).tolist()
        [0.5, -0.25]
    """
    from chainrule.ops.math import trunc

    x = operand(input)
    _refuse_integers(x, "frac")
    return x - trunc(x)


def copysign(input, other) -> Tensor:  # noqa: A002
    """``|input|`` with the sign of ``other``, elementwise with broadcasting; integers and
    bools give the default float dtype, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.copysign(cr.tensor([1.0, -2.0]), cr.tensor([-1.0, 3.0])).tolist()
        [-1.0, 2.0]
    """
    from chainrule.ops.elementwise import cast

    # PyTorch's promotion picks the dtype (integers: the default float), and each operand is
    # cast to it on its own: through a shared uint8, a −1 would wrap to 255 and lose its sign
    dtype = floating(operands(input, other)[0]).dtype
    a, b = operand(input), operand(other)
    a = a if a.dtype == dtype else cast(a, dtype)
    b = b if b.dtype == dtype else cast(b, dtype)
    return Copysign.apply(a, b)


def hypot(input, other) -> Tensor:  # noqa: A002
    """√(input² + other²), elementwise with broadcasting; floats only, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.hypot(cr.tensor([3.0]), cr.tensor([4.0])).tolist()
        [5.0]
    """
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):  # PyTorch takes no Python number here
            raise TypeError(
                f"hypot(): argument '{name}' must be Tensor, not {type(value).__name__}; "
                f"wrap it, e.g. cr.tensor({value!r:.20})"
            )
    a, b = operands(input, other)
    _refuse_integers(a, "hypot")
    return Hypot.apply(a, b)
