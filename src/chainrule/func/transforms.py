"""``grad``, ``grad_and_value`` and ``vjp``: PyTorch's ``torch.func`` transforms, built on the
reverse-mode engine (``autograd.grad``); func/jacobians.py builds ``jacrev``, ``jacfwd`` and
``hessian`` on them.

A transform takes a function and returns a function that computes derivatives of it at the
arguments it is called with. Arguments may be tensors or nested tuples, lists and dicts of
tensors (a ``params`` dict). The transforms compose (``grad(grad(f))``, ``hessian``): where an
argument already takes part in a graph (an outer transform, or ``requires_grad=True``), the
derivatives are built into that graph, so they can be differentiated again.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.autograd.grad_api import grad as _autograd_grad
from chainrule.autograd.grad_mode import enable_grad
from chainrule.func.pytree import flatten, unflatten
from chainrule.tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp"]


def _argnums(argnums, n_args: int, name: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions, checked as PyTorch checks them."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums or not all(isinstance(n, int) and not isinstance(n, bool) for n in nums):
        raise RuntimeError(f"{name}: argnums must be int or Tuple[int, ...], got: {argnums!r}")
    out = []
    for n in nums:
        if not -n_args <= n < n_args:
            raise RuntimeError(
                f"{name}: Got argnums={n}, but only {n_args} positional inputs; pass the "
                f"position of a positional argument"
            )
        out.append(n % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: argnums must be unique, got {argnums!r}")
    return tuple(out)


def _track(value, name: str):
    """A tensor to differentiate against: an alias in the graph where ``value`` already takes
    part in one (so outer derivatives pass through), else a fresh leaf on its memory."""
    if not isinstance(value, Tensor):
        raise RuntimeError(
            f"{name}: expected the differentiated arguments to be tensors (or tuples, lists and "
            f"dicts of tensors), got {type(value).__name__}; pass other values by another "
            f"position and leave them out of argnums"
        )
    if value.array.dtype.kind not in "fc":
        raise RuntimeError(
            f"{name}: only floating-point tensors can be differentiated, got {value.dtype}"
        )
    if value.requires_grad:
        return value.view_as(value), True
    return value.detach().requires_grad_(True), False


def _prepare(args: tuple, nums: tuple, name: str):
    """The arguments with tracked tensors at ``nums``, the tracked leaves per position and
    their specs, and whether any of them is already in a graph (an outer level)."""
    args = list(args)
    leaves_per_arg, specs, outer = [], [], False
    for n in nums:
        leaves, spec = flatten(args[n])
        tracked = []
        for leaf in leaves:
            new, in_graph = _track(leaf, name)
            tracked.append(new)
            outer = outer or in_graph
        args[n] = unflatten(tracked, spec)
        leaves_per_arg.append(tracked)
        specs.append(spec)
    return args, leaves_per_arg, specs, outer


def _gradients(outputs, leaves, grad_outputs, create_graph: bool) -> list:
    """∂outputs/∂leaves, zeros for a leaf the outputs do not depend on (as ``torch.func``)."""
    grads = _autograd_grad(
        outputs,
        leaves,
        grad_outputs=grad_outputs,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return [
        g if g is not None else Tensor._make(np.zeros_like(leaf.array), False)
        for g, leaf in zip(grads, leaves)
    ]


def _split(values: list, leaves_per_arg: list, specs: list, argnums):
    """Per-leaf values back into each argument's structure; one argument unwrapped where
    ``argnums`` is an int, as PyTorch returns it."""
    out, i = [], 0
    for leaves, spec in zip(leaves_per_arg, specs):
        out.append(unflatten(values[i : i + len(leaves)], spec))
        i += len(leaves)
    return out[0] if not isinstance(argnums, tuple) else tuple(out)


def _detached(tree, keep_graph: bool):
    if keep_graph:
        return tree
    leaves, spec = flatten(tree)
    return unflatten([x.detach() if isinstance(x, Tensor) else x for x in leaves], spec)


def _with_aux(output, has_aux: bool, name: str):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{name}(f)(*args): output of function f should be a tuple: (output, aux) if "
            f"has_aux is True"
        )
    return output


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the arguments at ``argnums``, and its value:
    ``grad_and_value(f)(x) == (∂f/∂x, f(x))``; with ``has_aux``, ``f`` returns ``(loss, aux)``
    and the value is that pair. ``f`` must return a tensor with one element and no dims."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad_and_value")
        with enable_grad():
            new_args, leaves, specs, outer = _prepare(args, nums, "grad_and_value")
            output, aux = _with_aux(func(*new_args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(output, Tensor):
                raise RuntimeError(
                    f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(output).__name__}"
                )
            if output.array.ndim != 0:
                raise RuntimeError(
                    f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                    f"got tensor with {output.array.ndim} dims. Maybe you wanted to use the "
                    f"vjp or jacrev APIs instead?"
                )
            flat = [leaf for group in leaves for leaf in group]
            if output.requires_grad:
                grads = _gradients(output, flat, None, create_graph=outer)
            else:  # f does not depend on the arguments at all
                grads = [Tensor._make(np.zeros_like(leaf.array), False) for leaf in flat]
        gradient = _split(grads, leaves, specs, argnums)
        value = _detached(output, outer)
        if has_aux:
            return gradient, (value, _detached(aux, outer))
        return gradient, value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the arguments at ``argnums`` (see
    :func:`grad_and_value`); with ``has_aux``, ``(gradient, aux)``."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian product
    with each primal, a tuple with one entry per primal (``(output, vjp_fn, aux)`` with
    ``has_aux``)."""
    nums = tuple(range(len(primals)))
    with enable_grad():
        new_args, leaves, specs, outer = (
            _prepare(primals, nums, "vjp") if primals else ([], [], [], False)
        )
        output, aux = _with_aux(func(*new_args), has_aux, "vjp")
    out_leaves, out_spec = flatten(output)
    if not all(isinstance(x, Tensor) for x in out_leaves):
        raise RuntimeError("vjp(f, *primals): Expected f to be a function that returns Tensors")

    def vjp_fn(cotangents):
        given, given_spec = flatten(cotangents)
        if given_spec.num_leaves != out_spec.num_leaves:
            raise RuntimeError(
                f"Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function: {out_spec.num_leaves} tensors for "
                f"{given_spec.num_leaves}"
            )
        for out, cot in zip(out_leaves, given):
            if not isinstance(cot, Tensor) or cot.array.shape != out.array.shape:
                shape = cot.array.shape if isinstance(cot, Tensor) else type(cot).__name__
                raise RuntimeError(
                    f"vjp_fn: a cotangent of shape {shape} for an output of shape "
                    f"{out.array.shape}; they must match"
                )
        flat = [leaf for group in leaves for leaf in group]
        pairs = [(o, c) for o, c in zip(out_leaves, given) if o.requires_grad]
        with enable_grad():
            if pairs and flat:
                create = outer or any(c.requires_grad for _, c in pairs)
                grads = _gradients(
                    [o for o, _ in pairs], flat, [c for _, c in pairs], create_graph=create
                )
            else:
                grads = [Tensor._make(np.zeros_like(leaf.array), False) for leaf in flat]
        return tuple(_split(grads, leaves, specs, nums)) if primals else ()

    value = _detached(output, outer)
    if has_aux:
        return value, vjp_fn, _detached(aux, outer)
    return value, vjp_fn
