"""The plumbing under ``cr.autograd.functional``: tuple handling, input preparation and the
checks whose errors (and messages) are PyTorch's.

``func`` is called with a tuple of tensors and may return one; these helpers turn a tensor or
a tuple into a tuple and back, give ``func`` fresh tensors that require grad (never the
caller's own objects), run :func:`chainrule.autograd.grad` on the outputs that are in the
graph, and raise, in ``strict`` mode, where an output does not depend on an input.
"""

from __future__ import annotations

from chainrule.autograd.grad_api import grad
from chainrule.errors import GraphError


def as_tuple(value, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """``(was it a tuple, the tensors as a tuple)``; anything but tensors is a ``TypeError``."""
    from chainrule.tensor import Tensor

    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, item in enumerate(values):
        if not isinstance(item, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but {where} has type {type(item)}."
            )
    return is_tuple, values


def untuple(result, to_unpack):
    """Undo :func:`as_tuple`: ``to_unpack`` is one flag, or (outer, inner) for nested tuples."""
    if isinstance(to_unpack, tuple):
        outer, inner = to_unpack
        if not inner:
            result = tuple(row[0] for row in result)
        if not outer:
            result = result[0]
    elif not to_unpack:
        result = result[0]
    return result


def prepare(tensors: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """New tensor objects for ``func``: in the caller's graph (a view) when ``create_graph``
    and the tensor requires grad, otherwise detached and requiring grad iff ``need_graph``.

    Always new objects, so a tensor that ``func`` captures from outside is told apart from the
    one passed in, and the caller's tensors are never changed.
    """
    prepared = []
    for t in tensors:
        if create_graph and t.requires_grad:
            prepared.append(t.view_as(t))
        else:
            prepared.append(t.detach().requires_grad_(need_graph))
    return tuple(prepared)


def finish(tensors, create_graph: bool):
    """Detach the results (nested tuples too) unless the caller asked for a graph."""
    from chainrule.tensor import Tensor

    if isinstance(tensors[0], Tensor):
        return tensors if create_graph else tuple(t.detach() for t in tensors)
    return tuple(finish(row, create_graph) for row in tensors)


def validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    """``v`` must hold one tensor of the right shape per tensor of ``other``."""
    if len(other) != len(v):
        if is_other_tuple:
            raise GraphError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise GraphError("The given v should contain a single Tensor.")
    for i, (item_v, item_other) in enumerate(zip(v, other)):
        if tuple(item_v.shape) != tuple(item_other.shape):
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise GraphError(
                f"{prefix}v has invalid size: should be {tuple(item_other.shape)} but got "
                f"{tuple(item_v.shape)}."
            )


_NOT_REQUIRING_GRAD = {
    "hessian": (
        "The hessian of the user-provided function with respect to input {i} is independent "
        "of the input. This is not allowed in strict mode. You should ensure that your "
        "function is thrice differentiable and that the hessian depends on the inputs."
    ),
    "jacobian": (
        "While computing the hessian, found that the jacobian of the user-provided function "
        "with respect to input {i} is independent of the input. This is not allowed in strict "
        "mode. You should ensure that your function is twice differentiable and that the "
        "jacobian depends on the inputs (this would be violated by a linear function for "
        "example)."
    ),
    "grad_inputs": (
        "The gradient with respect to input {i} is independent of the inputs of the "
        "user-provided function. This is not allowed in strict mode."
    ),
    "outputs": (
        "Output {i} of the user-provided function does not require gradients. The outputs "
        "must be computed in a differentiable manner from the input when running in strict "
        "mode."
    ),
}


def check_requires_grad(tensors, kind: str, strict: bool) -> None:
    """In strict mode, each of ``tensors`` must exist and be in the graph."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise GraphError(
                f"The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if not t.requires_grad:
            raise GraphError(_NOT_REQUIRING_GRAD[kind].format(i=i))


def autograd_grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph=False):
    """:func:`grad` over the outputs that are in the graph; ``None`` for unreached inputs
    (and for every input when no output is in the graph)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [
        (out, seed)
        for out, seed in zip(outputs, grad_outputs)
        if out is not None and out.requires_grad
    ]
    if not pairs:
        return (None,) * len(inputs)
    return grad(
        [out for out, _ in pairs],
        list(inputs),
        [seed for _, seed in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )


_STAGE_NONE = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
    "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
    "grad_outputs when using the double backward trick to compute forward mode gradients. "
    "This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
    "{i} in the grad_jacobian. This is not allowed in strict mode as it prevents from using "
    "the double backward trick to replace forward mode AD.",
}


def fill_in_zeros(grads, refs, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Zeros shaped like ``refs[i]`` where ``grads[i]`` is ``None``; in strict mode an error
    instead, and (with ``create_graph``) an error for a result that left the graph."""
    from chainrule.creation import zeros_like

    filled = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise GraphError(_STAGE_NONE[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise GraphError(
                f"The {what} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        filled.append(g)
    return tuple(filled)
