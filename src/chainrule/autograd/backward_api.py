"""``cr.autograd.backward``: PyTorch's ``torch.autograd.backward(tensors, grad_tensors, ...)``.

``loss.backward()`` is this for one tensor. With several tensors, PyTorch runs one backward
pass seeded by all of them, so ops they share run once (and a graph freed by the first would
not stop the second); the leaves' ``.grad`` get the sum. That pass is the one
``backward(inputs=...)`` runs (:mod:`chainrule.autograd.partial`), over every leaf that
requires grad below the tensors.
"""

from __future__ import annotations

import warnings

from chainrule.autograd import engine, graph_backward, partial
from chainrule.errors import GraphError


def backward(
    tensors,
    grad_tensors=None,
    retain_graph=None,
    create_graph: bool = False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Add the gradients of ``tensors`` (seeded by ``grad_tensors``) into the leaves' ``.grad``.

    Args:
        tensors: a tensor or a sequence of tensors to differentiate.
        grad_tensors: the gradient of something with respect to each tensor (``None`` for a
            one-element tensor): a tensor, or a sequence with one entry per tensor.
        retain_graph: keep the graph for another pass (default: ``create_graph``).
        create_graph: record the backward pass too: each ``.grad`` becomes a tensor in the
            graph (see ``Tensor.backward``).
        grad_variables: PyTorch's old name of ``grad_tensors``.
        inputs: only these tensors get ``.grad`` (and only ops leading to them run).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> cr.autograd.backward([(x * x).sum(), (3 * x).sum()])
        >>> x.grad.tolist()
        [5.0, 7.0]
    """
    from chainrule.tensor import Tensor

    if grad_variables is not None:
        warnings.warn(
            "`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, 2
        )
        if grad_tensors is not None:
            raise TypeError("pass grad_tensors or its old name grad_variables, not both")
        grad_tensors = grad_variables
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    else:
        grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(
            f"grad_tensors has {len(grad_tensors)} entries for {len(tensors)} tensors; give one "
            f"per tensor (None for a one-element tensor)"
        )
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise GraphError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
    if create_graph:  # .grad becomes a tensor in the graph (autograd/graph_backward.py)
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            partial.check_inputs(inputs)
        graph_backward.backward(tensors, grad_tensors, inputs, retain_graph)
        return
    keep = bool(retain_graph)
    if inputs is not None:
        if isinstance(inputs, Tensor):
            inputs = [inputs]
        partial.check_inputs(inputs)
        partial.walk(tensors, grad_tensors, inputs, keep, into_grad=True)
    elif len(tensors) == 1:
        engine.backward(tensors[0], grad_tensors[0], keep)
    elif tensors:
        partial.walk(tensors, grad_tensors, _leaves_below(tensors), keep, into_grad=True)


def _leaves_below(tensors) -> list:
    """Every leaf that requires grad and that a gradient from ``tensors`` reaches, in the
    engine's order."""
    leaves, seen = [], set()
    roots = partial._Roots(tensors)
    candidates = [t for t in tensors if t._ctx is None]
    for fn in engine._depth_first_order(roots):
        if fn is not roots:
            candidates.extend(p for p, needs in zip(fn.parents, fn.needs_grad) if needs)
    for t in candidates:
        if t._ctx is None and t.requires_grad and id(t) not in seen:
            seen.add(id(t))
            leaves.append(t)
    return leaves


graph_backward.PASSES["leaves_below"] = _leaves_below  # for backward(create_graph=True)
