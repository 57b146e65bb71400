"""Elementwise arithmetic: forward and local derivative of each op side by side.

Every ``backward`` returns gradients of the broadcast shape; the engine sums them back to each
input's shape, so no op here repeats that.
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops._util import check_broadcast, floating, operand, operands, sgn
from chainrule.ops.half_scalar import HALF as _HALF
from chainrule.ops.half_scalar import (
    half_by_number,
    is_half_and_number,
    is_half_by_scalar_tensor,
    number_over_half,
)
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


def _constant(array: np.ndarray) -> Tensor:
    """An array as a tensor outside the graph (a local derivative that is piecewise constant)."""
    return Tensor._make(array, False)


def _masked_graph(op, grad):
    """``backward_graph`` of an op whose gradients are ``grad`` times a mask that is constant
    almost everywhere (clip, clamp, maximum, minimum, where): ``backward`` of ones is the mask."""
    masks = op.backward(np.ones(grad.shape, grad.dtype))
    return tuple(None if m is None else grad * _constant(m) for m in masks)


class Add(Function):
    """a + b"""

    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)

    label = "+"
    formulas = ("1", "1")

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return grad, grad


class Sub(Function):
    """a − b"""

    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)

    label = "−"
    formulas = ("1", "−1")

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return grad, -grad


class Mul(Function):
    """a · b"""

    label = "×"
    formulas = ("b", "a")
    inputs_read_for = {"a": (0, 1), "b": (1, 0)}  # name: (input, whose gradient reads it)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        grad_a = grad * self.b if self.needs_grad[0] else None
        grad_b = grad * self.a if self.needs_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        return grad * b, grad * a


class Div(Function):
    """a / b"""

    label = "÷"
    formulas = ("1/b", "−a/b²")
    inputs_read_for = {"a": (0, 1)}  # as PyTorch's: a is saved for b's gradient only

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        grad_a = grad / self.b
        grad_b = None
        if self.needs_grad[1]:  # −g·a/b² = −(g/b)·(a/b); in float16 as PyTorch's −g·((a/b)/b)
            grad_b = -grad_a * self.out if grad.dtype is not _HALF else -grad * (self.out / self.b)
        return (grad_a if self.needs_grad[0] else None), grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        if grad.array.dtype is _HALF:  # as backward: PyTorch's −g·((a/b)/b) in float16 steps
            return grad / b, -grad * ((a / b) / b)
        return grad / b, -grad * a / (b * b)


class Neg(Function):
    """−x"""

    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)

    label = "neg"
    formulas = ("−1",)

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (-grad,)


class Exp(Function):
    label = "exp"
    formulas = ("exp(x)",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad * exp(x),)


class Log(Function):
    label = "ln"
    formulas = ("1/x",)

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.x,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad / x,)


class Sqrt(Function):
    label = "√"
    formulas = ("1/(2·√x)",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (grad / (2 * sqrt(x)),)


class Abs(Function):
    label = "|·|"
    formulas = ("sign(x)",)

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, grad):
        return (grad * sgn(self.x),)  # 0 at 0 and at NaN, as PyTorch

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        return (tie(grad * _constant(sgn(x.array)), x, name="MulBackward0"),)


class Clip(Function):
    """min(max(x, low), high); the gradient passes where low ≤ x ≤ high."""

    label = "clip"
    formulas = ("1 if low ≤ x ≤ high else 0",)
    backward_graph = _masked_graph

    def forward(self, x, low, high):
        self.x, self.low, self.high = x, low, high
        # x second: NumPy returns it on a tie, so clamp(−0, min=0) is −0 as in PyTorch
        out = x if low is None else np.maximum(low, x)
        return out if high is None else np.minimum(high, out)

    def backward(self, grad):
        inside = np.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            inside &= self.x >= self.low
        if self.high is not None:
            inside &= self.x <= self.high
        return (grad * inside,)


class ClampBounds(Function):
    """min(max(x, low), high) with bounds that are tensors (either may be absent). Local
    derivatives, as PyTorch's: 1 for x where low ≤ x ≤ high; 1 for low where x < low (and
    low < high); 1 for high where x > high (or high < low, where high is the result)."""

    label = "clamp"
    formulas = ("1 if low ≤ x ≤ high", "1 if x < low < high", "1 if x > high or high < low")
    backward_graph = _masked_graph

    def forward(self, x, *bounds, has_low, has_high):
        self.x = x
        self.low = bounds[0] if has_low else None
        self.high = bounds[-1] if has_high else None
        out = x if self.low is None else np.maximum(self.low, x)  # x on a tie: −0 stays −0
        return out if self.high is None else np.minimum(self.high, out)

    def backward(self, grad):
        x, low, high = self.x, self.low, self.high
        zero = np.zeros((), grad.dtype)
        inside = np.ones(x.shape, dtype=bool)
        grads = []
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        grads.append(np.where(inside, grad, zero))
        if low is not None:
            below = x < low if high is None else (x < low) & (low < high)
            grads.append(np.where(below, grad, zero))
        if high is not None:
            above = x > high if low is None else (x > high) | (high < low)
            grads.append(np.where(above, grad, zero))
        return tuple(grads)


class Maximum(Function):
    """max(a, b) elementwise; a tie splits the gradient evenly, as in PyTorch."""

    label = "max"
    formulas = ("1 if a > b, ½ if a = b, else 0", "1 if b > a, ½ if a = b, else 0")
    backward_graph = _masked_graph

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(b, a)  # a on a tie (NumPy returns the second): PyTorch's −0/+0

    def backward(self, grad):
        return _extreme_grads(self, grad, np.less, np.greater)


class Minimum(Function):
    """min(a, b) elementwise; a tie splits the gradient evenly, as in PyTorch."""

    label = "min"
    formulas = ("1 if a < b, ½ if a = b, else 0", "1 if b < a, ½ if a = b, else 0")
    backward_graph = _masked_graph

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.minimum(b, a)  # a on a tie, as maximum

    def backward(self, grad):
        return _extreme_grads(self, grad, np.greater, np.less)


def _extreme_grads(op, grad, loses_a, loses_b):
    """PyTorch's rule for maximum and minimum: half the gradient to each side of a tie, none to
    the side that lost, and the whole gradient to both sides where either is NaN."""
    a, b = op.a, op.b
    tie = a == b
    g = grad * (1 - 0.5 * tie).astype(grad.dtype, copy=False) if tie.any() else grad
    grad_a = g * np.logical_not(loses_a(a, b)) if op.needs_grad[0] else None
    grad_b = g * np.logical_not(loses_b(a, b)) if op.needs_grad[1] else None
    return grad_a, grad_b


class Where(Function):
    """cond ? a : b. The gradient of the branch not taken is zero (it is masked, not skipped:
    a NaN in the masked branch's own derivative still appears there; see docs/reliability.md)."""

    label = "where"
    formulas = ("1 where cond else 0", "0 where cond else 1")
    inputs_read_for = {"a": (0, None), "b": (1, None)}  # only the condition is read
    backward_graph = _masked_graph

    def forward(self, a, b, cond):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, grad):
        zero = np.zeros((), dtype=grad.dtype)
        grad_a = np.where(self.cond, grad, zero) if self.needs_grad[0] else None
        grad_b = np.where(self.cond, zero, grad) if self.needs_grad[1] else None
        return grad_a, grad_b


