"""PyTorch's ``out=`` argument on the functions tutorials call with it.

``torch.matmul(a, b, out=y)`` computes the result and writes it into ``y`` (resized when its
shape differs, as PyTorch does), returning ``y``. As in PyTorch, ``out=`` does not take part in
autograd: a result that requires grad raises, and a result that cannot be cast to ``y``'s
dtype (a float into an integer tensor) raises.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from chainrule.errors import GraphError

# The top-level functions that accept out= (the ones "Tensors" tutorials and answers use).
NAMES = (
    "add", "sub", "mul", "div", "matmul", "mm", "bmm", "pow", "neg", "abs", "exp", "log",
    "sqrt", "tanh", "sigmoid", "clamp", "maximum", "minimum", "cat", "stack", "sum", "mean",
)  # fmt: skip


def write_out(out, result, name: str):
    """Write ``result`` into the tensor ``out`` in place and return ``out``."""
    from chainrule.autograd.grad_mode import is_grad_enabled
    from chainrule.autograd.inplace import bump
    from chainrule.tensor import Tensor

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): out= must be a Tensor, got {type(out).__name__}")
    if result.requires_grad or (out.requires_grad and is_grad_enabled()):
        raise GraphError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad. Write "
            f"y = torch.{name}(...) instead (or call it under torch.no_grad())"
        )
    src, dst = result.array, out.array
    if (src.dtype.kind == "f" and dst.dtype.kind in "iub") or (
        src.dtype.kind in "iu" and dst.dtype.kind == "b"
    ):
        raise GraphError(
            f"{name}(): result type {src.dtype} can't be cast to the desired output type "
            f"{dst.dtype} of out="
        )
    if src.shape == dst.shape:
        np.copyto(dst, src, casting="unsafe")
        bump(out)
        return out
    if dst.size:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{dst.shape}, which does not match the required output shape {src.shape}.",
            UserWarning,
            stacklevel=3,
        )
    out.array = src.astype(dst.dtype)  # a new buffer, as PyTorch's resize of out
    bump(out, memory=False)  # nothing saved lives in the new buffer
    return out


def with_out(fn):
    """``fn`` with PyTorch's keyword ``out=``; without it, ``fn`` exactly."""

    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        return result if out is None else write_out(out, result, fn.__name__)

    return call


def install(namespace: dict) -> None:
    """Replace each function of :data:`NAMES` already in ``namespace`` (chainrule's, at
    import) by its out= form; the lazily loaded ones are wrapped when first looked up."""
    for name in NAMES:
        if name in namespace:
            namespace[name] = with_out(namespace[name])
