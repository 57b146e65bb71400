"""Hooks on a graph node, as PyTorch's ``grad_fn.register_prehook`` and ``register_hook``.

* ``grad_fn.register_prehook(fn)``: ``fn(grad_outputs)`` runs before the node's backward,
  after the hooks of its output tensor; returning a tuple replaces ``grad_outputs``.
* ``grad_fn.register_hook(fn)``: ``fn(grad_inputs, grad_outputs)`` runs after it, with the
  gradients it computed for its inputs (``None`` for an input that needs none); returning a
  tuple replaces ``grad_inputs``.

Both take and give tuples of tensors, one per output (one: a chainrule op has one output) and
one per input of the op (chainrule's inputs: a number in ``x * 3`` is an option of the op, not
an input as PyTorch's wrapped scalar). The engine is not involved: the first hook gives the
node its own ``backward`` (and ``backward_graph``), which runs the hooks around the class's,
so ops without hooks pay nothing. Under ``create_graph=True`` the hooks see the gradients as
tensors in the graph, and what they return is differentiated again.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from chainrule.autograd import hooks as _hooks
from chainrule.autograd.engine import sum_to_shape
from chainrule.autograd.hooks import RemovableHandle, _add
from chainrule.errors import GraphError


def register(node, hook, pre: bool) -> RemovableHandle:
    """Add ``hook`` to ``node``'s pre-hooks (``pre``) or hooks; the handle removes it."""
    table = node.__dict__.get("_node_hooks")
    if table is None:
        table = node._node_hooks = ({}, {})
        node.backward = partial(_hooked, node, False)
        node.backward_graph = partial(_hooked, node, True)
        if type(node).backward_writes_over_grad:  # the engine's in-place route: hooked too
            node.backward_in_place = node.backward
    return _add(table[0 if pre else 1], hook)


def _hooked(node, graph: bool, grad):
    """The node's backward with its hooks around it (``graph``: its backward_graph)."""
    pre, post = node._node_hooks
    grads_out = (grad if graph else _hooks.Tensor._make(grad, False),)
    for hook in list(pre.values()):
        grads_out = _replaced(hook, hook(grads_out), grads_out)
    given = grads_out[0]
    if given is None:  # PyTorch's undefined gradient: nothing flows on
        return tuple(None for _ in node.parents)
    kind = type(node)
    if graph:
        grads_in = kind.backward_graph(node, given)
    else:
        grads_in = kind.backward(node, np.asarray(given.array, dtype=grad.dtype))
    if not post:
        return grads_in
    shown = tuple(
        _shown(g, parent, need, graph)
        for g, parent, need in zip(grads_in, node.parents, node.needs_grad)
    )
    for hook in list(post.values()):
        shown = _replaced(hook, hook(shown, grads_out), shown)
    return tuple(g if g is None or graph else g.array for g in shown)


def _shown(grad, parent, need: bool, graph: bool):
    """A gradient as a post-hook sees it: in its input's shape, ``None`` where not needed."""
    if grad is None or not need:
        return None
    if graph:
        return sum_to_shape(grad, tuple(parent.shape))
    return _hooks.Tensor._make(sum_to_shape(np.asarray(grad), parent.array.shape), False)


def _replaced(hook, result, current: tuple) -> tuple:
    """``current``, or the tuple a hook returned in its place, checked as PyTorch checks it."""
    if result is None:
        return current
    name = getattr(hook, "__name__", type(hook).__name__)
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"expected tuple, but hook returned '{type(result).__name__}'")
    if len(result) != len(current):
        raise GraphError(
            f"hook '{name}' has returned an incorrect number of values (got {len(result)}, "
            f"but expected {len(current)}): return one gradient per place, None where none"
        )
    out = []
    for new, old in zip(result, current):
        if new is not None and old is None:
            raise GraphError(
                f"hook '{name}': can't replace a None gradient with a non-None value (that "
                f"input needs no gradient)"
            )
        if new is not None and not isinstance(new, _hooks.Tensor):
            new = _hooks.Tensor._make(np.asarray(new, dtype=old.dtype), False)
        if new is not None and new.shape != old.shape:
            raise GraphError(
                f"hook '{name}' returned a gradient of shape {tuple(new.shape)} for one of "
                f"shape {tuple(old.shape)}; return it in the same shape"
            )
        out.append(new)
    return tuple(out)
