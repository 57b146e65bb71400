"""``cr.autograd.grad``: gradients of outputs with respect to chosen inputs, returned, not stored.

``loss.backward()`` adds into ``.grad`` of every leaf; ``grad(outputs, inputs)`` instead returns
∂outputs/∂input for just the inputs asked for and leaves every ``.grad`` as it was (PyTorch's
``torch.autograd.grad``). It runs the same backward pass, with a sink that collects the
gradients of the chosen tensors.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd import engine, graph_backward, partial
from chainrule.autograd import hooks as _hooks
from chainrule.autograd.inplace import _CLOCK, check_saved_inputs
from chainrule.errors import GraphError


class _Collect:
    """The sink of :func:`engine.backward`: keeps the gradients of the chosen tensors."""

    def __init__(self, inputs):
        # a tensor asked for twice gets one slot (its first) and both answers from it
        self.slots, self.ops = {}, {}
        for i, t in enumerate(inputs):
            self.slots.setdefault(id(t), i)
            if t._ctx is not None:
                self.ops.setdefault(id(t._ctx), i)
        self.grads = [None] * len(inputs)

    def results(self, inputs) -> list:
        return [self.grads[self.slots[id(t)]] for t in inputs]

    def _add(self, index, grad):
        total = self.grads[index]
        if total is None:  # an array from the engine may be shared: copy it; a tensor is new
            self.grads[index] = grad if hasattr(grad, "array") else np.array(grad)
        else:
            self.grads[index] = total + grad

    def op(self, fn, grad):
        index = self.ops.get(id(fn))
        if index is not None:
            self._add(index, grad)

    def leaf(self, tensor, grad):
        index = self.slots.get(id(tensor))
        if index is not None and tensor._ctx is None:
            self._add(index, grad)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
):
    """∂outputs/∂inputs as a tuple of tensors, one per input (PyTorch's ``autograd.grad``).

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: a tensor or a sequence of tensors (leaves or not) to differentiate by.
        grad_outputs: the gradient of something with respect to each output (vector-Jacobian
            product); optional for single-element outputs.
        retain_graph: keep the graph for another pass (default: ``create_graph``).
        create_graph: record the backward pass itself, so the returned gradients are part of
            the graph and can be differentiated again (Hessian-vector products, gradient
            penalties). Ops without a tensor backward raise ``NotImplementedError``.
        only_inputs: deprecated and ignored, as in PyTorch.
        allow_unused: return ``None`` for an input the outputs do not depend on, instead of
            raising.
        is_grads_batched: the first dimension of each ``grad_outputs`` entry is a batch of
            seeds; each gradient gets that dimension in front (one pass per seed here).
        materialize_grads: return zeros instead of ``None`` for such an input (implies
            ``allow_unused``).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = cr.autograd.grad((x * x).sum(), x)
        >>> g.tolist(), x.grad is None
        ([2.0, 4.0], True)
    """
    from chainrule.tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    _check_tensors(outputs, "outputs")
    keys = list(inputs) if type(inputs) is dict else None  # a dict in, a dict out (PyTorch's)
    inputs = _input_list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise GraphError(
                "autograd.grad: one of the inputs does not require grad; make it with "
                "requires_grad=True"
            )
    _check_options(only_inputs, allow_unused, materialize_grads)
    allow_unused = bool(allow_unused) or materialize_grads
    keep = bool(retain_graph) if retain_graph is not None else create_graph
    if is_grads_batched:
        from chainrule.autograd.grad_batched import batched_grad

        # (an unused input's materialized zeros are not batched: PyTorch's zeros_like(input))
        results = batched_grad(grad, outputs, inputs, grad_outputs, keep, create_graph)
        results = _results(inputs, results, allow_unused, materialize_grads, create_graph)
    elif create_graph:
        sink = _Collect(inputs)
        _graph_pass(outputs, grad_outputs, inputs, sink, keep)
        results = _results(inputs, sink.results(inputs), allow_unused, materialize_grads, True)
    else:  # only the ops between the outputs and the inputs run, in one pass (PyTorch's)
        grads = partial.walk(outputs, grad_outputs, inputs, keep, False)
        results = _results(inputs, grads, allow_unused, materialize_grads)
    return results if keys is None else dict(zip(keys, results))


def _check_options(only_inputs, allow_unused, materialize_grads) -> None:
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    if not only_inputs:
        warnings.warn(
            "only_inputs argument is deprecated and is ignored now (defaults to True). To "
            "accumulate gradient for other parts of the graph, please use autograd.backward.",
            FutureWarning,
            stacklevel=3,
        )


def _input_list(inputs) -> list:
    """``inputs`` as a list of tensors: one tensor, a sequence of them, or a dict's values."""
    from collections.abc import Mapping

    from chainrule.tensor import Tensor

    if isinstance(inputs, Tensor):
        return [inputs]
    if type(inputs) is dict:
        inputs = inputs.values()
    elif isinstance(inputs, Mapping):
        raise TypeError(
            f"`inputs` argument to `grad()` must be a dict, not {type(inputs).__name__}. "
            "Other Mapping types are not supported."
        )
    inputs = list(inputs)
    if not inputs:
        raise GraphError("`inputs` argument to `grad()` cannot be empty.")
    _check_tensors(inputs, "inputs")
    return inputs


def _check_tensors(tensors: list, what: str) -> None:
    from chainrule.tensor import Tensor

    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"autograd.grad: all {what} have to be tensors, but got {type(t).__name__}"
            )


