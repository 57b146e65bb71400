"""Numbers of section 4: one step of the real optimizer (``chainrule.optim.SGD`` with the
context's learning rate, or a copy of the user's ``optimizer=`` with its state) on a float64
twin of the model, and the loss after it.

The explained graph itself is never stepped: its saved values must stay those of the forward pass
that the other sections describe. The step runs on a fresh twin (or, for a graph without a model,
on copies of its leaves) given the gradients the explanation computed.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.autograd.inplace import steps_unseen
from chainrule.explain.chain import detect_layers
from chainrule.explain.datamodel import ParameterUpdate, Update
from chainrule.explain.graph import Graph
from chainrule.explain.numbers.twin import named_parameters
from chainrule.optim import SGD
from chainrule.tensor import Tensor


def update(scene, ctx) -> Update:
    grads = {
        id(p): None if p.grad_array is None else np.asarray(p.grad_array, dtype=np.float64)
        for p in scene.params
    }
    outputs = []  # the model's output after the step, when it is re-run
    if ctx.update_order == "sequential":
        new_values, after = _sequential(scene, ctx, grads, outputs)
    else:
        new_values, after = _simultaneous(scene, ctx, grads, outputs)
    rows = [
        ParameterUpdate(
            name=scene.naming.tensor(p),
            old=np.asarray(p.array).tolist(),
            grad=grads[id(p)].tolist(),
            new=new_values[id(p)].tolist(),
        )
        for p in scene.params
        if p.requires_grad
    ]
    before = float(scene.loss.array.item())
    predicted = None
    if ctx.decide is not None and outputs and scene.out is not None:
        then, now = ctx.decide(scene.out.array), ctx.decide(outputs[0])
        if then is not None and now is not None:
            names = ctx.class_names
            predicted = {"before": [names[i] for i in then], "after": [names[i] for i in now]}
    rule = None if ctx.optimizer_rule is None else list(ctx.optimizer_rule)
    return Update(
        ctx.lr, ctx.update_order, rows, before, after, predicted, ctx.optimizer_name, rule
    )


def _step(tensors: list, lr: float) -> None:
    """One step of plain SGD on the tensors that have a gradient."""
    stepped = [t for t in tensors if t.requires_grad and t.grad_array is not None]
    if stepped:
        SGD(stepped, lr=lr).step()


def _simultaneous(scene, ctx, grads: dict, outputs: list) -> tuple:
    """Every parameter stepped with the gradients of one backward pass."""
    if ctx.fresh_model is not None and ctx.rerun is not None:
        twin = ctx.fresh_model()
        theirs = dict(named_parameters(twin))
        pairs = [(p, theirs[n]) for n, p in scene.named]
    else:  # a graph without a model: step copies of its leaves
        pairs = [(p, Tensor._make(np.array(p.array), p.requires_grad)) for p in scene.params]
        twin = None
    for mine, copy in pairs:
        g = grads[id(mine)]
        copy.grad_array = None if g is None or not mine.requires_grad else g.copy()
    if ctx.optimizer is not None and twin is not None:  # the user's, state and all
        ctx.optimizer(dict(named_parameters(twin))).step()
    else:
        _step([copy for _, copy in pairs], ctx.lr)
    new_values = {id(mine): np.array(copy.array) for mine, copy in pairs}
    after = None
    if twin is not None:
        with no_grad():
            out, after_t = ctx.rerun(twin, scene.x, scene.y)
        after = float(after_t.array.item())
        outputs.append(np.asarray(out.array))
    elif ctx.recompute is not None:
        after = float(ctx.recompute({n: new_values[id(p)] for n, p in scene.named}))
    return new_values, after


def _sequential(scene, ctx, grads: dict, outputs: list) -> tuple:
    """The layers stepped from the output back; each layer's gradient from a backward pass that
    already sees the stepped layers above it (the step is in place, so the graph's saved
    weights are the new ones)."""
    if not scene.layers or ctx.fresh_model is None or ctx.rerun is None:
        raise ValueError("update_order='sequential' needs a network of layers")
    twin = ctx.fresh_model()
    x, y = scene.x, scene.y
    out, loss = ctx.rerun(twin, x, y)
    layers = detect_layers(Graph(loss), x, out)
    theirs = dict(named_parameters(twin))
    mine_by_id = {id(theirs[n]): p for n, p in scene.named}
    with steps_unseen():  # the backward passes read the stepped weights, on purpose
        for layer in reversed(layers):
            for q in theirs.values():
                q.grad_array = None
            loss.backward(retain_graph=True)
            tensors = [t for t in (layer.weight, layer.bias) if t is not None and t.requires_grad]
            for t in tensors:
                grads[id(mine_by_id[id(t)])] = t.grad_array.copy()
            _step(tensors, ctx.lr)
    new_values = {id(p): np.array(theirs[n].array) for n, p in scene.named}
    with no_grad():
        out, after = ctx.rerun(twin, x, y)
    outputs.append(np.asarray(out.array))
    return new_values, float(after.array.item())
