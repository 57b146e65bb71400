"""``nn.Sequential``'s fast path: its Linear layers and activations run as one recorded node.

Where every module of a Sequential is an ``nn.Linear`` or one of the elementwise activations
below (``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``, ``nn.LeakyReLU``, ...) with no hook (or an
``nn.Identity``, or an ``nn.Dropout`` in evaluation mode, which return their input; an
``nn.Dropout`` in training multiplies by its mask, drawn where the module would draw it), its
forward runs their ops in one loop and records one
:class:`~chainrule.autograd.layer_chain.LayerChain` node (see there: same kernels, same bits,
the per-layer graph back as soon as anyone looks at it). Anything else (another module, a
hook, an op observer such as ``cr.compile``'s recorder or anomaly mode, inference mode, hooks
on the input or a parameter, an input the layers would convert or refuse) leaves the
Sequential to call its modules one by one, which also raises any error with the layer's own
message.
"""

from __future__ import annotations

from chainrule.autograd import hooks as _hooks
from chainrule.autograd.function import _OBSERVERS
from chainrule.autograd.grad_mode import _INFERENCE_LIVE, _GradMode
from chainrule.autograd.layer_chain import record
from chainrule.nn.activation import ELU, GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from chainrule.nn.dropout import Dropout, keep_mask
from chainrule.nn.linear import Identity, Linear
from chainrule.ops import activation as _activation_ops
from chainrule.ops import activation_smooth as _smooth_ops
from chainrule.ops.elementwise import Mul as _MulOp
from chainrule.ops.matmul import Linear as _LinearOp
from chainrule.tensor import Tensor

# module class → (its op class, the op's options), for the elementwise activations the chain runs
_ACTIVATIONS = {
    Sigmoid: lambda m: (_activation_ops.Sigmoid, None),
    Tanh: lambda m: (_activation_ops.Tanh, None),
    ReLU: lambda m: (_activation_ops.ReLU, None),
    LeakyReLU: lambda m: (_activation_ops.LeakyReLU, {"negative_slope": m.negative_slope}),
    ELU: lambda m: (_smooth_ops.ELU, {"alpha": m.alpha}),
    GELU: lambda m: (_smooth_ops.GELU if m.approximate == "none" else _smooth_ops.GELUTanh, None),
    SiLU: lambda m: (_smooth_ops.SiLU, None),
    Softplus: lambda m: (_smooth_ops.Softplus, {"beta": m.beta, "threshold": m.threshold}),
}


def _plan(modules, width: int, dtype, leaf_hooks: dict) -> list | None:
    """Per module that computes, ``(Linear op class, weight, bias)`` for a linear layer or
    ``(op class, options)`` for an activation; None where a module is of another kind, has
    hooks, or would not take the input as it is."""
    plan = []
    for module in modules:
        kind = type(module)
        # hooks, or a forward patched onto the instance (as model.summary() does), run as called
        hooks = module._module_hooks
        if hooks is not None and (hooks.pre or hooks.post or hooks.backward_pre or hooks.backward):
            return None
        if "forward" in module.__dict__:
            return None
        if kind is Identity or (kind is Dropout and (not module.training or module.p == 0.0)):
            continue  # each returns its input itself: no op, no node
        if kind is Dropout:
            # x · mask, the mask drawn in its turn (the same draws as the module's own); p = 1
            # (a product with zeros) and an in-place one first in line run as called
            if module.p == 1.0 or (not plan and module.inplace):
                return None
            plan.append((_MulOp, module))
            continue
        if kind is Linear:
            params = module._parameters
            # a weight taken out of the parameters and set as a plain tensor (AWD-LSTM's
            # weight drop) is the module's attribute now: its own forward reads it
            weight, bias = params.get("weight"), params.get("bias", False)
            if weight is None or bias is False:
                return None
            w = weight.array
            if w.ndim != 2 or w.shape[1] != width or w.dtype != dtype:
                return None
            width = w.shape[0]
            if bias is not None and bias.array.shape != (width,):
                return None
            # a parameter with hooks (post-accumulate ones: DDP's buckets) gets its gradient
            # when its own layer's backward ran, as the per-layer graph hands it over
            if leaf_hooks and (id(weight) in leaf_hooks or id(bias) in leaf_hooks):
                return None
            plan.append((_LinearOp, weight, bias))
        else:
            activation = _ACTIVATIONS.get(kind)
            # an in-place activation first in line would write over the caller's input
            if activation is None or (not plan and getattr(module, "inplace", False)):
                return None
            plan.append(activation(module))
    return plan


def run(modules, x):
    """The Sequential's output through its layers as one node, or None where the fast path
    does not apply (the caller then runs the modules one by one)."""
    if x.__class__ is not Tensor or _OBSERVERS or _INFERENCE_LIVE[0]:
        return None
    leaf_hooks = _hooks.LEAF_HOOKS
    if leaf_hooks and id(x) in leaf_hooks:
        return None
    h = x.array
    if h.ndim == 0 or h.dtype.kind != "f":
        return None
    plan = _plan(modules, h.shape[-1], h.dtype, leaf_hooks)
    if not plan:  # (no layer that computes: the modules return the input itself)
        return None
    needs = x._requires_grad
    recording = _GradMode.enabled
    steps, outputs, parents = [], [], [x]
    for item in plan:
        if item[0] is _LinearOp:
            _, weight, bias = item
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
        elif item[0] is _MulOp:  # a dropout: its mask is a constant, its gradient the mask
            module = item[1]
            op = _MulOp()
            first = -1 if needs else -2
            op.needs_grad = (needs, False)
            h = op.forward(h, keep_mask(module.generator, h.shape, module.p, h.dtype))
        else:
            kind, options = item
            op = kind()
            # -1: its input takes a gradient; -2: nothing at or below it does
            first = -1 if needs else -2
            if options is None:
                h = op.forward(h)
            else:
                op.options = options
                h = op.forward(h, **options)
        steps.append((op, first))
        outputs.append(h)
    if not (needs and recording):
        return Tensor._make(h, False)
    return record(steps, outputs, tuple(parents), h)
