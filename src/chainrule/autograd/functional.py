"""``cr.autograd.functional``: Jacobians, Hessians and their products with vectors, as functions
of a function (PyTorch's ``torch.autograd.functional``).

Each takes ``func`` and the point ``inputs`` (a tensor or a tuple of tensors; ``func`` is called
as ``func(*inputs)`` and returns a tensor or a tuple of tensors). All of them are built on
:func:`chainrule.autograd.grad`, reverse mode only: a Jacobian is one backward pass per output
element (``strategy="forward-mode"``: one ``jvp`` per input element), ``jvp`` and ``hvp`` use
the double-backward trick (the backward pass is linear in its seed, so differentiating it by
the seed runs it forwards), exactly as PyTorch's own ``jvp`` and ``hvp`` do. The caller's
tensors are never changed: ``func`` sees fresh tensors that require grad. With
``create_graph=True`` the results stay in the graph (differentiable again); otherwise they are
detached.
"""

from __future__ import annotations

from chainrule.autograd.functional_checks import (
    as_tuple,
    autograd_grad,
    check_requires_grad,
    fill_in_zeros,
    finish,
    prepare,
    untuple,
    validate_v,
)
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled
from chainrule.errors import GraphError

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _prepare_v(v, others: tuple, is_others_tuple: bool, fn_name: str, create_graph: bool):
    """``v`` as a tuple shaped like ``others``; ``None`` only where ``others`` is one scalar."""
    if v is None:
        if len(others) != 1 or others[0].numel() != 1:
            what = (
                "user-provided function returns a single Tensor"
                if fn_name == "vjp"
                else "input to the user-provided function is a single Tensor"
            )
            raise GraphError(f"The vector v can only be None if the {what} with a single element.")
        return None
    _, v = as_tuple(v, "v", fn_name)
    v = prepare(v, create_graph, need_graph=False)
    validate_v(v, others, is_others_tuple)
    return v


def _call(func, inputs: tuple, fn_name: str, strict: bool):
    """``func(*inputs)`` as a tuple of tensors, and whether it returned a tuple."""
    is_tuple, outputs = as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    check_requires_grad(outputs, "outputs", strict)
    return is_tuple, outputs


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``func(inputs)`` and the vector-Jacobian product ``vᵀ·J`` at ``inputs``.

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a tensor or a tuple.
        inputs: a tensor or a tuple of tensors.
        v: shaped like ``func``'s output (a tuple for a tuple); optional for one scalar output.
        create_graph: keep the output and the product in the graph, to differentiate again.
        strict: raise where an input does not reach any output (else its product is zeros).

    Returns:
        ``(func_output, vjp)``; ``vjp`` is shaped like ``inputs``.

    Example:
        >>> import chainrule as cr
        >>> out, g = cr.autograd.functional.vjp(lambda x: x * x, cr.tensor([1.0, 2.0]),
        ...                                     cr.tensor([1.0, 1.0]))
        >>> g.tolist()
        [2.0, 4.0]
    """
    with enable_grad():
        is_inputs_tuple, inputs = as_tuple(inputs, "inputs", "vjp")
        inputs = prepare(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, "vjp", create_graph)
    grads = autograd_grad(outputs, inputs, v, create_graph=create_graph)
    result = fill_in_zeros(grads, inputs, strict, create_graph, "back")
    return (
        untuple(finish(outputs, create_graph), is_outputs_tuple),
        untuple(finish(result, create_graph), is_inputs_tuple),
    )


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``func(inputs)`` and the Jacobian-vector product ``J·v`` at ``inputs``.

    Computed by the double-backward trick: ``u ↦ Jᵀu`` is linear, so its own vector-Jacobian
    product with ``v`` is ``J·v`` (two reverse passes, no forward mode).

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a tensor or a tuple.
        inputs: a tensor or a tuple of tensors.
        v: shaped like ``inputs``; optional for one single-element input.
        create_graph: keep the output and the product in the graph, to differentiate again.
        strict: raise where an output does not depend on the inputs (else zeros).

    Returns:
        ``(func_output, jvp)``; ``jvp`` is shaped like ``func``'s output.

    Example:
        >>> import chainrule as cr
        >>> out, jv = cr.autograd.functional.jvp(lambda x: x * x, cr.tensor([1.0, 2.0]),
        ...                                      cr.tensor([1.0, 0.0]))
        >>> jv.tolist()
        [2.0, 0.0]
    """
    from chainrule.creation import zeros_like

    with enable_grad():
        is_inputs_tuple, inputs = as_tuple(inputs, "inputs", "jvp")
        inputs = prepare(inputs, create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "jvp", create_graph)
        is_outputs_tuple, outputs = _call(func, inputs, "jvp", strict)
        # the backward pass is linear in its seed: any finite value does, zeros are safe
        seeds = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = autograd_grad(outputs, inputs, seeds, create_graph=True)
        check_requires_grad(grad_inputs, "grad_inputs", strict)
        grads = autograd_grad(grad_inputs, seeds, v, create_graph=create_graph)
    result = fill_in_zeros(grads, outputs, strict, create_graph, "back_trick")
    return (
        untuple(finish(outputs, create_graph), is_outputs_tuple),
        untuple(finish(result, create_graph), is_outputs_tuple),
    )


