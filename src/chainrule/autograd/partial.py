"""Backward passes that stop at chosen inputs: ``autograd.grad`` and ``backward(inputs=...)``.

PyTorch runs, for these, only the part of the graph between the outputs and the inputs asked
for: an op runs its backward only if one of its inputs leads to a requested input, and the hooks
(and ``retain_grad``) of a tensor fire only if its gradient is computed on the way. A requested
non-leaf tensor gets its gradient, and its hooks fire, but the ops below it do not run (unless
they lead to another requested input). Ops that did not run are not released.

The plain ``backward()`` of every leaf stays in :mod:`chainrule.autograd.engine`, the hot path.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import engine
from chainrule.autograd import hooks as _hooks
from chainrule.autograd.inplace import _CLOCK, check_saved_inputs
from chainrule.errors import GraphError


class _Roots:
    """A stand-in op above all outputs, so one depth-first walk orders the ops of them all."""

    _mark = None
    needs_grad = ()

    def __init__(self, outputs):
        self.parents = tuple(outputs)


def needed_ops(order: list, inputs) -> tuple[set, set]:
    """``(run, targets)``: ids of the ops in ``order`` (outputs first) whose backward must run
    to reach one of ``inputs``, and ids of the ops whose outputs are among ``inputs``."""
    leaves = {id(t) for t in inputs if t._ctx is None}
    targets = {id(t._ctx) for t in inputs if t._ctx is not None}
    run: set = set()
    for fn in reversed(order):  # inputs side first: an op's parents are decided before it
        for parent, needs in zip(fn.parents, fn.needs_grad):
            if not needs:
                continue
            ctx = parent._ctx
            key = id(parent) if ctx is None else id(ctx)
            if (ctx is None and key in leaves) or key in run or key in targets:
                run.add(id(fn))
                break
    return run, targets


def walk(outputs, seeds, inputs, retain_graph: bool, into_grad: bool) -> list:
    """The gradient of the outputs (seeded by ``seeds``) with respect to each input, computed
    through the ops between them only. ``into_grad``: add it to each input's ``.grad`` (with
    the leaves' post-accumulate hooks), as ``backward(inputs=...)``; else return it."""
    seeds = [engine._seed(out, seed) for out, seed in zip(outputs, seeds)]
    slot = {}  # id of an input (a leaf) or of its op (a non-leaf) → its index in ``inputs``
    for i, t in enumerate(inputs):
        slot.setdefault(id(t) if t._ctx is None else id(t._ctx), i)
    totals: list = [None] * len(inputs)
    grads: dict = {}  # id(op) → the gradient of its output so far
    for out, seed in zip(outputs, seeds):
        key = id(out) if out._ctx is None else id(out._ctx)
        if out._ctx is None:
            if key in slot:
                _add(totals, slot[key], seed)
        else:
            grads[key] = seed if key not in grads else grads[key] + seed
    roots = _Roots(outputs)
    order = [fn for fn in engine._depth_first_order(roots) if fn is not roots]
    run, targets = needed_ops(order, inputs)
    parts = _leaf_parts(order, run, slot)
    clock = _CLOCK[0]
    for fn in order:
        key = id(fn)
        grad = grads.pop(key, None)
        if grad is None or (key not in run and key not in targets):
            continue
        if key in run and not fn.parents:
            raise GraphError(engine._FREED_MESSAGE)
        if fn.retained is not None:  # hooks and retain_grad() of the op's output
            grad = fn.retained.see(grad)
        if key in targets:
            _add(totals, slot[key], grad)
        if key not in run:
            continue  # a requested tensor: PyTorch runs nothing below it for it
        if clock and fn.epoch != clock:
            check_saved_inputs(fn)
        for parent, grad_in, needs in zip(fn.parents, fn.backward(grad), fn.needs_grad):
            if grad_in is None or not needs:
                continue
            if grad_in.shape != parent.array.shape:
                grad_in = engine.sum_to_shape(grad_in, parent.array.shape)
            ctx = parent._ctx
            if ctx is not None:
                up = id(ctx)
                if up in run or up in targets:
                    grads[up] = grad_in if up not in grads else grads[up] + grad_in
            elif id(parent) in slot:
                _add(totals, slot[id(parent)], grad_in)
                parts[id(parent)] -= 1
                if parts[id(parent)] == 0:
                    _finish_leaf(parent, totals, slot[id(parent)], into_grad)
        if not retain_graph:
            fn.release()
    for t in inputs:  # leaves whose counted parts did not all come, or outputs themselves
        if t._ctx is None and parts.get(id(t)) != 0:
            parts[id(t)] = 0
            _finish_leaf(t, totals, slot[id(t)], into_grad)
    if into_grad:
        for t in inputs:  # a requested non-leaf: its .grad, as retain_grad() would keep it
            if t._ctx is not None and totals[slot[id(t._ctx)]] is not None:
                watch = t._ctx.retained
                if watch is None or not watch.retain or watch.ref() is not t:
                    engine._accumulate_leaf(t, totals[slot[id(t._ctx)]], None)
    return [totals[slot[id(t) if t._ctx is None else id(t._ctx)]] for t in inputs]


def _add(totals: list, index: int, grad) -> None:
    total = totals[index]
    totals[index] = np.array(grad) if total is None else total + grad


def _leaf_parts(order, run, slot) -> dict:
    """How many gradient parts each requested leaf will receive from the ops that run."""
    parts: dict = {}
    for fn in order:
        if id(fn) in run:
            for parent, needs in zip(fn.parents, fn.needs_grad):
                if needs and parent._ctx is None and id(parent) in slot:
                    parts[id(parent)] = parts.get(id(parent), 0) + 1
    return parts


def _finish_leaf(leaf, totals: list, index: int, into_grad: bool) -> None:
    """A requested leaf's whole gradient: its hooks, then ``.grad`` and post hooks (backward)."""
    total = totals[index]
    if total is None:
        return
    hooks = _hooks.hooks_of(leaf) if _hooks.LEAF_HOOKS else None
    if hooks is not None and hooks.pre:
        total = totals[index] = _hooks._run_grad_hooks(hooks.pre, total, "a leaf")
    if into_grad:
        engine._accumulate_leaf(leaf, total, None)
        if hooks is not None:
            _hooks.run_post_hooks(leaf, hooks)


def backward(root, grad=None, retain_graph: bool = False, inputs=None) -> None:
    """``Tensor.backward(inputs=...)``: accumulate into ``.grad`` of ``inputs`` only."""
    inputs = [inputs] if hasattr(inputs, "_ctx") else list(inputs)  # one tensor, or several
    check_inputs(inputs)
    walk([root], [grad], inputs, retain_graph, into_grad=True)


def check_inputs(inputs: list) -> None:
    """``backward(inputs=...)``'s checks, in PyTorch's words."""
    if not inputs:
        raise GraphError("`inputs` argument to `backward()` cannot be empty.")
    for t in inputs:
        if not t.requires_grad:
            raise GraphError("can't retain_grad on Tensor that has requires_grad=False")