class Cast(Function):
    """x converted to another dtype; the gradient is converted back."""

    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)

    label = "cast"
    formulas = ("1",)

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.in_dtype),)

    def backward_graph(self, grad):
        return (cast(grad, self.in_dtype),)


class Clone(Function):
    saves_inputs = saves_tensors = False  # shapes only: a 2nd backward() may pass (release)
    label = "clone"
    formulas = ("1",)

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (grad,)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (for second derivatives)."""
        return (grad,)


# ---- functions ------------------------------------------------------------------------------
# _binary_fast_path: two plain tensors of one dtype object (the common case) go straight to the
# op: nothing to convert, and NumPy broadcasts in forward. Shapes that do not broadcast raise
# NumPy's ValueError there (before anything is recorded); the call then takes _binary, whose
# ShapeError names the shapes. Comparing shapes and dtypes up front cost 0.11 µs per op (5 % of
# a small op's forward and backward). A dtype equal but not the same object takes _binary too.
def _binary(op, a, b) -> Tensor:
    a, b = operands(a, b)
    if a.array.shape != b.array.shape:
        check_broadcast(op.label, a.array, b.array)
    return op.apply(a, b)


def add(a, b) -> Tensor:
    """a + b with NumPy broadcasting."""
    if a.__class__ is b.__class__ is Tensor and a.array.dtype is b.array.dtype:
        try:  # the common case: see _binary_fast_path
            return Add.apply(a, b)
        except ValueError:
            pass
    return _binary(Add, a, b)


def sub(a, b) -> Tensor:
    """a − b with NumPy broadcasting (not of bools, as in PyTorch)."""
    if a.__class__ is b.__class__ is Tensor and a.array.dtype is b.array.dtype:
        try:  # the common case: see _binary_fast_path
            return Sub.apply(a, b)
        except (ValueError, TypeError):  # TypeError: NumPy's bool − bool
            pass
    return _binary(Sub, *_dtype.refuse_bool_sub(a, b))


def mul(a, b) -> Tensor:
    """a · b with NumPy broadcasting."""
    if a.__class__ is b.__class__ is Tensor and a.array.dtype is b.array.dtype:
        try:  # the common case: see _binary_fast_path
            return Mul.apply(a, b)
        except ValueError:
            pass
    if is_half_and_number(a, b) or (b.__class__ is Tensor and is_half_by_scalar_tensor(a, b)):
        return half_by_number(Mul, a, b)  # PyTorch's float32 "opmath" (half_scalar.py)
    return _binary(Mul, a, b)


def div(a, b) -> Tensor:
    """a / b with NumPy broadcasting; integers divide to the default float dtype (PyTorch)."""
    if a.__class__ is b.__class__ is Tensor and a.array.dtype is b.array.dtype:
        if a.array.dtype.kind == "f":
            try:  # the common case: see _binary_fast_path
                return Div.apply(a, b)
            except ValueError:
                pass
    if is_half_and_number(a, b):  # PyTorch's float32 "opmath" (half_scalar.py)
        return half_by_number(Div, a, b) if isinstance(a, Tensor) else number_over_half(b, a)
    if b.__class__ is Tensor and is_half_by_scalar_tensor(a, b):
        return half_by_number(Div, a, b)
    if not any(isinstance(x, Tensor) and x.array.dtype.kind in "fc" for x in (a, b)):
        # integer tensors divide as the default float before a scalar takes their dtype:
        # uint8 / np.int32(−2) would wrap the −2 around to 254
        a, b = (floating(x) if isinstance(x, Tensor) else x for x in (a, b))
    a, b = operands(a, b)
    if a.array.dtype.kind in "biu" and b.array.dtype.kind in "biu":
        dtype = _dtype.get_default_dtype()
        a = Tensor._make(a.array.astype(dtype), False)
        b = Tensor._make(b.array.astype(dtype), False)
    return _binary(Div, a, b)


def neg(x) -> Tensor:
    x = operand(x)
    if x.array.dtype == np.bool_:
        raise DTypeError(  # NumPy's TypeError only; PyTorch's is a RuntimeError
            "Negation, the `-` operator, on a bool tensor is not supported (as in PyTorch); "
            "use `~` or logical_not() to invert a mask"
        )
    return Neg.apply(x)


def exp(x) -> Tensor:
    return Exp.apply(floating(x))


def log(x) -> Tensor:
    return Log.apply(floating(x))


def sqrt(x) -> Tensor:
    return Sqrt.apply(floating(x))


def abs(x) -> Tensor:  # noqa: A001
    x = operand(x)
    _dtype.refuse_bool(x.array.dtype, "abs")  # PyTorch has no bool kernel
    return Abs.apply(x)


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ArgumentError("clamp() needs at least one of min and max (as in PyTorch)")
    return clamp_by(x, min, max, Clip, ClampBounds)


def clamp_by(x, min, max, number_op, tensor_op) -> Tensor:  # noqa: A002
    """clip() through the given op classes (``clamp_min``/``clamp_max`` name their own)."""
    # number bounds adapt to the tensor, as in PyTorch: a NumPy float64 bound leaves float32
    # float32, and a float bound makes an integer tensor the default float dtype, not float64
    min, max = (b.item() if isinstance(b, np.generic) else b for b in (min, max))
    if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
        x = operand(x)
        bounds = [operand(b, x) for b in (min, max) if b is not None]
        # the result's dtype, as PyTorch's type promotion over all three (a 0-d x included)
        dtype = _dtype.result_type_of(x.array, *(b.array for b in bounds))
        for bound in bounds:
            if bound.array.shape != x.array.shape:
                check_broadcast("clamp", x.array, bound.array)
        if min is not None and max is not None:  # PyTorch's clamp kernel has no bool
            _dtype.refuse_bool(dtype, "clamp")
        x, *bounds = (t if t.array.dtype == dtype else t.to(dtype) for t in (x, *bounds))
        return tensor_op.apply(x, *bounds, has_low=min is not None, has_high=max is not None)
    x = operand(x)
    if x.array.dtype.kind == "b" and all(b is None or b.__class__ is bool for b in (min, max)):
        _dtype.refuse_bool(x.array.dtype, "clamp")  # no bool kernel for number bounds
    if x.array.dtype.kind in "biu" and any(isinstance(b, float) for b in (min, max)):
        x = floating(x)
    elif x.array.dtype.kind in "iu":  # PyTorch's range check (uint8: a bound of -1 is 255)
        min, max = (_dtype.checked_int(b, x.array.dtype) for b in (min, max))
    return number_op.apply(x, low=min, high=max)


clamp = clip


def maximum(a, b) -> Tensor:
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    return _binary(Minimum, a, b)


def where(cond, a, b) -> Tensor:
    """Elements of ``a`` where ``cond`` is true, else of ``b`` (both differentiable)."""
    if isinstance(cond, Tensor) and cond.array.dtype.kind not in "bu":
        raise DTypeError(  # PyTorch takes bool (and, deprecated, uint8) only
            f"where expected condition to be a bool tensor, got dtype {cond.array.dtype}; "
            f"compare first (x > 0) or convert it (cond.bool())"
        )
    cond = np.asarray(cond.array if isinstance(cond, Tensor) else cond, dtype=bool)
    if not isinstance(a, Tensor) and isinstance(b, Tensor):  # PyTorch's range check of a number
        a = _dtype.checked_int(a, b.array.dtype)  # (uint8: -1 is 255, 300 raises)
    elif not isinstance(b, Tensor) and isinstance(a, Tensor):
        b = _dtype.checked_int(b, a.array.dtype)
    a, b = operands(a, b)
    try:
        np.broadcast_shapes(cond.shape, a.array.shape, b.array.shape)
    except ValueError:
        raise ShapeError(
            f"where got condition {cond.shape}, a {a.array.shape} and b {b.array.shape}, which do "
            f"not broadcast together"
        ) from None
    return Where.apply(a, b, cond=cond)


def cast(x: Tensor, dtype) -> Tensor:
    if x.array.dtype == dtype:
        return Clone.apply(x)
    if x.requires_grad and np.dtype(dtype).kind != "f":
        return Tensor._make(x.array.astype(dtype), False)
    return Cast.apply(x, dtype=dtype)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def compare(ufunc, a, b) -> Tensor:
    """A comparison: a bool tensor, never part of the graph."""
    a, b = operands(a, b)
    check_broadcast(ufunc.__name__, a.array, b.array)
    return Tensor._make(ufunc(a.array, b.array), False)
