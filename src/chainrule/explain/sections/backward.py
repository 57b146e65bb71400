"""Section 2, the backward pass in delta form: ∂E/∂output, each neuron's δ = ∂E/∂z from the
output back, and each parameter's gradient δ·a beside the engine's ``.grad``."""

from __future__ import annotations

import numpy as np

from chainrule.explain.blocks import D, Eq, F, Heading, Para, Sym, Table
from chainrule.explain.chain import op_formula
from chainrule.explain.context import MAX_SAMPLES, MAX_UPDATE_ROWS, MAX_WIDTH
from chainrule.explain.format import summary
from chainrule.explain.sections import backward_nodes
from chainrule.explain.sections.loss import counted
from chainrule.explain.sections.style import (
    delta_symbol,
    layer_input,
    split_constants,
    values,
    with_numbers,
)


def write(expl, scene, style, loss_derivative: str | None) -> list:
    if not expl.layered:
        return backward_nodes.write(expl, scene, style)
    naming = scene.naming
    blocks = [
        Heading(2, "2. Backward pass"),
        Para(
            "From the output back, each neuron's error signal δ = ∂E/∂z: at the output "
            "δ = ∂E/∂a · f'(z); in a hidden layer δ_j = f'(z_j) · Σ_k w_kj · δ_k, the "
            "deltas of the layer above weighted by the connections. Then ∂E/∂w_jk = δ_j · a_k "
            "and ∂E/∂b_j = δ_j (summed over the samples of a batch)."
        ),
        Heading(3, "Output error"),
    ]
    d_out = np.asarray(expl.backward.dE_doutput)
    deriv = loss_derivative or "Σ over the loss's own ops"
    deriv, count = split_constants(deriv)  # "2·(o − t)/n, n = 6": the count after the value
    after = [f"   ({count})"] if count else []
    if d_out.size <= MAX_WIDTH * MAX_SAMPLES:
        out, target = np.asarray(expl.output), expl.target
        target = None if target is None else np.asarray(target)
        n = counted(count)
        for i in range(d_out.size):
            name = naming.elem(scene.out, i)
            value = style.num(d_out.flat[i])
            numbers = None
            if target is not None and target.shape == out.shape and d_out.size <= 4:
                known = {"o": style.arg(out.flat[i]), "t": style.arg(target.flat[i])}
                numbers = with_numbers(deriv, {**known, **({"n": str(n[1])} if n else {})})
            numbers = [" = ", *numbers] if numbers else []
            blocks.append(Eq([D("E", name), " = ", F(deriv), *numbers, " = ", value, *after]))
    else:
        blocks.append(Para(f"∂E/∂output: shape {d_out.shape}, {summary(d_out)}."))
    deltas = {data.index: np.asarray(data.delta).reshape(-1) for data in expl.backward.layers}
    shared = _shared_layers(scene)
    for layer, data in zip(reversed(scene.layers), expl.backward.layers):
        blocks.append(Heading(3, f"Layer {layer.index}"))
        delta = deltas[layer.index]
        if data.f_prime is not None:  # worked out neuron by neuron
            for b in range(min(expl.batch_size, MAX_SAMPLES)):
                if expl.batch_size > 1:
                    blocks.append(Para(f"Sample {b}:"))
                for j in range(layer.width):
                    blocks.append(_delta_eq(expl, scene, style, layer, b, j, data, deltas))
            blocks += _sigmoid_bce_note(expl, scene, style, layer, deltas)
        else:
            blocks.append(
                Para(
                    f"δ{layer.index} (shape {np.shape(data.delta)}): {summary(delta)} — the "
                    f"engine's ∂E/∂z; the neurons on the chosen parameter's paths are "
                    f"written out in section 3."
                )
            )
        blocks.append(_grad_table(expl, scene, style, layer, data, delta, shared))
        blocks += _shared_note(scene, layer, shared)
    return blocks


def _shared_layers(scene) -> dict:
    """id(tensor) -> the layers that use it, for each tensor used by more than one layer (a
    tied weight): its .grad is the sum of every use's terms, not one layer's."""
    uses: dict = {}
    for layer in scene.layers:
        for t in (layer.weight, layer.bias):
            if t is not None:
                uses.setdefault(id(t), []).append(layer.index)
    return {key: layers for key, layers in uses.items() if len(layers) > 1}