def _jacobian_rows(out, index: int, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """∂out/∂input for each input, shaped ``out.shape + input.shape``: one backward pass per
    element of ``out``, seeded with that element's one-hot vector."""
    import numpy as np

    from chainrule.creation import zeros_like
    from chainrule.ops.shape import stack
    from chainrule.tensor import Tensor

    rows: tuple = tuple([] for _ in inputs)
    for j in range(out.numel()):
        seed = np.zeros(out.shape, dtype=out.array.dtype)
        seed.reshape(-1)[j] = 1
        grads = autograd_grad((out,), inputs, (Tensor._make(seed, False),), create_graph)
        for k, (row, g, inp) in enumerate(zip(rows, grads, inputs)):
            if g is None:
                if strict:
                    raise GraphError(
                        f"Output {index} of the user-provided function is independent of "
                        f"input {k}. This is not allowed in strict mode."
                    )
                g = zeros_like(inp)
            elif strict and create_graph and not g.requires_grad:
                raise GraphError(
                    f"The jacobian of the user-provided function is independent of input {k}. "
                    "This is not allowed in strict mode when create_graph=True."
                )
            row.append(g)
    if out.numel() == 0:  # PyTorch stacks an empty list of rows here and raises too
        raise GraphError(
            f"jacobian: output {index} of the user-provided function has no elements "
            "(PyTorch raises: stack expects a non-empty TensorList)"
        )
    return tuple(stack(row, 0).reshape(*out.shape, *inp.shape) for row, inp in zip(rows, inputs))


def _check_strategy(strategy: str, create_graph: bool, strict: bool, vectorize: bool) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "reverse-mode":
        return
    if create_graph:
        raise NotImplementedError(
            "torch.autograd.functional.jacobian: `create_graph=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`create_graph=False` or `strategy="reverse-mode"`.'
        )
    if strict:
        raise GraphError(
            "torch.autograd.functional.jacobian: `strict=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`strict=False` or `strategy="reverse-mode"`.'
        )
    if not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
            "implemented for `vectorize=True`."
        )


