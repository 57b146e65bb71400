"""``loss.backward(create_graph=True)``: the leaves' ``.grad`` become tensors in the graph.

PyTorch users write a gradient penalty or a second-order step this way::

    loss.backward(create_graph=True)
    penalty = sum((p.grad ** 2).sum() for p in model.parameters())
    penalty.backward()          # adds ∂penalty/∂p into p.grad

The pass is the recorded one of ``cr.autograd.grad(..., create_graph=True)`` (each op's
``backward_graph``, in :func:`chainrule.autograd.grad_api._graph_pass`); this module is its
sink: instead of returning the gradients it adds them to ``.grad`` as PyTorch's AccumulateGrad
does in grad mode:

- a leaf without a gradient gets a copy of it, in the graph when the gradient depends on a
  tensor that requires grad (PyTorch's ``CopyBackwards``), a plain tensor when it does not;
- a leaf with a gradient gets ``old + new``, out of place (so a graph that read the old
  gradient keeps its values);
- ``retain_grad()`` outputs and the requested non-leaf ``inputs`` get theirs the same way, and
  the leaves' post-accumulate-grad hooks run after.

Once a gradient in the graph has been stored, a later plain ``backward()`` that accumulates
into it adds out of place too (``engine._accumulate_leaf`` checks ``GRAPH_GRADS``), for the
same reason; PyTorch adds in place there, and a graph that read the old gradient then refuses
to run ("modified by an inplace operation"), where chainrule's runs on the values it read. The
helpers that write ``.grad`` are in ``grad_face``. The graph is kept (``retain_graph`` defaults
to ``create_graph``), as in PyTorch.
"""

from __future__ import annotations

from chainrule.autograd import compile_hooks
from chainrule.autograd import hooks as _hooks
from chainrule.autograd.grad_face import GRAPH_GRADS, add_to_grad
from chainrule.errors import GraphError

# The recorded pass (grad_api._graph_pass) and the leaves below some outputs
# (backward_api._leaves_below), registered by those modules when they load: they import this
# one, and importing them from here would close a circle through the engine and the tensor.
PASSES: dict = {}


def backward(outputs, seeds, inputs, retain_graph) -> None:
    """The recorded pass from ``outputs`` (seeded by ``seeds``) into the ``.grad`` of
    ``inputs`` (default: every leaf that requires grad below the outputs)."""
    if compile_hooks._RECORDER[0] is not None:
        raise GraphError(
            "cr.compile: loss.backward(create_graph=True) inside a compiled function; cr.compile "
            "runs the backward pass itself and does not compile second derivatives. Run this "
            "step uncompiled (a gradient penalty trains eagerly)."
        )
    if inputs is None:
        inputs = PASSES["leaves_below"](outputs)
    keep = True if retain_graph is None else bool(retain_graph)
    GRAPH_GRADS[0] = True
    PASSES["graph_pass"](outputs, seeds, inputs, _IntoGrad(inputs), keep)


class _IntoGrad:
    """The sink of ``_graph_pass``: each gradient added to its tensor's ``.grad``."""

    def __init__(self, inputs):
        self.targets = {id(t._ctx): t for t in inputs if t._ctx is not None}

    def op(self, fn, grad) -> None:
        target = self.targets.get(id(fn))
        if target is not None:
            add_to_grad(target, grad)
        watch = fn.retained
        if watch is not None and watch.retain:
            kept = watch.ref()
            if kept is not None and kept is not target:
                add_to_grad(kept, grad)

    def leaf(self, tensor, grad) -> None:
        add_to_grad(tensor, grad)
        hooks = _hooks.hooks_of(tensor) if _hooks.LEAF_HOOKS else None
        if hooks is not None and hooks.post:
            _hooks.run_post_hooks(tensor, hooks)
