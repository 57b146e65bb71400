"""``nn.Sequential``'s fast path: its Linear layers and activations run as one recorded node.

Where every module of a Sequential is an ``nn.Linear``, ``nn.Sigmoid``, ``nn.Tanh`` or
``nn.ReLU`` with no hook, its forward runs their ops in one loop and records one
:class:`~chainrule.autograd.layer_chain.LayerChain` node (see there: same kernels, same bits,
the per-layer graph back as soon as anyone looks at it). Anything else (another module, a
hook, an op observer such as ``cr.compile``'s recorder or anomaly mode, inference mode, leaf
hooks, an input the layers would convert or refuse) leaves the Sequential to call its modules
one by one, which also raises any error with the layer's own message.
"""

from __future__ import annotations

from chainrule.autograd import hooks as _hooks
from chainrule.autograd.function import _OBSERVERS
from chainrule.autograd.grad_mode import _INFERENCE_LIVE, _GradMode
from chainrule.autograd.layer_chain import record
from chainrule.nn.activation import ReLU, Sigmoid, Tanh
from chainrule.nn.linear import Linear
from chainrule.ops import activation as _activation_ops
from chainrule.ops.matmul import Linear as _LinearOp
from chainrule.tensor import Tensor

# module class → its op class, for the elementwise activations the chain runs
_ACTIVATIONS = {
    Sigmoid: _activation_ops.Sigmoid,
    Tanh: _activation_ops.Tanh,
    ReLU: _activation_ops.ReLU,
}


def _plan(modules, width: int, dtype) -> list | None:
    """Per module, ``(weight, bias)`` of a linear layer or an activation's op class; None
    where a module is of another kind, has hooks, or would not take the input as it is."""
    plan = []
    for module in modules:
        kind = type(module)
        # hooks, or a forward patched onto the instance (as model.summary() does), run as called
        hooks = module._module_hooks
        if hooks is not None and (hooks.pre or hooks.post or hooks.backward_pre or hooks.backward):
            return None
        if "forward" in module.__dict__:
            return None
        if kind is Linear:
            params = module._parameters
            weight, bias = params["weight"], params["bias"]
            if weight is None:
                return None
            w = weight.array
            if w.ndim != 2 or w.shape[1] != width or w.dtype != dtype:
                return None
            width = w.shape[0]
            if bias is not None and bias.array.shape != (width,):
                return None
            plan.append((weight, bias))
        else:
            op = _ACTIVATIONS.get(kind)
            # an in-place ReLU first in line would write over the caller's input
            if op is None or (not plan and kind is ReLU and module.inplace):
                return None
            plan.append(op)
    return plan


def run(modules, x):
    """The Sequential's output through its layers as one node, or None where the fast path
    does not apply (the caller then runs the modules one by one)."""
    if x.__class__ is not Tensor or _OBSERVERS or _INFERENCE_LIVE[0] or _hooks.LEAF_HOOKS:
        return None
    h = x.array
    if h.ndim == 0 or h.dtype.kind != "f":
        return None
    plan = _plan(modules, h.shape[-1], h.dtype)
    if plan is None:
        return None
    needs = x._requires_grad
    recording = _GradMode.enabled
    steps, outputs, parents = [], [], [x]
    for item in plan:
        if item.__class__ is tuple:
            weight, bias = item
            op = _LinearOp()
            first = len(parents)
            if bias is None:
                op.needs_grad = (needs, weight._requires_grad)
                h = op.forward(h, weight.array)
                parents.append(weight)
            else:
                op.needs_grad = (needs, weight._requires_grad, bias._requires_grad)
                h = op.forward(h, weight.array, bias.array)
                parents.append(weight)
                parents.append(bias)
            needs = needs or True in op.needs_grad
        else:
            op = item()
            # -1: its input takes a gradient; -2: nothing at or below it does
            first = -1 if needs else -2
            h = op.forward(h)
        steps.append((op, first))
        outputs.append(h)
    if not (needs and recording):
        return Tensor._make(h, False)
    return record(steps, outputs, tuple(parents), h)
