"""The float64 twin of a model: a deep copy the explanation runs, so the model is not touched."""

from __future__ import annotations

import copy

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.errors import GraphError, ShapeError
from chainrule.tensor import Tensor


def named_parameters(model) -> list:
    if hasattr(model, "named_parameters"):
        return [(str(n), p) for n, p in model.named_parameters()]
    if hasattr(model, "parameters"):
        return [(str(i), p) for i, p in enumerate(model.parameters())]
    raise TypeError(
        f"explain() needs a model with named_parameters() (an nn.Module, or any callable object "
        f"that lists its parameter tensors), got {type(model).__name__}"
    )


def double_copy(model):
    """A float64 deep copy of ``model`` in eval mode, without gradients."""
    twin = copy.deepcopy(model)
    if hasattr(twin, "double") and callable(twin.double):
        twin.double()
    for _, p in named_parameters(twin):
        if p.array.dtype.kind == "f" and p.array.dtype != np.float64:
            p.array = p.array.astype(np.float64)
    for _, p in named_parameters(twin):
        p.grad_array = None
    _drop_backward_hooks(twin)
    if hasattr(twin, "eval") and callable(twin.eval):
        twin.eval()  # dropout off, batch norm on its running statistics: the same numbers twice
    return twin


def _drop_backward_hooks(twin) -> None:
    """Remove the copy's module backward hooks: they wrap each hooked call in identity ops
    (``BackwardHookFunction``, local derivative 1) that would read as activations, and the
    explanation's one-hot backward passes would fire the user's hooks. The model keeps them."""
    for module in twin.modules() if hasattr(twin, "modules") else ():
        hooks = module.__dict__.get("_module_hooks")
        if hooks is not None:
            hooks.backward_pre.clear()
            hooks.backward.clear()


def _as_input(value) -> Tensor:
    data = value.array if isinstance(value, Tensor) else np.asarray(value)
    if data.dtype.kind in "fc" or data.dtype.kind == "O":
        data = np.asarray(data, dtype=np.float64)
    elif data.dtype.kind == "b":
        data = data.astype(np.float64)
    return Tensor._make(np.array(data), False)


def prepare(x, y) -> tuple:
    """Input and target as float64 tensors (integer class labels stay integer), batched."""
    x_t = _as_input(x)
    y_t = _as_input(y) if y is not None else None
    if x_t.array.ndim == 1:  # one sample given without its batch axis
        x_t = Tensor._make(x_t.array[None, :], False)
        if y_t is not None:
            y_t = Tensor._make(np.asarray(y_t.array)[None, ...], False)
    return x_t, y_t


def run(model, x, y, loss_fn) -> tuple:
    """The forward pass and the loss, with the graph recorded: ``(output, loss)``."""
    with enable_grad():
        out = model(x)
        loss = loss_fn(out, y)
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        raise ShapeError(
            f"explain() needs loss_fn(output, target) to return a one-element tensor, got "
            f"{getattr(loss, 'shape', type(loss).__name__)}; use reduction='mean' or 'sum'"
        )
    if loss._ctx is None:
        raise GraphError(
            "the loss does not depend on any parameter that requires grad; nothing to explain"
        )
    return out, loss
