"""``cr.autograd.grad``: gradients of outputs with respect to chosen inputs, returned, not stored.

``loss.backward()`` adds into ``.grad`` of every leaf; ``grad(outputs, inputs)`` instead returns
∂outputs/∂input for just the inputs asked for and leaves every ``.grad`` as it was (PyTorch's
``torch.autograd.grad``). It runs the same backward pass, with a sink that collects the
gradients of the chosen tensors.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import engine
from chainrule.errors import GraphError


class _Collect:
    """The sink of :func:`engine.backward`: keeps the gradients of the chosen tensors."""

    def __init__(self, inputs):
        self.slots = {id(t): i for i, t in enumerate(inputs)}
        self.ops = {id(t._ctx): i for i, t in enumerate(inputs) if t._ctx is not None}
        self.grads = [None] * len(inputs)

    def _add(self, index, grad):
        total = self.grads[index]
        self.grads[index] = np.array(grad) if total is None else total + grad

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
    allow_unused: bool = False,
):
    """∂outputs/∂inputs as a tuple of tensors, one per input (PyTorch's ``autograd.grad``).

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: a tensor or a sequence of tensors (leaves or not) to differentiate by.
        grad_outputs: the gradient of something with respect to each output (vector-Jacobian
            product); optional for single-element outputs.
        retain_graph: keep the graph for another pass (default: ``create_graph``).
        create_graph: gradients of gradients are not supported yet: ``True`` raises
            ``NotImplementedError``.
        allow_unused: return ``None`` for an input the outputs do not depend on, instead of
            raising.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = cr.autograd.grad((x * x).sum(), x)
        >>> g.tolist(), x.grad is None
        ([2.0, 4.0], True)
    """
    from chainrule.tensor import Tensor

    if create_graph:
        raise NotImplementedError(
            "autograd.grad(create_graph=True) (gradients of gradients, as for Hessian-vector "
            "products or gradient penalties) is not supported yet; chainrule.testing.gradcheck "
            "checks first derivatives, and finite differences of grad() give second ones"
        )
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
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
    keep = bool(retain_graph) if retain_graph is not None else False
    sink = _Collect(inputs)
    for k, (out, seed) in enumerate(zip(outputs, grad_outputs)):
        # Every output but the last keeps the graph, so the next one can walk it again.
        engine.backward(out, seed, keep or k < len(outputs) - 1, sink=sink)
    results = []
    for t, g in zip(inputs, sink.grads):
        if g is None:
            if not allow_unused:
                raise GraphError(
                    "autograd.grad: one of the inputs was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        else:
            if g.shape != t.array.shape:
                g = engine.sum_to_shape(g, t.array.shape)
            results.append(Tensor._make(g.astype(t.array.dtype, copy=False), False))
    return tuple(results)
