"""In-place ops (``add_``, ``p -= ...``, ``zero_``) and the version clock that keeps them honest.

An in-place op writes into a tensor's own array, so every other tensor sharing that memory
(``p.data``, ``p.grad``) sees the change, as in PyTorch. Two rules keep gradients right:

* On a tensor in the middle of the graph (``out += identity``, ``h.mul_(0.5)``) the write is
  recorded as PyTorch records it (autograd/inplace_graph.py); a leaf that requires grad is
  refused in grad mode (update parameters inside ``with cr.no_grad():``).
* Every in-place write ticks a global clock and stamps the tensor and the memory it writes.
  An op recorded before a write to one of its inputs, or to memory it saved (a view of an
  input, its own output: ``fn.epoch`` < the stamp) would differentiate with values that are
  gone: ``backward()`` refuses, naming the op, instead of giving a wrong gradient (PyTorch's
  "modified by an inplace operation"). Writes through ``.data`` are not stamped on the
  memory, as PyTorch's ``.data`` has a version counter of its own.

With no in-place writes the clock stays 0 and neither the ops nor ``backward()`` pay for it.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from chainrule._blas import axpy
from chainrule._dtype import (
    _BOOL,
    _NOT_BOOL,
    alpha_product,
    check_integer_divisor,
    checked_int,
    checked_scalar,
    refuse_bool,
    refuse_bool_sub,
    refuse_non_float,
    wrap_int,
)
from chainrule.autograd.grad_mode import _GradMode, refuse_outside_inference
from chainrule.autograd.inplace_errors import write_refused
from chainrule.autograd.inplace_integers import (
    _integer_into_integer,
    _integer_pow,
    _single_numbers_cast,
)
from chainrule.errors import ArgumentError, DTypeError, GraphError, ShapeError

_HALF = np.dtype(np.float16)
# PyTorch's float16 arithmetic in place: ops/half_scalar.py puts its writer here (the ops import
# this module, never the other way round); until then float16 writes as any dtype.
HALF_WRITER = [lambda tensor, ufunc, values: False]

# _CLOCK[0] counts in-place writes since import; a list so other modules share one counter.
_CLOCK = [0]

# The last write into each array's memory: id(owner) → (clock, weak reference to the owner), the
# owner being the ndarray that owns the memory (a view's base). Every tensor and saved array
# over that memory (views, transposes, detach(), an op's saved output) shares the stamp, as
# PyTorch's version counter is shared by a tensor's views. An entry goes when its array does.
_MEMORY_WRITTEN: dict[int, tuple] = {}


def _owner(array):
    base = array.base
    return base if isinstance(base, np.ndarray) else array


def _forget(key: int):
    return lambda _ref: _MEMORY_WRITTEN.pop(key, None)


# The built-in optimizers write their parameters' arrays in place, with no op and no stamp per
# parameter (that bookkeeping would cost a tiny network's step a few per cent). Each step notes
# itself here instead, one entry per optimizer: id → (clock at its last step, its param_groups),
# and a check that runs (an op recorded before a later write) asks which parameters a step
# wrote since the op was recorded, as PyTorch's version counters would tell it. The entries
# hold the groups (an optimizer made for one step still counts); the _STEPS_KEPT most recent
# are kept.
_STEPS: dict[int, tuple] = {}
_STEPS_KEPT = 8
_STEPS_UNSEEN = [0]  # > 0 inside steps_unseen()


def note_step(optimizer, _steps=_STEPS, _clock=_CLOCK, _unseen=_STEPS_UNSEEN) -> None:
    """Record that ``optimizer`` is about to write its parameters in place (its ``step``)."""
    if _unseen[0]:
        return
    clock = _clock[0] = _clock[0] + 1
    key = id(optimizer)
    if key not in _steps and len(_steps) >= _STEPS_KEPT:
        del _steps[min(_steps, key=lambda k: _steps[k][0])]
    _steps[key] = (clock, optimizer.param_groups)


@contextlib.contextmanager
def steps_unseen():
    """Inside, optimizer steps are not noted: a backward pass through ops recorded before a
    step reads the stepped weights (the textbook "sequential" update that ``cr.explain``
    shows, where each lower layer's gradient sees the updated layers above it)."""
    _STEPS_UNSEEN[0] += 1
    try:
        yield
    finally:
        _STEPS_UNSEEN[0] -= 1


def _stepped_after(epoch: int) -> set:
    """ids of the memory owners of every parameter an optimizer stepped after ``epoch``."""
    owners = set()
    for clock, groups in list(_STEPS.values()):
        if clock > epoch:
            for group in groups:
                owners.update(id(_owner(p.array)) for p in group["params"])
    return owners


def bump(tensor, memory: bool = True) -> None:
    """Record one in-place write to ``tensor`` (its ``_version``, the clock and, with
    ``memory``, the stamp of the memory it writes into)."""
    _CLOCK[0] += 1
    tensor._writes = getattr(tensor, "_writes", 0) + 1
    tensor._written_at = _CLOCK[0]
    if memory and not getattr(tensor, "_untracked", False):
        owner = _owner(tensor.array)
        key = id(owner)
        entry = _MEMORY_WRITTEN.get(key)
        ref = entry[1] if entry is not None else weakref.ref(owner, _forget(key))
        _MEMORY_WRITTEN[key] = (_CLOCK[0], ref)


def _written_after(array, epoch: int) -> bool:
    entry = _MEMORY_WRITTEN.get(id(_owner(array)))
    return entry is not None and entry[0] > epoch


# inplace_graph's check_rewritten_inputs, put here once a write was recorded in the graph
REWRITE_CHECK: list = []
# autograd/inplace_graph.py's recorders (write, setitem, ...), put here when it loads
# (it imports the ops, which import this module, never the other way round)
GRAPH_WRITES: dict = {}


def check_saved_inputs(fn, graph: bool = False) -> None:
    """Raise if an input or array that ``fn`` saved for backward was written in place after
    ``fn`` ran: through the input itself, a view of its memory, ``detach()``, or (for an op
    that keeps its output, as exp, sigmoid, tanh, relu do) the op's output."""
    if REWRITE_CHECK:
        REWRITE_CHECK[0](fn)
    if not fn.saves_inputs:
        return
    epoch = fn.epoch
    unread, unread_names = _saved_but_unread(fn, graph)
    for index, parent in enumerate(fn.parents):
        if index in unread:
            continue
        if getattr(parent, "_written_at", 0) > epoch or (
            _MEMORY_WRITTEN and _written_after(parent.array, epoch)
        ):
            _refuse(fn, f"input {index}, shape {parent.array.shape}")
    stepped = _stepped_after(epoch) if _STEPS else ()
    if stepped:  # an optimizer step wrote a parameter this op keeps
        for index, parent in enumerate(fn.parents):
            if index not in unread and id(_owner(parent.array)) in stepped:
                _refuse(fn, f"input {index}, shape {parent.array.shape}, by an optimizer step")
    if _MEMORY_WRITTEN or stepped:
        for name, value in fn.__dict__.items():
            if (
                isinstance(value, np.ndarray)
                and name not in _NOT_SAVED
                and name not in unread_names
                and (_written_after(value, epoch) or id(_owner(value)) in stepped)
            ):
                _refuse(fn, f"its saved array {name!r}, shape {value.shape}")


def _saved_but_unread(fn, graph: bool) -> tuple[set, set]:
    """The inputs (and their saved names) that ``fn``'s backward will not read, by its
    ``inputs_read_for`` (name: (input, the input whose gradient reads it, or None)): in a
    product each input is read only for the other's gradient, so PyTorch saves it only if the
    other needs one (``ones @ w``, then ``w`` written in place, still differentiates). With
    ``graph`` (``backward_graph``, which recomputes from the inputs: ``exp(x)``) an input no
    gradient reads on arrays is read all the same."""
    read_for = getattr(fn, "inputs_read_for", None)
    if read_for is None:
        return (), ()
    unread, names = set(), set()
    for name, (index, reader) in read_for.items():
        if (reader is None and not graph) or (reader is not None and not fn.needs_grad[reader]):
            unread.add(index)
            names.add(name)
    return unread, names


# The engine's own attributes on an op: grad_out is the gradient handed to it (a user's
# backward(grad) array, say), not something the op saved from its forward pass.
_NOT_SAVED = frozenset(("grad_out", "parents", "needs_grad", "epoch", "_mark", "retained"))


def _refuse(fn, what: str):
    raise GraphError(
        f"a tensor that {type(fn).__name__} ({what}) saved for the backward pass was changed "
        f"in place afterwards, so its gradient can no longer be computed; change it after "
        f"backward(), or make a new tensor (x = x + 1) instead of an in-place op"
    )


def _check_writable(tensor, op: str) -> None:
    refuse_outside_inference(tensor, op)
    if tensor.requires_grad and _GradMode.enabled:
        what = (
            "a leaf tensor that requires grad" if tensor._ctx is None else "a tensor in the graph"
        )
        raise GraphError(
            f"{op} would change {what} in place, and backward() may still need its old values; "
            f"update parameters inside `with cr.no_grad():`, or write an out-of-place op "
            f"(y = y + 1) to keep the graph"
        )


def records(tensor, operands) -> bool:
    """Whether a write in grad mode goes into the graph: a tensor in the middle of it, or one
    outside it that an operand which requires grad brings in (``buf[i] = w``)."""
    if tensor._requires_grad:
        return tensor._ctx is not None
    return any(getattr(o, "_requires_grad", False) for o in operands)


def _value(other):
    """An in-place operand's array; one that requires grad is refused in grad mode, where
    PyTorch would record the write in the graph and chainrule would lose its gradient."""
    if not hasattr(other, "array") or isinstance(other, np.ndarray):
        return other
    if other.requires_grad and _GradMode.enabled:
        refuse_grad_operand()
    return other.array


def refuse_grad_operand(op: str = "an in-place write") -> None:
    raise GraphError(
        f"{op} got an operand that requires grad: chainrule does not record in-place writes in "
        f"the graph (PyTorch would), so its gradient would be lost; write it out of place "
        f"(b = b + a, cr.where(mask, a, b), cr.cat) or detach() the operand"
    )


def write(tensor, op: str, ufunc, *operands) -> object:
    """``tensor.array = ufunc(tensor.array, *operands)`` in place, with PyTorch's checks."""
    if _GradMode.enabled and records(tensor, operands):
        return GRAPH_WRITES["write"](tensor, op, ufunc, operands)
    _check_writable(tensor, op)
    array = tensor.array
    values = [_value(o) for o in operands]
    if array.dtype is _HALF and HALF_WRITER[0](tensor, ufunc, values):  # ops/half_scalar.py
        bump(tensor)
        return tensor
    try:
        try:
            ufunc(array, *values, out=array, casting="same_kind")
        except OverflowError:  # uint8 += -3: PyTorch wraps the number around
            values = [wrap_int(v, array.dtype) for v in values]
            ufunc(array, *values, out=array, casting="same_kind")
    except TypeError as err:  # NumPy's UFuncTypeError: the result's dtype does not fit
        if _integer_into_integer(ufunc, array, values):  # uint8 += int64: PyTorch wraps it
            ufunc(array, *_single_numbers_cast(values, array.dtype), out=array, casting="unsafe")
            bump(tensor)
            return tensor
        raise DTypeError(
            f"{op}: the result cannot be stored in place in a tensor of dtype {array.dtype} "
            f"(as in PyTorch: {err}); convert first, e.g. x = x.float()"
        ) from None
    except ValueError as err:
        raise write_refused(op, array, [np.shape(v) for v in values], err) from None
    bump(tensor)
    return tensor


def _scaled_add(tensor, op: str, other, alpha) -> object:
    """``tensor += alpha·other``: ``add_(other, alpha=…)``, the manual SGD step
    ``p.add_(p.grad, alpha=-lr)``. PyTorch rounds that once (a fused multiply-add); where BLAS's
    axpy can take the arrays (chainrule._blas) so does this, in one pass, else NumPy scales a
    copy and adds it (two roundings)."""
    if _GradMode.enabled and records(tensor, (other,)):
        if not getattr(other, "requires_grad", False):  # an integer tensor: in tensor's dtype
            other = alpha_product(tensor.array.dtype, _value(other), alpha)
            return write(tensor, op, np.add, other)
        return write(tensor, op, np.add, other * alpha)
    value = _value(other)
    if (
        isinstance(value, np.ndarray)
        and isinstance(alpha, (int, float))
        and not (_GradMode.enabled and getattr(other, "requires_grad", False))
    ):
        _check_writable(tensor, op)
        if axpy(float(alpha), value, tensor.array):
            bump(tensor)
            return tensor
    return write(tensor, op, np.add, alpha_product(tensor.array.dtype, value, alpha))


def _checked_number(value, dtype):
    """A number written in place, checked as PyTorch converts it: an int by ``checked_int``
    (uint8 takes −1 as 255), a float by ``checked_scalar`` (300.0 into uint8, NaN into an
    integer dtype, 1e39 into float32 raise; NumPy's cast wrapped them silently)."""
    if value.__class__ is float:
        return checked_scalar(value, dtype)
    return checked_int(value, dtype)


def assign(tensor, op: str, values) -> object:
    """Copy ``values`` (broadcast, cast) into ``tensor``'s memory: ``copy_``, ``fill_``."""
    if _GradMode.enabled and records(tensor, (values,)):
        return GRAPH_WRITES["assign"](tensor, op, values)
    _check_writable(tensor, op)
    values = _checked_number(_value(values), tensor.array.dtype)
    if np.ndim(values) > tensor.array.ndim:  # np.copyto would drop leading size-1 dimensions
        raise ShapeError(
            f"{op}: output with shape {list(tensor.array.shape)} doesn't match the broadcast "
            f"shape {list(np.shape(values))} (an in-place op keeps its tensor's shape)"
        )
    try:
        np.copyto(tensor.array, values, casting="unsafe")
    except ValueError as err:
        raise write_refused(op, tensor.array, [np.shape(values)], err) from None
    bump(tensor)
    return tensor


def _refuse_dimensioned_value(value, op: str) -> None:
    """PyTorch's fill_ and masked_fill_ take a number or a 0-d tensor only (NumPy would
    spread a row of values over the tensor, or the masked places)."""
    ndim = np.ndim(getattr(value, "array", value))  # (one that requires grad: checked later)
    if ndim > 0:
        raise ShapeError(
            f"{op} only supports a 0-dimensional value tensor (as in PyTorch), got one with "
            f"{ndim} dimension(s); use torch.where(mask, values, x) for many"
        )


def _sigmoid(x, out, casting):
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _relu(x, out, casting):
    np.maximum(x, 0, out=out)


def _clamp(x, low, high, out, casting):
    if low is not None:
        np.maximum(x, low, out=out, casting=casting)
    if high is not None:
        np.minimum(out if low is not None else x, high, out=out, casting=casting)


def _integer_divisor(tensor, other, op):
    divisor = np.asarray(_value(other))
    if divisor.dtype.kind == "b":  # bool // bool: PyTorch has no kernel (NumPy: int8)
        refuse_bool(tensor.array.dtype, op)
    check_integer_divisor(tensor.array, divisor, op)


def _remainder(x, divisor, out, casting):
    # x is out (the tensor's own array): the dividend's signs are taken before they are gone,
    # as a zero remainder keeps the dividend's sign in PyTorch's % (-4 % 2 is -0.0)
    negative = np.signbit(x) if out.dtype.kind == "f" else None
    with np.errstate(divide="ignore", invalid="ignore"):
        np.remainder(x, divisor, out=out, casting=casting)
    if negative is not None:
        zero = out == 0
        if zero.any():
            np.copyto(out, np.where(negative, -0.0, 0.0), casting="unsafe", where=zero)


def _floor_divide(x, divisor, out, casting):
    with np.errstate(divide="ignore", invalid="ignore"):
        np.floor_divide(x, divisor, out=out, casting=casting)


def trunc_divide(a, b) -> np.ndarray:
    """Integer quotients rounded toward 0, as C's (NumPy's ``//`` rounds toward −∞)."""
    quotient = np.floor_divide(a, b)
    inexact = (quotient * b != a) & ((np.asarray(a) < 0) != (np.asarray(b) < 0))
    return np.add(quotient, inexact, dtype=quotient.dtype)


def _trunc(x, divisor, out, casting):
    if out.dtype.kind in "iu" and np.asarray(divisor).dtype.kind in "biu":
        np.copyto(out, trunc_divide(x, divisor), casting=casting)
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        np.true_divide(x, divisor, out=out, casting=casting)
    np.trunc(out, out=out)


def _fmod(x, divisor, out, casting):
    with np.errstate(divide="ignore", invalid="ignore"):
        np.fmod(x, divisor, out=out, casting=casting)


class InplaceMethods:
    """The in-place methods of :class:`~chainrule.Tensor` (PyTorch's trailing underscore)."""

    __slots__ = ()

    def add_(self, other, *, alpha=1):
        if alpha != 1:
            return _scaled_add(self, "add_", other, alpha)
        return write(self, "add_", np.add, other)

    def sub_(self, other, *, alpha=1):
        if other.__class__ is bool or getattr(other, "array", _NOT_BOOL).dtype is _BOOL:
            refuse_bool_sub(other)  # PyTorch's (a bool tensor itself: NumPy's refusal below)
        if alpha != 1:
            return _scaled_add(self, "sub_", other, -alpha)
        return write(self, "sub_", np.subtract, other)

    def mul_(self, other):
        return write(self, "mul_", np.multiply, other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return write(self, "div_", np.true_divide, other)
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                f"div_: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}"
            )
        _integer_divisor(self, other, "div_")
        return write(self, "div_", _floor_divide if rounding_mode == "floor" else _trunc, other)

    def floor_divide_(self, other):
        _integer_divisor(self, other, "floor_divide_")
        return write(self, "floor_divide_", _floor_divide, other)

    def remainder_(self, other):
        _integer_divisor(self, other, "remainder_")
        return write(self, "remainder_", _remainder, other)

    def fmod_(self, other):
        _integer_divisor(self, other, "fmod_")
        return write(self, "fmod_", _fmod, other)

    def bitwise_and_(self, other):
        return write(self, "bitwise_and_", np.bitwise_and, other)

    def bitwise_or_(self, other):
        return write(self, "bitwise_or_", np.bitwise_or, other)

    def bitwise_xor_(self, other):
        return write(self, "bitwise_xor_", np.bitwise_xor, other)

    def pow_(self, exponent):
        if self.array.dtype is _BOOL:  # PyTorch: mask ** True in bool, mask ** mask refused
            if exponent.__class__ is bool:
                return write(self, "pow_", np.logical_or, not exponent)
            refuse_bool(np.asarray(_value(exponent)).dtype, "pow_")
        if self.array.dtype.kind in "iu":
            if isinstance(exponent, (int, np.integer)) and exponent < 0:  # a number, not a tensor
                raise DTypeError(
                    f"Integers to negative integer powers are not allowed (as in PyTorch): "
                    f"pow_({exponent}) of a {self.array.dtype} tensor; convert, x = x.float()"
                )
            return write(self, "pow_", _integer_pow, exponent)
        return write(self, "pow_", np.power, exponent)

    def neg_(self):
        return write(self, "neg_", np.negative)

    def abs_(self):
        refuse_bool(self.array.dtype, "abs_")  # PyTorch has no bool kernel
        return write(self, "abs_", np.absolute)

    def exp_(self):
        return write(self, "exp_", np.exp)

    def log_(self):
        return write(self, "log_", np.log)

    def sqrt_(self):
        return write(self, "sqrt_", np.sqrt)

    def sigmoid_(self):
        return write(self, "sigmoid_", _sigmoid)

    def tanh_(self):
        return write(self, "tanh_", np.tanh)

    def relu_(self):
        return write(self, "relu_", _relu)

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise ArgumentError("clamp_() needs min= or max= (as in PyTorch)")
        if (min is not None and max is not None) or all(
            b is None or b.__class__ is bool for b in (min, max)
        ):  # PyTorch's bool kernels: clamp_min_/clamp_max_ by a bool tensor only
            refuse_bool(self.array.dtype, "clamp_")
        return write(self, "clamp_", _clamp, _value(min), _value(max))

    clip_ = clamp_

    def zero_(self):
        return assign(self, "zero_", 0)

    def fill_(self, value):
        _refuse_dimensioned_value(value, "fill_")
        return assign(self, "fill_", value)

    def fill_diagonal_(self, fill_value, wrap: bool = False):
        """Write ``fill_value`` on the main diagonal (all dims of equal size, or 2-D; with
        ``wrap`` a tall matrix's diagonal starts again below each square), as PyTorch."""
        shape = self.array.shape  # (no name for the array: the graph's checks count them)
        if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
            raise ShapeError(
                f"fill_diagonal_: needs a 2-D tensor or all dimensions of equal size, got "
                f"shape {shape}"
            )
        if _GradMode.enabled and records(self, ()):  # PyTorch's CopySlices (inplace_graph_ops)
            return GRAPH_WRITES["fill_diagonal"](self, fill_value, wrap)
        _check_writable(self, "fill_diagonal_")
        array = self.array
        np.fill_diagonal(array, _checked_number(fill_value, array.dtype), wrap=wrap)
        bump(self)
        return self

    def copy_(self, src):
        return assign(self, "copy_", src)

    def masked_fill_(self, mask, value):
        if _GradMode.enabled and records(self, (value,)):
            return GRAPH_WRITES["masked_fill"](self, mask, value)
        _check_writable(self, "masked_fill_")
        mask = np.asarray(_value(mask), dtype=bool)
        try:
            mask = np.broadcast_to(mask, self.array.shape)
        except ValueError:  # in place, the tensor keeps its shape: PyTorch's RuntimeError
            raise ShapeError(
                f"masked_fill_: mask of shape {mask.shape} does not broadcast to the tensor's "
                f"shape {self.array.shape}"
            ) from None
        _refuse_dimensioned_value(value, "masked_fill_")
        value = _value(value)  # a 0-d tensor's value is range-checked too, as in PyTorch
        value = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        value = _checked_number(value, self.array.dtype)
        try:
            self.array[mask] = value
        except ValueError as err:  # a broadcast view's memory is read-only
            raise write_refused("masked_fill_", self.array, [()], err) from None
        bump(self)
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from chainrule.random import get_generator

        refuse_non_float(self.array.dtype, "normal_")
        draw = get_generator(generator).normal(mean, std, size=self.array.shape)
        return assign(self, "normal_", draw)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        from chainrule.random import get_generator

        refuse_non_float(self.array.dtype, "uniform_")
        draw = get_generator(generator).uniform(a, b, size=self.array.shape)
        return assign(self, "uniform_", draw)

    # Python's augmented assignment: x += y changes x itself, as in PyTorch.
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, exponent):
        return self.pow_(exponent)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __imod__(self, other):
        return self.remainder_(other)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __imatmul__(self, other):
        raise GraphError("in-place matmul (a @= b) is not supported, as in PyTorch; use a = a @ b")
