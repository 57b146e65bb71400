"""Which out-of-place op records each in-place op on a tensor of the graph
(autograd/inplace_graph.py writes its result into the tensor's memory), as PyTorch names and
differentiates it: ``y.pow_(2)`` is ``PowBackward0``, ``y.log_()`` ``LogBackward0``,
``y.copy_(src)`` ``CopyBackwards``, ``y.zero_()`` ``ZeroBackward0``, ``y.index_add_(...)``
``IndexAddBackward0``."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.inplace import GRAPH_WRITES
from chainrule.autograd.inplace_graph import rewrite
from chainrule.autograd.inplace_views import writes_itself
from chainrule.errors import GraphError, ShapeError


def _clamp(old, low, high):
    from chainrule.ops.elementwise import clip

    return clip(old, low, high)


def _clamp_min(old, low, high):
    from chainrule.ops.clamp_side import clamp_min

    return clamp_min(old, low)


def _clamp_max(old, low, high):
    from chainrule.ops.clamp_side import clamp_max

    return clamp_max(old, high)


def _by_kernel() -> dict:
    """ufunc or in-place kernel (autograd.inplace) → the op that records it out of place."""
    from chainrule.autograd import inplace

    return {
        np.add: lambda old, other: old + other,
        np.subtract: lambda old, other: old - other,
        np.multiply: lambda old, other: old * other,
        np.true_divide: lambda old, other: old / other,
        np.power: lambda old, exponent: old**exponent,
        inplace._relu: lambda old: old.relu(),
        inplace._clamp: _clamp,
        np.negative: lambda old: -old,
        np.absolute: lambda old: old.abs(),
        np.exp: lambda old: old.exp(),
        np.log: lambda old: old.log(),
        np.sqrt: lambda old: old.sqrt(),
        np.tanh: lambda old: old.tanh(),
        inplace._sigmoid: lambda old: old.sigmoid(),
        inplace._remainder: lambda old, other: old.remainder(other),
        inplace._fmod: lambda old, other: old.fmod(other),
        inplace._floor_divide: lambda old, other: old.div(other, rounding_mode="floor"),
        inplace._trunc: lambda old, other: old.div(other, rounding_mode="trunc"),
    }


# ops that share a kernel with another and differ in PyTorch's graph
_BY_OP = {"clamp_min_": _clamp_min, "clamp_max_": _clamp_max}
_BY_KERNEL: dict = {}


def write(tensor, op: str, kernel, operands) -> object:
    """``tensor.op(*operands)`` on a tensor of the graph (autograd.inplace.write's kernel)."""
    compute = out_of_place(op, kernel)
    return rewrite(tensor, op, lambda old: compute(old, *operands))


def out_of_place(op: str, kernel):
    """The function ``compute(old, *operands)`` that records ``op`` (done with ``kernel``)."""
    if op == "floor_divide_":
        raise GraphError(
            "derivative for floor_divide_ is not implemented (as in PyTorch): it would change "
            "a tensor in the graph; use div_(other, rounding_mode='floor'), whose gradient is 0, "
            "or detach() the tensor first"
        )
    if not _BY_KERNEL:
        _BY_KERNEL.update(_by_kernel())
    compute = _BY_OP.get(op) or _BY_KERNEL.get(kernel)
    if compute is None:  # bitwise ops and the like: no float kernel, so never in the graph
        raise GraphError(
            f"{op} would change a tensor in the graph in place, which it cannot differentiate; "
            f"write it out of place (y = y.{op[:-1]}(...)) on a detached tensor"
        )
    return compute


def assign(tensor, op: str, values) -> object:
    """``copy_ fill_ zero_ normal_ uniform_`` on a tensor of the graph, or with a source that
    requires grad (``buf.copy_(w)``): the old values get a zero gradient, a source tensor its
    gradient summed to its shape (PyTorch's ``CopyBackwards``, ``FillBackward3``)."""
    from chainrule.autograd.inplace import _checked_number
    from chainrule.ops import overwrite
    from chainrule.tensor import Tensor

    # (no local name for tensor.array: _refuse_unsafe counts the references to it)
    shape, dtype = tensor.array.shape, tensor.array.dtype
    if op == "copy_" and dtype.kind not in "fc":  # no gradient: PyTorch records nothing
        from chainrule.autograd.grad_mode import no_grad
        from chainrule.autograd.inplace import assign as plain

        with no_grad():
            return plain(tensor, op, values.detach() if isinstance(values, Tensor) else values)
    if op in ("copy_", "fill_") and isinstance(values, Tensor):
        _check_fits(op, np.shape(values.array), shape)
        node = overwrite.CopyFrom if op == "copy_" else overwrite.TensorFill
        return rewrite(tensor, op, lambda old: node.apply(old, values))
    if op == "copy_":  # an array or number: PyTorch's CopyBackwards all the same
        source = Tensor._make(np.asarray(_checked_number(values, dtype)), False)
        return assign(tensor, op, source)
    values = _checked_number(values, dtype)
    _check_fits(op, np.shape(values), shape)
    node = {
        "zero_": overwrite.ZeroFill,
        "fill_": overwrite.NumberFill,
        "normal_": overwrite.NormalFill,
        "uniform_": overwrite.UniformFill,
    }[op]
    return rewrite(tensor, op, lambda old: node.apply(old, values=values))


def _check_fits(op: str, shape: tuple, target: tuple) -> None:
    """PyTorch's rule: the source broadcasts to the tensor's shape, which stays as it is."""
    try:
        fits = len(shape) <= len(target) and np.broadcast_shapes(shape, target) == target
    except ValueError:
        fits = False
    if not fits:
        try:
            shape = np.broadcast_shapes(shape, target)  # PyTorch names the broadcast shape
        except ValueError:
            pass
        raise ShapeError(
            f"{op}: output with shape {list(target)} doesn't match the broadcast shape "
            f"{list(shape)} (an in-place op keeps its tensor's shape)"
        )


def write_back(tensor, op: str, fn, args, kwargs) -> object:
    """``index_add_``, ``scatter_`` and the like on a tensor of the graph: ``fn`` (the
    out-of-place op) recorded on the tensor before the write."""

    def compute(old):
        old.array = old.array.copy()  # the ops of ``fn`` may keep the values before the write
        return fn(old, *args, **kwargs)

    return rewrite(tensor, op, compute)


def fill_diagonal(tensor, value, wrap: bool) -> object:
    """``fill_diagonal_`` on a tensor of the graph: PyTorch's ``CopySlices`` of the value on
    the diagonal; the old values get the gradient off the diagonal."""
    from chainrule.autograd.inplace import _checked_number
    from chainrule.ops.overwrite import CopySlices
    from chainrule.tensor import Tensor

    mask = np.zeros(tensor.array.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    index = np.nonzero(mask)
    value = Tensor._make(np.asarray(_checked_number(value, tensor.array.dtype)), False)
    return rewrite(
        tensor,
        "fill_diagonal_",
        lambda old: CopySlices.apply(old, value, index=index, mask=mask, advanced=True),
    )


def setitem(tensor, index, value) -> object:
    """``tensor[index] = value`` recorded: ``old`` with ``value`` at the index (PyTorch's
    ``CopySlices``)."""
    from chainrule.ops.getitem import torch_index
    from chainrule.ops.overwrite import CopySlices
    from chainrule.ops.shape import broadcast_to
    from chainrule.tensor import Tensor

    if writes_itself(tensor, index, value):  # y[0] += 1: written through the view y[0]
        return tensor
    shape = tensor.array.shape
    chosen, steps = np.arange(int(np.prod(shape))).reshape(shape), torch_index(index)
    if len(steps) == 2:  # the integers first, as Tensor.__setitem__
        chosen = chosen[steps[0]]
    chosen = chosen[steps[-1]]  # the flat positions the assignment writes, in its shape
    at = np.zeros(shape, bool)
    at.reshape(-1)[chosen.reshape(-1)] = True
    where_at = np.unravel_index(chosen, shape)

    def compute(old):
        new = value if isinstance(value, Tensor) else Tensor(value, dtype=old.array.dtype)
        new = broadcast_to(new.to(old.array.dtype), chosen.shape)
        return CopySlices.apply(old, new, index=where_at, mask=at, advanced=True)

    return rewrite(tensor, "index assignment", compute)


GRAPH_WRITES.update(
    write=write,
    setitem=setitem,
    assign=assign,
    fill_diagonal=fill_diagonal,
    write_back=write_back,
)
