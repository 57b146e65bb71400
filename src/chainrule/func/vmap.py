"""``vmap``: PyTorch's ``torch.func.vmap``, a function of one example applied to a batch.

``vmap(f)(xs)`` calls ``f`` on each slice of ``xs`` along ``in_dims`` and stacks the results
along ``out_dims``. PyTorch runs ``f`` once on batched tensors; chainrule runs it once per
example and stacks, so the values (and gradients through the stack) are the same, and the
time grows with the batch. ``randomness`` follows PyTorch: ``"error"`` (the default) refuses a
function that draws random numbers, ``"different"`` gives each example its own draws and
``"same"`` gives every example the same ones.
"""

from __future__ import annotations

import functools

from chainrule.func.pytree import broadcast, flatten, unflatten
from chainrule.ops.shape import stack
from chainrule.random import default_generator
from chainrule.tensor import Tensor

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _batch_size(leaves: list, dims: list) -> int:
    sizes = []
    for leaf, dim in zip(leaves, dims):
        if dim is None:
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"vmap: Got in_dim={dim} for an input but the input is of type "
                f"{type(leaf).__name__}. We cannot vmap over non-Tensor arguments, please use "
                f"None as the respective in_dim"
            )
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise ValueError(f"vmap: in_dims must be int or None, got {dim!r}")
        ndim = leaf.array.ndim
        if not -ndim <= dim < ndim:
            raise ValueError(
                f"vmap: Got in_dim={dim} for an input but the input is of dimension {ndim}; "
                f"the dimension must be in [{-ndim}, {ndim})"
            )
        sizes.append(leaf.array.shape[dim])
    if not sizes:
        raise ValueError(
            "vmap: at least one input must be batched: every in_dim is None or no input is a Tensor"
        )
    if len(set(sizes)) != 1:
        raise ValueError(
            f"vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    if sizes[0] == 0:
        raise ValueError("vmap: the mapped dimension has size 0; there is no example to run f on")
    return sizes[0]


def _stack_outputs(results: list, out_dims) -> object:
    first_leaves, spec = flatten(results[0])
    dims = broadcast(out_dims, results[0], "vmap: out_dims")
    per_call = [flatten(r)[0] for r in results]
    stacked = []
    for j, (leaf, dim) in enumerate(zip(first_leaves, dims)):
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"vmap: `f` must only return Tensors, got type {type(leaf).__name__}; return "
                f"a tensor (cr.tensor(value))"
            )
        if dim is None:
            stacked.append(leaf)
            continue
        rank = leaf.array.ndim + 1
        if not isinstance(dim, int) or not -rank <= dim < rank:
            raise ValueError(f"vmap: out_dims={dim!r} is out of range for an output of {rank} dims")
        stacked.append(stack([leaves[j] for leaves in per_call], dim=dim))
    return unflatten(stacked, spec)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs (see the module docstring).

    Args:
        func: a function of tensors (or tuples, lists and dicts of them).
        in_dims: per positional argument, the dimension to map over, or None (passed whole);
            one int for all of them. Keyword arguments are passed whole.
        out_dims: where the batch dimension goes in each output.
        randomness: ``"error"``, ``"different"`` or ``"same"``.
        chunk_size: PyTorch's memory knob, taken and checked; each example runs alone here.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    if not callable(func):
        raise TypeError(f"vmap: expected `func` to be callable, got {type(func).__name__}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if isinstance(in_dims, (tuple, list)) and len(in_dims) != len(args):
            raise ValueError(
                f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): in_dims is not compatible with "
                f"the structure of `inputs`: {len(in_dims)} in_dims for {len(args)} arguments"
            )
        leaves, spec = flatten(list(args))
        prefix = list(in_dims) if isinstance(in_dims, (tuple, list)) else in_dims
        dims = broadcast(prefix, list(args), "vmap: in_dims")
        size = _batch_size(leaves, dims)
        start = default_generator.state_as_dict()
        results = []
        for i in range(size):
            if randomness == "same":
                default_generator.set_state_from_dict(start)
            sliced = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
            results.append(func(*unflatten(sliced, spec), **kwargs))
            if randomness == "error" and default_generator.state_as_dict() != start:
                default_generator.set_state_from_dict(start)
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap"
                )
        return _stack_outputs(results, out_dims)

    return wrapper