def _shared_note(scene, layer, shared: dict) -> list:
    tensors = [t for t in (layer.weight, layer.bias) if t is not None and id(t) in shared]
    if not tensors:
        return []
    names = " and ".join(scene.naming.tensor(t) for t in tensors)
    layers = shared[id(tensors[0])]
    listed = ", ".join(map(str, layers[:-1])) + f" and {layers[-1]}"
    return [
        Para(
            f"{names} {'is' if len(tensors) == 1 else 'are'} used by layers {listed} (a shared "
            f"weight): each layer's terms above are that use's share, and the gradient, the "
            f"engine's .grad, is the sum of the shares of every layer that uses it."
        )
    ]


def _act_formula(layer) -> str:
    return " · ".join(op_formula(fn, 0) for fn in layer.acts)  # with constants: "…, α = 0.7"


_BCE = "E = −1/n · Σ [t·ln(o) + (1 − t)·ln(1 − o)]"


def _sigmoid_bce_note(expl, scene, style, layer, deltas) -> list:
    """For a sigmoid output under binary cross-entropy, the classic shortcut with its numbers:
    σ'(z) = o·(1 − o) cancels the loss's denominator, so δ = (o − t)/n."""
    formula, constants = split_constants(expl.loss.formula or "")
    count = counted(constants)
    out, target = np.asarray(expl.output).reshape(-1), expl.target
    if (
        layer.index != len(scene.layers)
        or [fn.label for fn in layer.acts] != ["σ"]
        or formula != _BCE
        or count is None
        or target is None
        or np.size(target) != out.size
        or out.size > 4
    ):
        return []
    target = np.asarray(target).reshape(-1)
    shown = []
    for i in range(out.size):
        name = scene.naming.elem(layer.z, i)
        symbol = delta_symbol(scene.naming, name)
        o, t, d = style.fmt(out[i]), style.fmt(target[i]), style.fmt(deltas[layer.index][i])
        shown.append(f"{symbol} = ({o} − {t})/{count[1]} = {d}")
    return [
        Para(
            "A sigmoid output under binary cross-entropy: its derivative σ'(z) = o·(1 − o) "
            f"cancels the loss's denominator, so δ = (o − t)/n with n = {count[1]}, the "
            "output's error itself: " + "; ".join(shown) + "."
        )
    ]


def _by_output(expl, style, layer, i: int) -> list:
    """`` = 0.52·(1 − 0.52)``: a derivative written in its activation's output (σ(z), tanh(z))
    with that output's number in it, so f'(z) can be checked by hand; else nothing."""
    if len(layer.acts) != 1:
        return []
    fn = layer.acts[0]
    output = f"{fn.label}(z)"
    formula = op_formula(fn, 0)
    if fn.label not in ("σ", "tanh") or output not in formula:
        return []
    a = np.asarray(expl.forward.layers[layer.index - 1].a).reshape(-1)[i]
    tokens: list = [" = "]
    for k, part in enumerate(formula.split(output)):
        tokens += [style.arg(a)] if k else []
        tokens += [part] if part else []
    return tokens


def _delta_eq(expl, scene, style, layer, b, j, data, deltas) -> Eq:
    naming = scene.naming
    i = b * layer.width + j
    z_name = naming.elem(layer.z, i)
    a_name = naming.elem(layer.a, i)
    short = z_name.replace("net_", "") if naming.classic else z_name
    head = [Sym("δ_" + short if naming.classic else f"δ({z_name})"), " = "]
    fprime = data.f_prime
    fp_sym = [D(a_name, z_name)] if layer.acts else []
    fp_num = [style.arg(fprime[i])] if layer.acts else []
    value = style.num(deltas[layer.index][i])
    formula = ["   [", F(_act_formula(layer)), *_by_output(expl, style, layer, i), "]"]
    if layer.index == len(scene.layers):
        if layer.acts:
            da = np.asarray(expl.backward.dE_doutput).reshape(-1)[i]
            sym = [*head, D("E", a_name), " · ", *fp_sym]
            return Eq([*sym, " = ", style.arg(da), " × ", *fp_num, " = ", value, *formula])
        return Eq([*head, D("E", z_name), " = ", value])
    nxt = scene.next_layer(layer)
    w_next = values(expl, scene, nxt.weight)
    sym_sum, num_sum = [], []
    for k in range(nxt.width):
        if k:
            sym_sum.append(" + ")
            num_sum.append(" + ")
        wi = k * nxt.fan_in + j
        zk = b * nxt.width + k
        d_sym = delta_symbol(naming, naming.elem(nxt.z, zk))
        sym_sum += [Sym(naming.elem(nxt.weight, wi)), "·", Sym(d_sym)]
        num_sum += [style.arg(w_next[wi]), " × ", style.arg(deltas[nxt.index][zk])]
    if layer.acts:
        return Eq(
            [*head, *fp_sym, " · (", *sym_sum, ") = ", *fp_num, " × (", *num_sum, ") = "]
            + [value, *formula]
        )
    return Eq([*head, *sym_sum, " = ", *num_sum, " = ", value])


