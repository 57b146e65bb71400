"""Numbers of section 1: every layer's z and a (or every node's value), the loss."""

from __future__ import annotations

import numpy as np

from chainrule.explain.datamodel import Forward, ForwardLayer, ForwardNode, Loss
from chainrule.explain.format import fmt, summary
from chainrule.explain.numbers.graph_rows import op_expr


def forward_layers(scene) -> Forward:
    naming = scene.naming
    layers = [
        ForwardLayer(
            index=layer.index,
            weight=naming.tensor(layer.weight),
            bias=naming.tensor(layer.bias) if layer.bias is not None else None,
            activation=layer.act_label,
            z=np.asarray(layer.z.array).tolist(),
            a=np.asarray(layer.a.array).tolist(),
        )
        for layer in scene.layers
    ]
    return Forward(input=np.asarray(scene.x.array).tolist(), layers=layers)


def forward_nodes(scene) -> Forward:
    """Every node of a graph without layers: what it computes and its value."""
    naming = scene.naming
    nodes = []
    for t in scene.graph.tensors:
        fn = t._ctx
        if fn is None:
            kind = "parameter" if id(t) in scene.param_names else "constant"
            if scene.x is not None and t is scene.x:  # as the graph table calls them
                kind = "input"
            elif scene.y is not None and t is scene.y:
                kind = "target"
            nodes.append(ForwardNode(naming.tensor(t), kind, "", summary(t.array)))
        else:
            expr = op_expr(fn, [naming.tensor(p) for p in fn.parents])
            nodes.append(ForwardNode(naming.tensor(t), fn.label, expr, summary(t.array)))
    return Forward(nodes=nodes)


def loss(scene, ctx) -> Loss:
    """The loss's value and formula: the context's, else the graph after the output read as an
    expression of o and t, else (no layers) the root's name."""
    value = float(scene.loss.array.item())
    if not scene.layers:
        return Loss(scene.naming.tensor(scene.graph.root), value)
    formula = ctx.loss_formula or "E = " + _expr(scene, scene.graph.root)
    return Loss(formula, value)


def _expr(scene, t, depth: int = 0) -> str:
    """The loss as an expression of the output o and target t, read from the graph."""
    if t is scene.out:
        return "o"
    if t is scene.y:
        return "t"
    fn = t._ctx
    if fn is None or depth > 12:
        return fmt(t.array.item(), 6) if t.array.size == 1 else scene.naming.tensor(t)
    args = [_expr(scene, p, depth + 1) for p in fn.parents]
    args = [a if " " not in a or a.startswith("(") else f"({a})" for a in args]
    return op_expr(fn, args)
