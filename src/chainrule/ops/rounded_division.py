"""Division rounded to a whole quotient: ``//`` (floor_divide), ``%`` (remainder), fmod and
``div(rounding_mode=...)``.

Their quotients are steps. As in PyTorch, ``div(rounding_mode=...)`` has gradient 0 for both
inputs, while ``//`` (and ``%`` of a plain number by a tensor) records an op whose backward
raises PyTorch's "derivative for aten::floor_divide is not implemented". ``%`` and fmod of a
tensor have derivatives 1 with respect to the dividend and the negated quotient with respect
to the divisor.
"""

from __future__ import annotations

import numpy as np

from chainrule._dtype import check_integer_divisor, refuse_bool
from chainrule.autograd.function import Function
from chainrule.autograd.inplace import trunc_divide
from chainrule.errors import GraphError
from chainrule.ops import half_scalar
from chainrule.ops._util import check_broadcast, operands
from chainrule.ops.elementwise import _binary
from chainrule.ops.half_scalar import half_by_number, is_half_and_number
from chainrule.tensor import Tensor


def _no_derivative(name: str, instead: str):
    raise GraphError(
        f"derivative for aten::{name} is not implemented (as in PyTorch: the op records no "
        f"gradient formula); {instead}"
    )


def _floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """⌊a / b⌋; float16 by more than one divisor in PyTorch's float16 steps (half_scalar.py)."""
    if a.dtype is half_scalar.HALF and b.dtype is half_scalar.HALF and b.size > 1:
        return half_scalar.floor_divide(a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.floor_divide(a, b)


class FloorDivide(Function):
    """⌊a / b⌋, PyTorch's ``//`` and ``floor_divide``. PyTorch records it with no derivative
    (its grad_fn is ``NotImplemented``) and raises once backward reaches it; so does this."""

    saves_inputs = False
    label = "⌊a/b⌋"
    formulas = ("none (PyTorch raises)", "none (PyTorch raises)")

    def forward(self, a, b):
        refuse_bool(a.dtype, "// (floor_divide)")
        check_integer_divisor(a, b, "//")
        return _floor_divide(a, b)

    def backward(self, grad):
        _no_derivative(
            "floor_divide",
            'detach the quotient (x.detach() // y), or use torch.div(x, y, rounding_mode="floor"),'
            " whose gradient is 0",
        )

    def backward_graph(self, grad):
        return self.backward(grad)


class RoundedDivide(Function):
    """``div(a, b, rounding_mode="floor" | "trunc")``: the quotient rounded toward −∞ or 0.
    Flat almost everywhere: gradient 0 for both inputs, as PyTorch's ``DivBackward2``."""

    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)
    label = "rounded a/b"
    formulas = ("0", "0")

    def forward(self, a, b, mode):
        refuse_bool(a.dtype, f"div(rounding_mode={mode!r})")
        check_integer_divisor(a, b, "//" if mode == "floor" else "div")
        if mode == "trunc" and a.dtype.kind in "iu":
            return trunc_divide(a, b)  # exact integer division toward 0
        if mode == "floor":
            return _floor_divide(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if a.dtype is half_scalar.HALF and b.size == 1:  # PyTorch's float32 path, as //
                return np.trunc(a.astype(np.float32) / np.float32(b)).astype(np.float16)
            return np.trunc(a / b)

    def backward(self, grad):
        zero = np.zeros_like(grad)
        return zero, zero

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
        refuse_bool(a.dtype, "% (remainder)")
        check_integer_divisor(a, b, "%")
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(np.remainder(a, b))  # 0-d operands give a NumPy scalar
        if out.dtype.kind == "f":
            # a zero remainder takes the sign of a in PyTorch (-4 % 2 is -0.0), of b in NumPy
            zero = out == 0
            if zero.any():
                np.copysign(out, a, out=out, where=zero)
        return out

    def backward(self, grad):
        grad_b = None
        if self.needs_grad[1]:
            grad_b = -grad * _floor_divide(self.a, self.b)
        return (grad if self.needs_grad[0] else None), grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return grad, -grad * Tensor._make(_floor_divide(self.a, self.b), False)


class Fmod(Function):
    """a − b·trunc(a / b) (the sign of a, as C's and PyTorch's ``fmod``).
    Local derivatives: 1 and −trunc(a / b)."""

    label = "fmod"
    formulas = ("1", "−trunc(a/b)")

    def forward(self, a, b):
        refuse_bool(a.dtype, "fmod")
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


class RemainderByNumber(Remainder):
    """``x % number``: PyTorch's ``RemainderBackward0`` (``x % y`` is ``...Backward1``)."""


class RemainderOfNumber(Remainder):
    """``number % y``: PyTorch records it with no derivative and raises in backward."""

    def backward(self, grad):
        _no_derivative("remainder", "make the number a tensor first (torch.tensor(3.0) % y)")

    def backward_graph(self, grad):
        return self.backward(grad)


class FmodByNumber(Fmod):
    """``fmod(x, number)``: PyTorch's ``FmodBackward0`` (of two tensors ``...Backward1``)."""


def floor_divide(a, b) -> Tensor:
    """⌊a / b⌋ elementwise, as PyTorch's ``//`` and ``torch.floor_divide`` (rounds toward −∞;
    integers stay integers; an integer divisor of 0 raises ``IntegerDivisionError``, bool tensors
    ``DTypeNotImplementedError``, as PyTorch).

    Example:
        >>> import chainrule as cr
        >>> (cr.tensor([7, -7]) // 2).tolist()
        [3, -4]
    """
    if isinstance(a, Tensor) and is_half_and_number(a, b):  # float16 // number: in float32
        return half_by_number(FloorDivide, a, b)  # as PyTorch's (number // float16: float16)
    if half_scalar.is_half_by_scalar_tensor(a, b):  # by a 0-d float32 tensor: as by a number
        return half_by_number(FloorDivide, a, b)
    return _binary(FloorDivide, a, b)


def remainder(a, b) -> Tensor:
    """a − b·⌊a / b⌋ elementwise, with the sign of ``b``, as PyTorch's ``%`` and
    ``torch.remainder`` (Python's ``%``, not C's ``fmod``).

    Example:
        >>> import chainrule as cr
        >>> (cr.tensor([7, -7]) % 3).tolist()
        [1, 2]
    """
    if not isinstance(b, Tensor):
        return _binary(RemainderByNumber, a, b)
    return _binary(Remainder if isinstance(a, Tensor) else RemainderOfNumber, a, b)


def fmod(a, b) -> Tensor:
    """a − b·trunc(a / b) elementwise, with the sign of ``a``, as ``torch.fmod`` (C's ``fmod``;
    ``%`` is :func:`remainder`).

    Example:
        >>> import chainrule as cr
        >>> cr.fmod(cr.tensor([7, -7]), 3).tolist()
        [1, -1]
    """
    return _binary(Fmod if isinstance(b, Tensor) else FmodByNumber, a, b)


def divide(input, other, *, rounding_mode=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.div`` / ``torch.divide``: ``input / other``, or rounded: ``rounding_mode="floor"``
    gives :func:`floor_divide`'s quotient (Python's ``//``), ``"trunc"`` rounds toward 0.
    Integers divided with a rounding mode stay integers; the rounded quotients have gradient 0,
    as in PyTorch (where ``//`` itself has no derivative).

    Example:
        >>> import chainrule as cr
        >>> cr.div(cr.tensor([7, -7]), 2, rounding_mode="trunc").tolist()
        [3, -3]
    """
    from chainrule.ops.elementwise import div

    if rounding_mode is None:
        return div(input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    if isinstance(input, Tensor) and (
        is_half_and_number(input, other) or half_scalar.is_half_by_scalar_tensor(input, other)
    ):  # float16 by a number: in float32, as x // number
        return half_by_number(RoundedDivide, input, other, mode=rounding_mode)
    a, b = operands(input, other)
    if a.array.shape != b.array.shape:
        check_broadcast("div", a.array, b.array)
    return RoundedDivide.apply(a, b, mode=rounding_mode)
