"""In-place ops on a tensor in the middle of the graph (``out += identity``, ``h.mul_(0.5)``,
``x[i] = v``, ``nn.ReLU(inplace=True)``), recorded as PyTorch records them.

The write is the out-of-place op on a stand-in ``old`` (a fresh tensor that takes over the
tensor's history: its op, its requires_grad), its result copied into the tensor's own memory;
the tensor keeps its identity and takes the new op as its ``grad_fn`` (``out += identity``:
``AddBackward0`` whose ``next_functions`` hold the two ops before it). Where the new op reads
``old``'s values for backward (``mul_``, ``clamp_``) ``old`` keeps a copy of them; the new op's
saved output is the tensor's own memory, so a later write to it is caught as any other.

Ops recorded before the write keep the tensor object among their inputs, and the graph reaches
an op's input through that object, which now stands for the new version: backward would lead
their gradients through the write. ``check_rewritten_inputs`` (called where
``check_saved_inputs`` is, before an op's gradients are handed on) leads them to the version
the op read instead, as PyTorch does. Writes into memory that something else still holds (a
view of it, its base, an op that saved it) are refused before they happen, as are writes to a
tensor with hooks or ``retain_grad()`` (they belong to its op before the write), except a
write into a view by indexing, recorded on its base (autograd/inplace_views.py). Which op
records which in-place op: autograd/inplace_graph_ops.py.
"""

from __future__ import annotations

import weakref
from sys import getrefcount

import numpy as np

from chainrule.autograd.inplace import _CLOCK, GRAPH_WRITES, REWRITE_CHECK, _owner, bump
from chainrule.errors import DTypeError, GraphError, ShapeError

# autograd/inplace_views.py's view_of and rewrite_view, put here when it loads: a write into a
# view of a tensor still in use goes through its base
VIEW_WRITES: list = []


def rewrite(tensor, op: str, compute) -> object:
    """Record ``tensor ← compute(old)`` in place: ``old`` stands for the tensor before the
    write; ``tensor`` keeps its identity and memory and takes the new op as its grad_fn.
    A view of a tensor still in use is written through its base (autograd/inplace_views.py)."""
    view = None
    try:
        _refuse_unsafe(tensor, op)
    except GraphError:
        view = VIEW_WRITES[0](tensor) if VIEW_WRITES else None
        if view is None:
            raise
    if view is not None:  # (outside the except: its traceback holds the memory's references)
        return VIEW_WRITES[1](tensor, *view, op, compute)
    old = _stand_in(tensor)
    return _adopt(tensor, op, old, compute(old))


def adopt(tensor, result, op: str = "inplace=True"):
    """``result`` (an op on ``tensor``: ``relu(x)``, ``x * mask``) written into ``tensor``,
    recorded as the in-place op (``F.relu(x, inplace=True)``; into a view of a tensor in use,
    through its base: inplace_views.py); else ``result`` itself, the tensor left as it was
    (same values: where the write would be refused or make backward() refuse, or ``result``
    is not the output of an op reading ``tensor``)."""
    node = result._ctx
    if (
        node is None
        or not any(parent is tensor for parent in node.parents)  # (not in: == is elementwise)
        or result.array.dtype != tensor.array.dtype
        or result.array.shape != tensor.array.shape
        or _saved_by_its_op(tensor)  # (ReLU then Dropout(inplace=True): PyTorch's backward
    ):  # would raise; a new tensor keeps it working, as before)
        return result
    kept = tensor.array
    if node.saves_inputs:  # its saved input is not a reader to refuse: it reads a copy
        kept = tensor.array.copy()
        _swap_saved(node, tensor.array, kept)
    view = None
    try:
        _refuse_unsafe(tensor, op)
    except GraphError:
        view = VIEW_WRITES[0](tensor) if VIEW_WRITES else None
        if view is None:
            return result
    if view is not None:  # a view of a tensor in use (F.relu(y[0], inplace=True)): its base
        kept = None  # (not a holder of the memory for the base's checks)
        return VIEW_WRITES[1](tensor, *view, op, lambda old: _reading(node, tensor, old, result))
    old = _stand_in(tensor)
    old.array = kept
    return _adopt(tensor, op, old, _reading(node, tensor, old, result))


