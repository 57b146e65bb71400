"""``jacrev``, ``jacfwd`` and ``hessian`` of ``torch.func`` (see func/transforms.py).

The Jacobian of an output of shape ``S_out`` with respect to an input of shape ``S_in`` has
shape ``S_out + S_in``: entry ``[i..., j...]`` is ∂out[i...]/∂in[j...]. It is built one row at
a time, one backward pass per output element.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.func.pytree import flatten, unflatten
from chainrule.func.transforms import (
    _argnums,
    _detached,
    _gradients,
    _prepare,
    _split,
    _with_aux,
)
from chainrule.ops.shape import stack
from chainrule.tensor import Tensor

__all__ = ["hessian", "jacfwd", "jacrev"]


def _jacobian_of(output: Tensor, flat: list, create_graph: bool) -> list:
    """∂output/∂leaf for each leaf of ``flat``, each of shape output.shape + leaf.shape."""
    n = output.array.size
    if n == 0 or not output.requires_grad:
        return [
            Tensor._make(
                np.zeros(output.array.shape + leaf.array.shape, dtype=leaf.array.dtype), False
            )
            for leaf in flat
        ]
    rows = output.reshape(-1)
    per_row = [_gradients(rows[k], flat, None, create_graph) for k in range(n)]
    return [
        stack([per_row[k][j] for k in range(n)]).reshape(output.array.shape + leaf.array.shape)
        for j, leaf in enumerate(flat)
    ]


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, by reverse mode.

    Returns the outputs' structure with, at each output tensor, the Jacobians in the
    structure of ``argnums`` (one tensor for one tensor argument). ``chunk_size`` is taken for
    PyTorch's signature; rows are computed one at a time."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacrev")
        with enable_grad():
            new_args, leaves, specs, outer = _prepare(args, nums, "jacrev")
            output, aux = _with_aux(func(*new_args, **kwargs), has_aux, "jacrev")
            out_leaves, out_spec = flatten(output)
            if not all(isinstance(x, Tensor) for x in out_leaves):
                raise RuntimeError(
                    "jacrev(f, ...)(*args): expected f(*args) to return a Tensor or a tuple, "
                    "list or dict of Tensors"
                )
            flat = [leaf for group in leaves for leaf in group]
            jacobians = [
                _split(_jacobian_of(out, flat, outer), leaves, specs, argnums) for out in out_leaves
            ]
        result = _detached(unflatten(jacobians, out_spec), outer)
        return (result, _detached(aux, outer)) if has_aux else result

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` (see :func:`jacrev`: the same values, computed in reverse mode,
    as chainrule has no forward-mode engine)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """The Hessian of a function with one-element output: the Jacobian of its gradient
    (PyTorch's ``jacfwd(jacrev(func))``)."""
    return jacfwd(jacrev(func, argnums), argnums)
