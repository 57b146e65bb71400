"""Numbers of section 2: ∂E/∂output and each layer's deltas δ = ∂E/∂z (or, without layers, each
scalar node's gradient as a sum over its uses), each checked against the engine's ``.grad``."""

from __future__ import annotations

import numpy as np

from chainrule.explain.chain import op_formula
from chainrule.explain.context import MAX_WIDTH
from chainrule.explain.datamodel import Backward, BackwardLayer, BackwardNode, Check, Term


def check(checks: list, what: str, ours, engine) -> None:
    """Record the largest difference between a number computed here and the engine's."""
    if engine is None:
        return
    ours = np.asarray(ours, dtype=np.float64).reshape(-1)
    engine = np.asarray(engine, dtype=np.float64).reshape(-1)
    diff = float(np.max(np.abs(ours - engine))) if ours.size else 0.0
    checks.append(Check(what, diff))


def _tolist(a):
    return None if a is None else np.asarray(a).tolist()


def backward_layers(scene, checks: list) -> Backward:
    out = scene.out
    d_out = scene.loss_sums.get(id(out)) if scene.loss_sums else None
    if d_out is None:
        d_out = np.asarray(out.grad_array, dtype=np.float64)
    check(checks, "∂E/∂output", d_out, out.grad_array)
    deltas: dict[int, np.ndarray] = {}
    layers = []
    for layer in reversed(scene.layers):
        fprime = _f_prime(scene, layer) if _small(scene, layer) else None
        if fprime is not None:
            delta = fprime * _d_activation(scene, layer, d_out, deltas)
        else:
            delta = np.asarray(layer.z.grad_array, dtype=np.float64).reshape(-1)
        deltas[layer.index] = delta
        check(checks, f"δ of layer {layer.index}", delta, layer.z.grad_array)
        bias = layer.bias
        layers.append(
            BackwardLayer(
                index=layer.index,
                delta=delta.reshape(layer.z.array.shape).tolist(),
                f_prime=None if fprime is None else fprime.tolist(),
                engine_dz=_tolist(layer.z.grad_array),
                grad_weight=_tolist(layer.weight.grad_array),
                grad_bias=None if bias is None else _tolist(bias.grad_array),
            )
        )
    return Backward(dE_doutput=d_out.tolist(), layers=layers)


def _small(scene, layer) -> bool:
    """Whether the layer's deltas are worked out neuron by neuron (else: the engine's ∂E/∂z)."""
    last = layer.index == len(scene.layers)
    return (
        layer.width <= MAX_WIDTH
        and all(scene.graph.enumerable(fn) for fn in layer.acts)
        and (last or scene.next_layer(layer).width <= 4 * MAX_WIDTH)
    )


def _f_prime(scene, layer) -> np.ndarray:
    """f'(z) per element: the activations' own local factors, multiplied."""
    size = layer.z.array.size
    fprime = np.ones(size)
    for fn in layer.acts:
        for i in range(size):
            fprime[i] *= scene.factor_at(fn, 0, i, i)
    return fprime


def _d_activation(scene, layer, d_out, deltas) -> np.ndarray:
    """∂E/∂a per element: ∂E/∂output for the last layer, else Σ_k ∂z_k/∂a · δ_k of the next."""
    if layer.index == len(scene.layers):
        return d_out.reshape(-1)
    nxt = scene.next_layer(layer)
    da = np.zeros(layer.z.array.size)
    for i in range(da.size):
        b = i // layer.width
        da[i] = sum(
            scene.factor_at(nxt.op, 0, i, b * nxt.width + k) * deltas[nxt.index][b * nxt.width + k]
            for k in range(nxt.width)
        )
    return da


def backward_nodes(scene, checks: list) -> Backward:
    """Each scalar node's ∂E/∂node as the sum over its uses of upstream gradient × factor."""
    graph, naming = scene.graph, scene.naming
    sums = graph.path_sums() if all(graph.enumerable(fn) for fn in graph.ops) else {}
    nodes = []
    for t in reversed(graph.tensors):
        if t is graph.root or t.array.size != 1 or id(t) not in sums:
            continue
        name = naming.tensor(t)
        uses = [(fn, k) for fn, k in graph.consumers.get(id(t), ()) if fn.needs_grad[k]]
        terms = []
        for fn, k in uses:
            out = graph.output_of[fn]
            if out.array.size == 1:
                upstream = sums[id(out)].item()
                terms.append(Term(naming.tensor(out), upstream, scene.factor_at(fn, k, 0, 0)))
        formula = None
        if len(uses) == 1 and graph.output_of[uses[0][0]] is graph.root:
            fn, k = uses[0]
            formula = op_formula(fn, k)
        total = sums[id(t)].item()
        engine = t.grad_array
        engine = None if engine is None else float(np.asarray(engine).reshape(-1)[0])
        nodes.append(BackwardNode(name, total, engine, terms, formula))
        check(checks, f"∂E/∂{name}", total, t.grad_array)
    return Backward(nodes=nodes)