def _results(inputs, grads, allow_unused, materialize=False, in_graph=False):
    from chainrule.tensor import Tensor

    results = []
    for t, g in zip(inputs, grads):
        if g is None and materialize:
            g = np.zeros_like(t.array)
            if in_graph:  # create_graph: a zero leaf that requires grad, as PyTorch's
                results.append(Tensor._make(g, True))
                continue
        if g is None:
            if not allow_unused:
                raise GraphError(
                    "autograd.grad: one of the inputs was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif isinstance(g, Tensor):  # create_graph: already the input's shape, in the graph
            results.append(g)
        else:
            if g.shape != t.array.shape:
                g = engine.sum_to_shape(g, t.array.shape)
            results.append(Tensor._make(g.astype(t.array.dtype, copy=False), False))
    return tuple(results)


def _graph_pass(outputs, grad_outputs, inputs, sink, keep: bool) -> None:
    """The backward pass on tensors, recorded: each op's ``backward_graph`` in reverse order.
    Without ``keep`` (``retain_graph=False``) the ops that ran are released after, as in
    PyTorch: a later pass through them (the gradients' own graph included) raises."""
    from chainrule.autograd.grad_mode import enable_grad

    with enable_grad():
        seeds = [_graph_seed(out, seed) for out, seed in zip(outputs, grad_outputs)]
        for i, out in enumerate(outputs):  # each of them, as backward() without create_graph
            if not out.requires_grad:
                raise GraphError(
                    f"element {i} of tensors does not require grad and does not have a grad_fn"
                )
        # Each output's op starts from its seed. The seeds stay in the graph (the result may be
        # differentiated by them) but are not differentiated here: Σ seed·out differentiated
        # would add ∂seed/∂input·out wherever the seed depends on an input (as PyTorch's, not).
        grads: dict = {}
        leaves: dict = {}  # id → [leaf, its total gradient]: leaf hooks see the total once
        wanted = {id(t) for t in inputs}
        for out, seed in zip(outputs, seeds):
            if out._ctx is not None:
                key = id(out._ctx)
                grads[key] = seed if key not in grads else grads[key] + seed
            elif id(out) in wanted:  # an input asked for by itself: its gradient is the seed
                entry = leaves.setdefault(id(out), [out, None])
                entry[1] = seed if entry[1] is None else entry[1] + seed
        roots = partial._Roots(outputs)
        order = [fn for fn in engine._depth_first_order(roots) if fn is not roots]
        run, targets = partial.needed_ops(order, inputs)
        for fn in order:
            grad = grads.pop(id(fn), None)
            if grad is None or (id(fn) not in run and id(fn) not in targets):
                continue
            watch = fn.retained
            if watch is not None and watch.hooks:  # hooks on the op's output, as in backward()
                grad = _hooks.run_tensor_hooks(watch.hooks, grad, "an op's output")
            sink.op(fn, grad)
            if id(fn) not in run:
                continue  # a requested tensor: nothing below it is needed for it
            if _CLOCK[0] and fn.epoch != _CLOCK[0]:  # an input written since: as backward()
                check_saved_inputs(fn, graph=True)
            for parent, grad_in, needed in zip(fn.parents, fn.backward_graph(grad), fn.needs_grad):
                if grad_in is None or not needed:
                    continue
                if parent._ctx is None and id(parent) not in wanted:
                    continue
                if grad_in.shape != parent.array.shape:
                    grad_in = engine.sum_to_shape(grad_in, parent.array.shape)
                if parent._ctx is None:
                    entry = leaves.setdefault(id(parent), [parent, None])
                    entry[1] = grad_in if entry[1] is None else entry[1] + grad_in
                else:
                    key = id(parent._ctx)
                    grads[key] = grad_in if key not in grads else grads[key] + grad_in
        for leaf, total in leaves.values():
            leaf_hooks = _hooks.hooks_of(leaf) if _hooks.LEAF_HOOKS else None
            if leaf_hooks is not None and leaf_hooks.pre:
                total = _hooks.run_tensor_hooks(leaf_hooks.pre, total, "a leaf")
            sink.leaf(leaf, total)
    if not keep:
        _release([fn for fn in order if id(fn) in run])


def _release(ops) -> None:
    """Free ops as backward() does: an op's output hooks and retain_grad() survive it."""
    for fn in ops:
        retained = fn.retained
        fn.release()
        if retained is not None and fn.saves_tensors:
            fn.retained = retained


def _graph_seed(out, seed):
    """The gradient an output starts from, as a tensor of its shape: ones for a one-element
    output without one."""
    from chainrule.creation import ones_like
    from chainrule.errors import ShapeError
    from chainrule.tensor import Tensor

    if seed is None:
        if out.array.size != 1:
            raise GraphError("grad of a non-scalar output needs grad_outputs")
        return ones_like(out)
    if not isinstance(seed, Tensor):
        seed = Tensor._make(np.asarray(seed, dtype=out.array.dtype), False)
    if seed.shape != out.shape:
        raise ShapeError(
            f"autograd.grad: grad_outputs has shape {seed.shape} for an output of shape "
            f"{out.shape}; they must match"
        )
    if seed.dtype != out.dtype:  # PyTorch casts a seed to its output's dtype (in the graph)
        seed = seed.to(out.dtype)
    return seed


graph_backward.PASSES["graph_pass"] = _graph_pass  # for backward(create_graph=True)
