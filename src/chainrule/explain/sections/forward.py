"""Section 1, the forward pass: neuron by neuron (z = Σ w·a + b, a = f(z)) for a network of
layers, or a table of every node for a graph explained op by op."""

from __future__ import annotations

import numpy as np

from chainrule.explain.blocks import Eq, F, Heading, Para, Sym, Table
from chainrule.explain.context import MAX_FAN_IN, MAX_SAMPLES, MAX_WIDTH
from chainrule.explain.format import summary
from chainrule.explain.sections.style import layer_input, values


def write(expl, scene, style) -> list:
    if not expl.layered:
        return _nodes(expl)
    blocks = [
        Heading(2, "1. Forward pass"),
        Para(
            "Each neuron takes a weighted sum of its inputs plus a bias, z = Σ w·a + b, "
            "and passes it through its activation, a = f(z)."
        ),
    ]
    batch = expl.batch_size
    samples = range(min(batch, MAX_SAMPLES))
    if batch > MAX_SAMPLES:
        blocks.append(Para(f"Samples 0–{MAX_SAMPLES - 1} of {batch} are written out."))
    blocks += _inputs(expl, scene, style, samples)
    for layer, data in zip(scene.layers, expl.forward.layers):
        # the activation's definition beside its name: σ(net_h1) below is then no riddle
        defined = [getattr(fn, "definition", None) for fn in layer.acts]
        defined = f": {defined[0]}" if len(defined) == 1 and defined[0] else ""
        blocks.append(
            Heading(
                3,
                f"Layer {layer.index}: {layer.fan_in} → {layer.width}, "
                f"activation {layer.act_label}{defined}",
            )
        )
        small = layer.width <= MAX_WIDTH
        z, a = np.asarray(data.z), np.asarray(data.a)
        for b in samples:
            if batch > 1:
                blocks.append(Para(f"Sample {b}:"))
            neurons = range(layer.width) if small else range(min(2, layer.width))
            for j in neurons:
                blocks.append(_neuron_eq(expl, scene, style, layer, b, j))
                if layer.acts:
                    blocks.append(_activation_eq(scene, style, layer, b, j, z, a))
            if not small:
                blocks.append(
                    Para(
                        f"… and {layer.width - len(neurons)} more neurons: z{layer.index} "
                        f"{summary(z[b])}; a{layer.index} {summary(a[b])}."
                    )
                )
    return blocks


def _inputs(expl, scene, style, samples) -> list:
    x, naming = scene.x, scene.naming
    values_x = np.asarray(expl.forward.input)
    width = values_x.shape[-1]
    if width > MAX_FAN_IN:
        return [Para(f"Input x: shape {values_x.shape}, {summary(values_x)}.")]
    return [
        Eq([Sym(naming.elem(x, b * width + k)), " = ", style.num(values_x[b, k])])
        for b in samples
        for k in range(width)
    ]


def _neuron_eq(expl, scene, style, layer, b: int, j: int) -> Eq:
    naming = scene.naming
    w, x, z = layer.weight, layer.x, layer.z
    w_values, x_values = values(expl, scene, w), layer_input(expl, layer.index).reshape(-1)
    fan = layer.fan_in
    ks = list(range(fan)) if fan <= MAX_FAN_IN else [0, 1, fan - 1]
    sym_terms, num_terms = [], []
    for pos, k in enumerate(ks):
        if fan > MAX_FAN_IN and pos == 2:
            sym_terms.append(" + … ")
            num_terms.append(" + … ")
        elif pos:
            sym_terms.append(" + ")
            num_terms.append(" + ")
        wi = j * fan + k
        xi = b * fan + k
        sym_terms += [Sym(naming.elem(w, wi)), "·", Sym(naming.elem(x, xi))]
        num_terms += [style.arg(w_values[wi]), "·", style.arg(x_values[xi])]
    if layer.bias is not None:
        b_values = values(expl, scene, layer.bias)
        bi = j if b_values.size > 1 else 0
        sym_terms += [" + ", Sym(naming.elem(layer.bias, bi))]
        num_terms += [" + ", style.arg(b_values[bi])]
    zi = b * layer.width + j
    z_values = np.asarray(expl.forward.layers[layer.index - 1].z).reshape(-1)
    return Eq(
        [
            Sym(naming.elem(z, zi)),
            " = ",
            *sym_terms,
            " = ",
            *num_terms,
            " = ",
            style.num(z_values[zi]),
        ]
    )


def _activation_eq(scene, style, layer, b: int, j: int, z, a) -> Eq:
    naming = scene.naming
    zi = b * layer.width + j
    tokens_sym: list = [Sym(naming.elem(layer.z, zi))]
    tokens_num: list = [style.num(z.reshape(-1)[zi])]
    for fn in layer.acts:
        tokens_sym = [F(fn.label), "(", *tokens_sym, ")"]
        tokens_num = [F(fn.label), "(", *tokens_num, ")"]
    return Eq(
        [
            Sym(naming.elem(layer.a, zi)),
            " = ",
            *tokens_sym,
            " = ",
            *tokens_num,
            " = ",
            style.num(a.reshape(-1)[zi]),
        ]
    )


def _nodes(expl) -> list:
    """A graph without layers: every node, what it computes and its value."""
    rows = [[n.name, n.op, n.computes, n.value] for n in expl.forward.nodes]
    return [
        Heading(2, "1. Forward pass"),
        Table(["node", "op", "computes", "value"], rows, [False, False, False, True]),
    ]