def _grad_table(expl, scene, style, layer, data, delta, shared: dict) -> Table:
    naming = scene.naming
    B, W, fan = expl.batch_size, layer.width, layer.fan_in
    w, bias = layer.weight, layer.bias
    grads = {id(w): data.grad_weight, id(bias): data.grad_bias}
    if W * fan > MAX_UPDATE_ROWS or B > MAX_SAMPLES:
        rows = []
        for t in (w, bias):
            if t is None:
                continue
            g = grads[id(t)]
            shape = expl.parameter(naming.tensor(t)).shape
            rows.append(
                [
                    naming.tensor(t),
                    "×".join(map(str, shape)),
                    "δ · a (Σ over samples)",
                    "" if g is None else summary(g),
                    "" if g is None else style.fmt(np.linalg.norm(g)),
                ]
            )
        header = ["parameter", "shape", "formula", "∂E/∂parameter", "norm"]
        return Table(header, rows, [False, False, False, True, True])
    rows = _weight_rows(
        scene, style, layer, delta, B, data.grad_weight, layer_input(expl, layer.index)
    )
    if id(w) in shared:
        rows = _as_shares(style, rows, [(d, a) for d, a in _weight_terms(layer, delta, B, expl)])
    if bias is not None:
        bias_rows = _bias_rows(expl, scene, style, layer, delta, B, data.grad_bias)
        if id(bias) in shared:
            bias_rows = _as_shares(style, bias_rows, _bias_terms(expl, scene, layer, delta, B))
        rows += bias_rows
    engine = "engine .grad (all uses)" if shared.keys() & {id(w), id(bias)} else "engine .grad"
    return Table(["parameter", "∂E/∂parameter", "numbers", engine], rows, [False] * 3 + [True])


def _weight_terms(layer, delta, B, expl) -> list:
    """Each weight element's share in this layer: Σ over the samples of δ·a."""
    W, fan = layer.width, layer.fan_in
    x_flat = layer_input(expl, layer.index).reshape(-1)
    return [
        (sum(delta[b * W + j] * x_flat[b * fan + k] for b in range(B)), None)
        for j in range(W)
        for k in range(fan)
    ]


def _bias_terms(expl, scene, layer, delta, B) -> list:
    W, size = layer.width, values(expl, scene, layer.bias).size
    js = [range(W) if size == 1 else [bi] for bi in range(size)]
    return [(sum(delta[b * W + j] for b in range(B) for j in j_s), None) for j_s in js]


def _as_shares(style, rows, terms) -> list:
    """Rows of a tensor used by several layers: the numbers end with this layer's share (the
    engine's .grad, in the last column, is the sum over every use)."""
    for row, (share, _) in zip(rows, terms):
        row[2] = f"{row[2]} = {style.fmt(share)}"
    return rows


def _weight_rows(scene, style, layer, delta, B, grad, x_values) -> list:
    naming = scene.naming
    W, fan, x = layer.width, layer.fan_in, layer.x
    x_flat = x_values.reshape(-1)
    grad = None if grad is None else np.asarray(grad).reshape(-1)
    rows = []
    for j in range(W):
        for k in range(fan):
            wi = j * fan + k
            terms = [(delta[b * W + j], x_flat[b * fan + k]) for b in range(B)]
            ds = [delta_symbol(naming, naming.elem(layer.z, b * W + j)) for b in range(B)]
            formula = " + ".join(f"{d}·{naming.elem(x, b * fan + k)}" for b, d in enumerate(ds))
            numbers = " + ".join(f"{style.arg(d).text()} × {style.arg(a).text()}" for d, a in terms)
            shown = "not trained" if grad is None else style.fmt(grad[wi])
            rows.append([naming.elem(layer.weight, wi), formula, numbers, shown])
    return rows


def _bias_rows(expl, scene, style, layer, delta, B, grad) -> list:
    naming = scene.naming
    W, bias = layer.width, layer.bias
    size = values(expl, scene, bias).size
    grad = None if grad is None else np.asarray(grad).reshape(-1)
    rows = []
    for bi in range(size):
        js = range(W) if size == 1 else [bi]
        items = [(b, j) for b in range(B) for j in js]
        names = [naming.elem(layer.z, b * W + j) for b, j in items]
        formula = " + ".join(delta_symbol(naming, n) for n in names)
        numbers = " + ".join(style.arg(delta[b * W + j]).text() for b, j in items)
        shown = "not trained" if grad is None else style.fmt(grad[bi])
        rows.append([naming.elem(bias, bi), formula, numbers, shown])
    return rows