def _reading(node, tensor, old, result):
    """``result``, its op now reading ``old`` where it read ``tensor``."""
    node.parents = tuple([old if parent is tensor else parent for parent in node.parents])
    return result


def _saved_by_its_op(tensor) -> bool:
    """Whether the op that made ``tensor`` keeps its memory for backward (relu, exp, sigmoid:
    their output), which a write would make backward() refuse."""
    owner = _owner(tensor.array)
    values = tensor._ctx.__dict__.values() if tensor._ctx is not None else ()
    return any(isinstance(v, np.ndarray) and _owner(v) is owner for v in values)


def _stand_in(tensor):
    from chainrule.tensor import Tensor

    old = Tensor._make(tensor.array, False)
    old._requires_grad, old._ctx = tensor._requires_grad, tensor._ctx
    return old


def _adopt(tensor, op: str, old, result) -> object:
    array = tensor.array
    node = result._ctx
    if node is None:  # an operand that requires grad, whose gradient the op would drop
        raise GraphError(f"{op}: the result is not in the graph; write it out of place")
    if result.array.shape != array.shape:
        raise ShapeError(
            f"{op}: the result's shape {result.array.shape} is not the tensor's shape "
            f"{array.shape} (an in-place op keeps its tensor's shape, as in PyTorch)"
        )
    if result.array.dtype != array.dtype and not np.can_cast(
        result.array.dtype, array.dtype, "same_kind"
    ):
        raise DTypeError(
            f"{op}: a result of dtype {result.array.dtype} cannot be stored in place in a "
            f"tensor of dtype {array.dtype} (as in PyTorch); convert first, e.g. x = x.float()"
        )
    if node.saves_inputs and old.array is array:  # it reads the values before the write
        kept = array.copy()
        _swap_saved(node, array, kept)
        old.array = kept
    np.copyto(array, result.array, casting="same_kind")
    _swap_saved(node, result.array, array)  # its saved output is the tensor's memory
    bump(tensor)
    node.epoch = _CLOCK[0]  # recorded with the write: only later writes are caught
    note_rewrite(node, old)
    tensor._ctx, tensor._requires_grad = node, True
    return tensor


def note_rewrite(node, old) -> None:
    """``node`` (the tensor's new grad_fn) wrote over ``old``, the tensor's version before it:
    ops recorded earlier that read the tensor are led to ``old`` (check_rewritten_inputs)."""
    # weakly (a node that outlives backward() would keep the graph below alive through it);
    # the walk of _seen_elsewhere reads it too
    node.rewrote = weakref.ref(old)
    if not REWRITE_CHECK:
        REWRITE_CHECK.append(check_rewritten_inputs)


def _swap_saved(node, before: np.ndarray, after: np.ndarray) -> None:
    for name, value in list(node.__dict__.items()):
        if value is before:
            setattr(node, name, after)


def masked_fill(tensor, mask, value) -> object:
    """``tensor.masked_fill_(mask, value)`` recorded."""
    from chainrule.ops.indexing import masked_fill as out_of_place

    return rewrite(tensor, "masked_fill_", lambda old: out_of_place(old, mask, value))


def _refuse_unsafe(tensor, op: str) -> None:
    """Raise GraphError where the write into ``tensor`` cannot be recorded (see the module)."""
    if tensor._ctx is not None and tensor._ctx.retained is not None:
        raise GraphError(
            f"{op} would change in place a tensor with hooks or retain_grad(), which belong to "
            f"its value before the write; write it out of place (y = y + 1) instead"
        )
    owner = _owner(tensor.array)
    if _seen_elsewhere(tensor, owner):
        view = "a view of " if owner is not tensor.array else ""
        raise GraphError(
            f"{op} would change in place {view}memory (shape {owner.shape}) that another "
            f"tensor or an op that read it still holds (a view, its base, a saved input), which "
            f"chainrule does not record in the graph (PyTorch may); write it out of place "
            f"(y = y + 1), or clone() first"
        )


