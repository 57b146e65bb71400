"""The numbers layer: from a recorded, backpropagated graph (a :class:`Scene`) to the data model
of an explanation (:mod:`chainrule.explain.datamodel`). Nothing here writes prose; the section
writers (:mod:`chainrule.explain.sections`) turn the result into text."""

from __future__ import annotations

import numpy as np

from chainrule.explain.datamodel import Explanation, Parameter, Trace
from chainrule.explain.numbers import backward, chains, forward, update
from chainrule.explain.numbers.graph_rows import backward_keeping_grads, graph_nodes, leaf_kinds
from chainrule.explain.numbers.scene import Scene

__all__ = ["Scene", "compute", "compute_trace"]


def compute(scene: Scene, ctx) -> Explanation:
    """Every number of an explanation of ``scene``, with the settings of ``ctx``."""
    checks: list = []
    layered = bool(scene.layers)
    if layered:
        fwd = forward.forward_layers(scene)
        bwd = backward.backward_layers(scene, checks)
    else:
        fwd = forward.forward_nodes(scene)
        bwd = backward.backward_nodes(scene, checks)
    chain_list = chains.chains(scene, ctx, checks)
    step = update.update(scene, ctx)
    grads = {id(t): t.grad_array for t in scene.graph.tensors}
    kinds = leaf_kinds(scene.graph, set(scene.param_names), scene.x, scene.y)
    return Explanation(
        title=ctx.title,
        lr=ctx.lr,
        batch_size=scene.batch,
        update_order=ctx.update_order,
        names="classic" if scene.naming.classic else "default",
        parameters=[_parameter(n, p) for n, p in scene.named],
        forward=fwd,
        loss=forward.loss(scene, ctx),
        backward=bwd,
        chains=chain_list,
        update=step,
        graph=graph_nodes(scene.graph, scene.naming, grads, kinds),
        checks=checks,
        output=np.asarray(scene.out.array).tolist() if layered else None,
        target=np.asarray(scene.y.array).tolist() if layered and scene.y is not None else None,
        notes=list(scene.notes),
        class_names=None if ctx.class_names is None else [str(c) for c in ctx.class_names],
    )


def _parameter(name: str, p) -> Parameter:
    grad = p.grad_array
    return Parameter(
        name=name,
        shape=list(p.array.shape),
        requires_grad=bool(p.requires_grad),
        values=np.asarray(p.array, dtype=np.float64).tolist(),
        grad=None if grad is None else np.asarray(grad).tolist(),
    )


def compute_trace(graph, loss, naming) -> tuple[Trace, dict]:
    """Every node of ``graph`` with its gradient ∂loss/∂node (the ``.grad`` left as it was), and
    those gradients, id(tensor) -> array."""
    grads = backward_keeping_grads(graph, loss)
    return Trace(graph_nodes(graph, naming, grads, leaf_kinds(graph, set()))), grads
