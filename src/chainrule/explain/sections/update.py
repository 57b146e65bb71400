"""Section 4, the update: θ_new = θ_old − η·∂E/∂θ for every parameter (frozen ones marked), as
the optimizer stepped it, and the loss before and after the step."""

from __future__ import annotations

import numpy as np

from chainrule.explain.blocks import Eq, Heading, Para, Sym, Table
from chainrule.explain.context import MAX_SAMPLES, MAX_UPDATE_ROWS
from chainrule.explain.format import summary


def write(expl, scene, style) -> list:
    upd = expl.update
    blocks = [Heading(2, "4. The update"), *_rule_blocks(expl, scene, style)]
    small = sum(int(np.prod(p.shape)) for p in expl.parameters if p.requires_grad)
    small = small <= MAX_UPDATE_ROWS
    rows = _rows(expl, scene, style, small)
    if small and upd.optimizer is not None:
        header = ["parameter", "old", "∂E/∂θ", "Δθ = new − old", "new"]
    elif small:
        header = ["parameter", "old", "∂E/∂θ", "old − η·∂E/∂θ", "new"]
    else:
        # the symbols head the columns, so a cell is one number and the table fits 80 columns
        header = ["parameter", "shape", "‖∂E/∂θ‖", "‖Δθ‖", "max |Δθ|"]
        blocks.append(
            Para(
                "Too many elements to list one by one: for each tensor, the norm of its "
                "gradient, the norm of its step Δθ = θ_new − θ_old and the step's largest "
                "element."
            )
        )
    if upd.order == "sequential":
        blocks.append(
            Para(
                "Sequential order: the output layer is updated first; each layer below then "
                "takes its gradient from a fresh backward pass that already uses the updated "
                "weights above it (the activations stay those of the forward pass). The "
                "gradients in this table are the ones used."
            )
        )
    blocks.append(Table(header, rows, [False, True, True, True, True]))
    if upd.loss_after is not None:
        before, after = upd.loss_before, upd.loss_after
        blocks.append(
            Eq(
                ["E before = ", style.num(before), ",   E after one step = ", style.num(after)]
                + [",   change = ", style.num(after - before)]
            )
        )
    if upd.predicted is not None and len(upd.predicted["before"]) <= MAX_SAMPLES:
        then, now = (", ".join(map(repr, upd.predicted[k])) for k in ("before", "after"))
        what = "class" if len(upd.predicted["before"]) == 1 else "classes"
        blocks.append(Para(f"Predicted {what}: {then} before the step, {now} after it."))
    return blocks


def _rule_blocks(expl, scene, style) -> list:
    """What the step is: θ_new = θ_old − η·∂E/∂θ (plain SGD), or the user's optimizer."""
    upd = expl.update
    if upd.optimizer is not None:
        return _optimizer_blocks(upd)
    blocks = [Eq([Sym("θ_new"), " = ", Sym("θ_old"), " − η · ∂E/∂θ,   η = ", style.num(upd.lr)])]
    words = (
        "θ stands for each weight and bias in turn and η for the learning rate, the size of the "
        "step: each parameter moves against its gradient, the direction that lowers E."
    )
    if expl.layered or scene.model is not None:  # a model: it may train with another step
        words += (
            " One step of plain gradient descent (chainrule.optim.SGD with lr = η); "
            "explain(..., optimizer=opt) shows the step of your own optimizer (Adam, "
            "momentum, weight decay) instead."
        )
    return [*blocks, Para(words)]


def _rows(expl, scene, style, small: bool) -> list:
    """The table's rows: one per element (``small``), else one per tensor with norms."""
    upd = expl.update
    tensors = dict(scene.named)
    stepped = {row.name: row for row in upd.parameters}
    rows = []
    for param in expl.parameters:
        t = tensors[param.name]
        if not param.requires_grad:
            size = int(np.prod(param.shape))
            label = scene.naming.elem(t, 0) if size == 1 else param.name
            shown = summary(param.values)
            if small:
                frozen = "not updated (frozen: requires_grad = False)"  # wraps, unlike a name
                rows.append([label, shown, "—", frozen, shown])
            else:  # the columns are norms here, not values
                rows.append([label, _shape(param), "—", "0 (requires_grad=False)", "0"])
            continue
        row = stepped[param.name]
        old, grad, new = (np.asarray(v, dtype=np.float64) for v in (row.old, row.grad, row.new))
        if small and upd.optimizer is None:
            rows += _element_rows(scene, style, t, old, grad, new, upd.lr)
        elif small:
            rows += _step_rows(scene, style, t, old, grad, new)
        else:
            step = new - old
            norms = (np.linalg.norm(grad), np.linalg.norm(step), np.abs(step).max())
            rows.append([param.name, _shape(param), *(style.fmt(v) for v in norms)])
    return rows


def _optimizer_blocks(upd) -> list:
    """The user's optimizer: what it is, that its step was taken by a copy with its state, and
    its update rule as its class writes it."""
    blocks = [
        Para(
            f"One step of your optimizer, {upd.optimizer}: a copy of it, with its state (step "
            f"count, momentum, moments), took one step on a float64 copy of the model with the "
            f"gradients above, so each new value is what optimizer.step() would give (your "
            f"optimizer and model are not stepped). Its update rule, for each parameter θ with "
            f"gradient ∇:"
        )
    ]
    if upd.rule:
        blocks.append(Table(["update rule"], [[line] for line in upd.rule]))
    return blocks


def _step_rows(scene, style, t, old, grad, new) -> list:
    old, grad, new = old.reshape(-1), grad.reshape(-1), new.reshape(-1)
    return [
        [
            scene.naming.elem(t, i),
            style.fmt(old[i]),
            style.fmt(grad[i]),
            style.fmt(new[i] - old[i]),
            style.fmt(new[i]),
        ]
        for i in range(old.size)
    ]


def _shape(param) -> str:
    return "×".join(map(str, param.shape)) or "scalar"


def _element_rows(scene, style, t, old, grad, new, lr) -> list:
    old, grad, new = old.reshape(-1), grad.reshape(-1), new.reshape(-1)
    return [
        [
            scene.naming.elem(t, i),
            style.fmt(old[i]),
            style.fmt(grad[i]),
            f"{style.fmt(old[i])} − {style.fmt(lr)} × {style.arg(grad[i]).text()}",
            style.fmt(new[i]),
        ]
        for i in range(old.size)
    ]