def _seen_elsewhere(tensor, owner) -> bool:
    """Whether anything but ``tensor``'s own history may read the memory ``tensor`` views.

    The history is the tensors over the same memory that ``tensor``'s ops read, walked back
    (a batch norm's output is a reshape of its last op's: that op's output is history, and so
    is the stand-in of an earlier in-place write). No op can read them after the write if the
    graph's ops are their only holders (an op that saved them is stamped by the write, and its
    backward refuses); any other holder (a view the user kept, another op) may."""
    tensors, arrays, saved, nodes = {}, {id(tensor.array): tensor.array}, [], set()
    walk = [tensor]
    while walk:
        node = walk.pop()._ctx
        if node is None or id(node) in nodes:
            continue
        nodes.add(id(node))
        saved += [v for v in node.__dict__.values() if isinstance(v, np.ndarray)]
        before = node.__dict__.get("rewrote")  # an earlier write's stand-in (maybe a copy)
        before = before() if before is not None else None
        if before is not None and _owner(before.array) is not owner:
            walk.append(before)
        for parent in node.parents:
            if _owner(parent.array) is owner:
                entry = tensors.setdefault(id(parent), [parent, 0])
                entry[1] += 1 + (parent is before)  # each op holding it
                arrays[id(parent.array)] = parent.array
                if entry[1] <= 2:
                    walk.append(parent)
    holders, views = _known_holders(tensor, tensors, arrays, saved, owner)
    # besides the known holders: `arrays`, the list of views and its loop's variable; `owner`
    # here and in the caller (and in `arrays`); `tensors`
    return (
        any(_held_elsewhere(array, holders[id(array)] + 3) for array in _views(arrays, owner))
        or _held_elsewhere(owner, holders.get(id(owner), 0) + views + 2 + (id(owner) in arrays))
        or any(_held_elsewhere(entry[0], entry[1] + 1) for entry in tensors.values())
    )


def _known_holders(tensor, tensors: dict, arrays: dict, saved: list, owner) -> tuple:
    """How many of the history's tensors and ops hold each array, and how many arrays view
    ``owner`` (each holding it by its ``.base``)."""
    holders = {key: 0 for key in arrays}
    for entry in [[tensor, 0], *tensors.values()]:
        holders[id(entry[0].array)] += 1
    views = sum(array is not owner for array in arrays.values())
    for value in saved:
        if id(value) in holders:
            holders[id(value)] += 2  # the op's attribute and the list `saved`
        elif value.base is owner or value is owner:
            views += 1  # an op's saved view of the memory
    return holders, views


def _views(arrays: dict, owner) -> list:
    return [array for array in arrays.values() if array is not owner]


def _held_elsewhere(value, known: int) -> bool:
    """More references to ``value`` than ``known`` ones, besides this function's argument and
    getrefcount's."""
    return getrefcount(value) > known + 2


def check_rewritten_inputs(fn) -> None:
    """Lead ``fn``'s gradients to the versions of its inputs that it read, where an input was
    changed in place (and the write recorded, see :func:`rewrite`) after ``fn`` read it: the
    graph reaches an input through the tensor object, which now stands for its new version.
    (What ``fn`` saved of the old values is checked by ``check_saved_inputs`` after this, and
    an op whose output shares the memory was refused at the write.)"""
    parents = fn.parents
    for i, parent in enumerate(parents):
        read = _version_read(parent, fn.epoch)
        if read is not parent:
            parents = fn.parents = parents[:i] + (read,) + parents[i + 1 :]


def versions_read(fn) -> tuple:
    """``fn``'s inputs as the versions it read (for ``next_functions``, which PyTorch shows so
    before backward() too); ``fn`` itself is left as it is."""
    try:
        return tuple([_version_read(parent, fn.epoch) for parent in fn.parents])
    except GraphError:  # (a freed graph: shown as it is linked)
        return fn.parents


def _version_read(tensor, epoch: int):
    """``tensor`` as it was before the recorded in-place writes made after ``epoch``."""
    ctx = tensor._ctx
    while ctx is not None and ctx.epoch > epoch:
        before = ctx.__dict__.get("rewrote")
        if before is None:
            break
        tensor = before()
        if tensor is None:  # (released by an earlier backward(): the engine says so)
            raise GraphError("the graph of an in-place write was freed by an earlier backward()")
        ctx = tensor._ctx
    return tensor


refuse_unsafe = _refuse_unsafe


# (registered where the core reaches them: inplace.py; the ops import what this module does)
GRAPH_WRITES.update(versions_read=versions_read, masked_fill=masked_fill, rewrite=rewrite)
