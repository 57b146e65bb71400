"""Division rounded to a whole quotient: ``//`` (floor_divide), ``%`` (remainder) and fmod.

Their quotients are steps, so the derivative with respect to the divisor is the negated
quotient and the one with respect to the dividend is 1 (for ``//`` both are 0).
"""

from __future__ import annotations

import numpy as np

from chainrule._dtype import check_integer_divisor
from chainrule.autograd.function import Function
from chainrule.autograd.inplace import trunc_divide
from chainrule.ops._util import operands
from chainrule.ops.elementwise import _binary
from chainrule.tensor import Tensor


class FloorDivide(Function):
    """⌊a / b⌋, PyTorch's ``//``.  Flat almost everywhere: gradient 0 for both inputs (PyTorch
    has none and raises in backward; the true derivative, where it exists, is 0)."""

    saves_inputs = False
    label = "⌊a/b⌋"
    formulas = ("0", "0")

    def forward(self, a, b):
        check_integer_divisor(a, b, "//")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    def backward(self, grad):
        return (np.zeros_like(grad), np.zeros_like(grad))

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        zero = Tensor._make(np.zeros_like(grad.array), False)
        return zero, zero


class Remainder(Function):
    """a − b·⌊a / b⌋ (the sign of b, as Python and PyTorch's ``%``).
    Local derivatives: 1 and −⌊a / b⌋."""

    label = "mod"
    formulas = ("1", "−⌊a/b⌋")

    def forward(self, a, b):
        check_integer_divisor(a, b, "%")
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.remainder(a, b)
        if out.dtype.kind == "f":
            # a zero remainder takes the sign of a in PyTorch (-4 % 2 is -0.0), of b in NumPy
            zero = out == 0
            if zero.any():
                np.copysign(out, a, out=out, where=zero)
        return out

    def backward(self, grad):
        grad_b = None
        if self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = -grad * np.floor_divide(self.a, self.b)
        return (grad if self.needs_grad[0] else None), grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = np.floor_divide(self.a, self.b)
        return grad, -grad * Tensor._make(quotient, False)


class Fmod(Function):
    """a − b·trunc(a / b) (the sign of a, as C's and PyTorch's ``fmod``).
    Local derivatives: 1 and −trunc(a / b)."""

    label = "fmod"
    formulas = ("1", "−trunc(a/b)")

    def forward(self, a, b):
        check_integer_divisor(a, b, "fmod")
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(a, b)

    def backward(self, grad):
        grad_b = None
        if self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = -grad * np.trunc(self.a / self.b)
        return (grad if self.needs_grad[0] else None), grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = np.trunc(self.a / self.b)
        return grad, -grad * Tensor._make(quotient, False)


def floor_divide(a, b) -> Tensor:
    """⌊a / b⌋ elementwise, as PyTorch's ``//`` and ``torch.floor_divide`` (rounds toward −∞;
    integers stay integers; an integer divisor of 0 raises ``ZeroDivisionError``).

    Example:
        >>> import chainrule as cr
        >>> (cr.tensor([7, -7]) // 2).tolist()
        [3, -4]
    """
    return _binary(FloorDivide, a, b)


def remainder(a, b) -> Tensor:
    """a − b·⌊a / b⌋ elementwise, with the sign of ``b``, as PyTorch's ``%`` and
    ``torch.remainder`` (Python's ``%``, not C's ``fmod``).

    Example:
        >>> import chainrule as cr
        >>> (cr.tensor([7, -7]) % 3).tolist()
        [1, 2]
    """
    return _binary(Remainder, a, b)


def fmod(a, b) -> Tensor:
    """a − b·trunc(a / b) elementwise, with the sign of ``a``, as ``torch.fmod`` (C's ``fmod``;
    ``%`` is :func:`remainder`).

    Example:
        >>> import chainrule as cr
        >>> cr.fmod(cr.tensor([7, -7]), 3).tolist()
        [1, -1]
    """
    return _binary(Fmod, a, b)


def divide(input, other, *, rounding_mode=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.div`` / ``torch.divide``: ``input / other``, or rounded: ``rounding_mode="floor"``
    is :func:`floor_divide` (Python's ``//``), ``"trunc"`` rounds toward 0. Integers divided with
    a rounding mode stay integers; the rounded quotients have gradient 0, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.div(cr.tensor([7, -7]), 2, rounding_mode="trunc").tolist()
        [3, -3]
    """
    from chainrule.ops import math
    from chainrule.ops.elementwise import div

    if rounding_mode is None:
        return div(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    a, b = operands(input, other)
    if a.array.dtype.kind in "biu":  # exact integer division toward 0
        check_integer_divisor(a.array, b.array, "div")
        return Tensor._make(trunc_divide(a.array, b.array), False)
    return math.trunc(div(a, b))
