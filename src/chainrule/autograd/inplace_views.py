"""Writes into a view of a tensor of the graph (``y[:, 1].mul_(3)``, ``y[0] += 1``,
``y.narrow(1, 0, 2).copy_(z)``, ``y.select(0, 1).zero_()``), recorded as PyTorch records them.

The view's base takes the write as a ``CopySlices`` node (ops/overwrite.py): the base before
the write, with the view's part replaced by the in-place op on that part (``mul(part, 3)``).
The view keeps its identity and memory and becomes a view of the base's new version
(PyTorch's ``AsStridedBackward0``); ops that read the view or the base before the write are
led to the versions they read, as for any recorded write (autograd/inplace_graph.py).

Views by basic indexing (integers, slices, ``narrow``, ``select``) and by reshaping or
permuting (``view``, ``unsqueeze``, ``t()``, ``transpose``) are handled, chains of them too
(``y[0][1:]``, ``y.t()[0]``). A write into another kind of view (``diagonal``, ``unfold``), or
while another view of the base is alive, is refused as before: PyTorch rebuilds those views'
history, which chainrule does not.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.inplace import _owner, bump
from chainrule.autograd.inplace_graph import (
    VIEW_WRITES,
    check_rewritten_inputs,
    note_rewrite,
    rewrite,
)
from chainrule.errors import GraphError


def view_of(tensor):
    """``(base, step)`` where ``tensor`` is a view of ``base``'s memory by one op that this
    module can write through (``step``: :class:`_Slice` or :class:`_Whole`), else None."""
    from chainrule.ops.getitem import GetItem
    from chainrule.ops.shape import Permute, Reshape

    node = tensor._ctx
    if node is None or node.freed or node.retained is not None:
        return None  # (hooks or retain_grad() on the view: refused as any such write)
    base = node.parents[0]
    if _owner(base.array) is not _owner(tensor.array):
        return None  # (a copy: a reshape of a non-contiguous tensor, advanced indexing)
    if isinstance(node, GetItem) and not node.advanced:
        return base, _Slice(node.index, base.array.shape)
    if isinstance(node, Reshape):
        return base, _Whole({"shape": tensor.array.shape}, base.array.shape)
    if isinstance(node, Permute):
        return base, _Whole({"axes": node.axes}, base.array.shape)
    return None


class _Slice:
    """``base[index]`` by basic indexing (integers, slices, narrow, select)."""

    def __init__(self, index, shape: tuple):
        self.index = index
        self.mask = np.zeros(shape, bool)
        self.mask[index] = True

    def array(self, base):
        return _view_array(base, self.index)

    def place(self, old_base, part):
        from chainrule.ops.overwrite import CopySlices

        return CopySlices.apply(old_base, part, index=self.index, mask=self.mask)

    def view(self, base):
        from chainrule.ops.overwrite import ViewOfWrite

        return ViewOfWrite.apply(base, index=self.index, advanced=False)


class _Whole:
    """A view over all of the base's memory in another layout: ``view``/``reshape``,
    ``unsqueeze``/``squeeze``, ``permute``/``t()``/``transpose``/``.T``."""

    def __init__(self, params: dict, shape: tuple):
        self.params, self.shape = params, shape

    def array(self, base):
        if "axes" in self.params:
            return np.transpose(base, self.params["axes"])
        return base.reshape(self.params["shape"])

    def place(self, old_base, part):
        from chainrule.ops.overwrite import CopySlices
        from chainrule.ops.shape import Permute, Reshape

        if "axes" in self.params:
            back = Permute.apply(part, axes=tuple(np.argsort(self.params["axes"]).tolist()))
        else:
            back = Reshape.apply(part, shape=self.shape)
        everywhere = np.ones(self.shape, bool)
        return CopySlices.apply(old_base, back, index=Ellipsis, mask=everywhere)

    def view(self, base):
        from chainrule.ops.overwrite import PermuteOfWrite, ReshapeOfWrite

        op = PermuteOfWrite if "axes" in self.params else ReshapeOfWrite
        return op.apply(base, **self.params)


def rewrite_view(view, base, step, op: str, compute) -> object:
    """Record ``view ← compute(view before)`` as a write into ``base`` (see the module)."""
    from chainrule.tensor import Tensor

    if base._ctx is None and base._requires_grad:
        raise GraphError(
            f"{op}: a view of a leaf tensor that requires grad is being used in an in-place "
            f"operation (as in PyTorch); change the leaf under `with cr.no_grad():`, or clone() it"
        )
    before = view._ctx
    old = Tensor._make(None, False)  # the view before the write: its op, a copy of its values
    old._requires_grad, old._ctx = view._requires_grad, before

    def write_base(old_base):
        old_base.array = old_base.array.copy()  # ops on the part may keep the values before
        old.array = step.array(old_base.array)
        return step.place(old_base, compute(old))

    view.array = None  # its memory is the base's: the base's checks must not count it
    try:
        rewrite(base, op, write_base)
    finally:
        view.array = step.array(base.array)
    # the view's op read the base before the write: lead it there now, as backward would (it
    # is reached through the write's CopySlices, below the base's new version)
    check_rewritten_inputs(before)
    bump(view, memory=False)  # (the base's write stamped the memory)
    new = step.view(base)
    note_rewrite(new._ctx, old)
    view._ctx, view._requires_grad = new._ctx, True
    return view


def _view_array(array, index):
    out = array[index]
    if not isinstance(out, np.ndarray):  # integers only: a 0-d view, as GetItem's
        out = array[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
    return out


def writes_itself(tensor, index, value) -> bool:
    """Whether ``tensor[index] = value`` puts ``value`` where its memory already is: Python's
    ``y[0] += 1`` is ``v = y[0]; v += 1; y[0] = v``, and the write into the view ``v`` was
    recorded already (a second write would find ``v`` holding the memory, and refuse)."""
    from chainrule.ops.getitem import torch_index

    node = getattr(value, "_ctx", None)
    if node is None or node.freed or node.parents[0] is not tensor:
        return False  # (not a view taken of ``tensor`` in the graph: y[0] = y[0].detach())
    try:
        target = tensor.array
        for step in torch_index(index):
            target = _view_array(target, step)
    except (IndexError, TypeError, ValueError):
        return False
    if not isinstance(target, np.ndarray) or target.base is None:  # (advanced: a copy)
        return False
    ours, theirs = target.__array_interface__, value.array.__array_interface__
    return all(ours[key] == theirs[key] for key in ("data", "shape", "strides", "typestr"))


VIEW_WRITES[:] = [view_of, rewrite_view]