def _jacobian_columns(outputs: tuple, inputs: tuple, create_graph: bool) -> tuple:
    """``strategy="forward-mode"``: the Jacobian column by column, each column ``J·e`` for a
    one-hot ``e`` over the inputs' elements, by the double-backward trick (as :func:`jvp`; the
    backward pass is linear in its seed, so it is exact). As in PyTorch, each output's columns
    are stacked once and split by input, shaped ``out.shape + input.shape``."""
    import numpy as np

    from chainrule.creation import zeros, zeros_like
    from chainrule.ops.shape import stack
    from chainrule.tensor import Tensor

    seeds = tuple(zeros_like(out, requires_grad=True) for out in outputs)  # any value does
    grad_inputs = autograd_grad(outputs, inputs, seeds, create_graph=True)
    columns: list = [[] for _ in outputs]
    for inp, grad_input in zip(inputs, grad_inputs):
        for j in range(inp.numel()):
            products = (None,) * len(outputs)
            if grad_input is not None:
                tangent = np.zeros(inp.shape, dtype=grad_input.array.dtype)
                tangent.reshape(-1)[j] = 1
                one_hot = (Tensor._make(tangent, False),)
                products = autograd_grad((grad_input,), seeds, one_hot, create_graph)
            for out, column, product in zip(outputs, columns, products):
                column.append(zeros_like(out) if product is None else product)
    result = []
    for out, column in zip(outputs, columns):
        if not column:  # the inputs have no elements
            result.append(tuple(zeros((*out.shape, *inp.shape), dtype=out.dtype) for inp in inputs))
            continue
        full, start, blocks = stack(column, -1), 0, []
        for inp in inputs:
            stop = start + inp.numel()
            blocks.append(full[..., start:stop].reshape(*out.shape, *inp.shape))
            start = stop
        result.append(tuple(blocks))
    return tuple(result)


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs``.

    For one input and one output the result has shape ``output.shape + input.shape``; a tuple
    of inputs gives a tuple per output, a tuple of outputs a tuple over outputs, so
    ``result[i][j]`` is ∂output_i/∂input_j.

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a tensor or a tuple.
        inputs: a tensor or a tuple of tensors.
        create_graph: keep the Jacobian in the graph, to differentiate again.
        strict: raise where an output does not depend on an input (else zeros).
        vectorize: accepted for PyTorch's sake; the rows are computed one by one either way,
            with the same result (and, as in PyTorch, not together with ``strict``).
        strategy: ``"reverse-mode"`` (one backward pass per output element) or
            ``"forward-mode"`` (one Jacobian-vector product per input element, by the
            double-backward trick; needs ``vectorize=True``, as in PyTorch). Same values.

    Example:
        >>> import chainrule as cr
        >>> cr.autograd.functional.jacobian(lambda x: x * x, cr.tensor([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    _check_strategy(strategy, create_graph, strict, vectorize)
    is_inputs_tuple, inputs = as_tuple(inputs, "inputs", "jacobian")
    if strategy == "forward-mode":
        # forward AD detaches nothing: where the caller's inputs require grad, PyTorch's
        # forward-mode Jacobian stays in their graph, as with create_graph=True
        create_graph = is_grad_enabled() and any(t.requires_grad for t in inputs)
    with enable_grad():
        inputs = prepare(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian", strict)
        if vectorize and strict:
            raise GraphError(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or `vectorize=False`."
            )
        if strategy == "forward-mode":
            result = _jacobian_columns(outputs, inputs, create_graph)
        else:
            result = tuple(
                _jacobian_rows(out, i, inputs, create_graph, strict)
                for i, out in enumerate(outputs)
            )
    result = finish(result, create_graph)
    if strategy == "forward-mode":  # PyTorch's forward mode nests lists, not tuples
        result = [list(row) for row in result]
    return untuple(result, (is_outputs_tuple, is_inputs_tuple))


def _single_scalar(outputs: tuple, is_tuple: bool, fn_name: str) -> None:
    if is_tuple:
        raise GraphError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise GraphError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of the scalar function ``func`` at ``inputs``: the Jacobian of its gradient.

    For one input the result has shape ``input.shape + input.shape``; for a tuple of inputs
    it is a tuple of tuples, ``result[i][j]`` = ∂²func/∂input_i∂input_j.

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a one-element tensor.
        inputs: a tensor or a tuple of tensors.
        create_graph: keep the Hessian in the graph, to differentiate again.
        strict: raise where the gradient does not depend on an input (a linear ``func``).
        vectorize: accepted for PyTorch's sake (same result).
        outer_jacobian_strategy: ``"reverse-mode"`` or ``"forward-mode"`` (with
            ``vectorize=True``), as :func:`jacobian`'s ``strategy``; same values.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0])
        >>> cr.autograd.functional.hessian(lambda x: (x**3).sum(), x).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    is_inputs_tuple, inputs = as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*args):
        is_tuple, outputs = _call(func, args, "hessian", strict)
        _single_scalar(outputs, is_tuple, "hessian")
        return outputs[0].squeeze()

    def gradient(*args):
        jac = jacobian(scalar_func, args, create_graph=True)
        check_requires_grad(jac, "jacobian", strict)
        return jac

    result = jacobian(
        gradient,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return untuple(result, (is_inputs_tuple, is_inputs_tuple))


def _gradient(func, inputs, v, fn_name: str, create_graph: bool, strict: bool):
    """The shared start of ``vhp``/``hvp``: prepared inputs and ``v``, the scalar output and
    its gradient, in the graph."""
    is_inputs_tuple, inputs = as_tuple(inputs, "inputs", fn_name)
    inputs = prepare(inputs, create_graph, need_graph=True)
    v = _prepare_v(v, inputs, is_inputs_tuple, fn_name, create_graph)
    is_outputs_tuple, outputs = _call(func, inputs, fn_name, strict)
    _single_scalar(outputs, is_outputs_tuple, fn_name)
    jac = autograd_grad(outputs, inputs, create_graph=True)
    check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``func(inputs)`` and the vector-Hessian product ``vᵀ·H`` of the scalar ``func``.

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a one-element tensor.
        inputs: a tensor or a tuple of tensors.
        v: shaped like ``inputs``; optional for one single-element input.
        create_graph: keep the output and the product in the graph, to differentiate again.
        strict: raise where the gradient does not depend on an input (else zeros).

    Returns:
        ``(func_output, vhp)``; ``vhp`` is shaped like ``inputs``.

    Example:
        >>> import chainrule as cr
        >>> _, p = cr.autograd.functional.vhp(lambda x: (x**3).sum(), cr.tensor([1.0, 2.0]),
        ...                                   cr.tensor([1.0, 1.0]))
        >>> p.tolist()
        [6.0, 12.0]
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _gradient(
            func, inputs, v, "vhp", create_graph, strict
        )
    grads = autograd_grad(jac, inputs, v, create_graph=create_graph)
    result = fill_in_zeros(grads, inputs, strict, create_graph, "double_back")
    return (
        untuple(finish(outputs, create_graph), is_outputs_tuple),
        untuple(finish(result, create_graph), is_inputs_tuple),
    )


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``func(inputs)`` and the Hessian-vector product ``H·v`` of the scalar ``func``.

    The Hessian is symmetric for twice continuously differentiable functions, so this equals
    :func:`vhp`; it is computed, as in PyTorch, by the double-backward trick.

    Args:
        func: takes the tensors of ``inputs`` as arguments, returns a one-element tensor.
        inputs: a tensor or a tuple of tensors.
        v: shaped like ``inputs``; optional for one single-element input.
        create_graph: keep the output and the product in the graph, to differentiate again.
        strict: raise where the gradient does not depend on an input (else zeros).

    Returns:
        ``(func_output, hvp)``; ``hvp`` is shaped like ``inputs``.

    Example:
        >>> import chainrule as cr
        >>> _, p = cr.autograd.functional.hvp(lambda x: (x**3).sum(), cr.tensor([1.0, 2.0]),
        ...                                   cr.tensor([1.0, 1.0]))
        >>> p.tolist()
        [6.0, 12.0]
    """
    from chainrule.creation import zeros_like

    with enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _gradient(
            func, inputs, v, "hvp", create_graph, strict
        )
        seeds = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = autograd_grad(jac, inputs, seeds, create_graph=True)
        check_requires_grad(jac, "hessian", strict)
        grads = autograd_grad(double_back, seeds, v, create_graph=create_graph)
    result = fill_in_zeros(grads, inputs, strict, create_graph, "double_back_trick")
    return (
        untuple(finish(outputs, create_graph), is_outputs_tuple),
        untuple(finish(result, create_graph), is_inputs_tuple),
    )
