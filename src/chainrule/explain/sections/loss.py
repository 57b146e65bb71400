"""The end of section 1: the network's outputs beside the targets, and the loss."""

from __future__ import annotations

import re

import numpy as np

from chainrule.explain.blocks import Eq, F, Heading, Para, Table
from chainrule.explain.context import MAX_SAMPLES, MAX_WIDTH
from chainrule.explain.sections.style import split_constants, with_numbers


def write(expl, scene, style) -> list:
    names = expl.class_names
    if not expl.layered:  # the loss is the last node of the forward table
        target = None if scene.y is None else np.asarray(scene.y.array)
        indices = _indices(target, names)
        return [] if indices is None else [Para(f"Target t = {_classes(indices, names)}.")]
    out = np.asarray(expl.output)
    target = None if expl.target is None else np.asarray(expl.target)
    # no target: E is the prediction itself (explain(model, x)), not a loss
    blocks = [Heading(3, "Loss" if target is not None else "The output explained, E")]
    # one output per class (cross-entropy): each output row is named by its class
    per_class = names is not None and out.ndim == 2 and out.shape[1] == len(names) > 1
    if out.size <= MAX_WIDTH * MAX_SAMPLES:
        rows = []
        for i in range(out.size):
            shown = ""
            if target is not None and target.shape == out.shape:
                shown = style.fmt(target.flat[i])
                if names is not None and not per_class and _indices(target.flat[i], names):
                    shown += f" ({names[int(target.flat[i])]})"  # a binary target: 0 or 1
            label = scene.naming.elem(scene.out, i)
            if per_class:
                label += f" ({names[i % len(names)]})"
            rows.append([label, style.fmt(out.flat[i]), shown])
        if target is not None and target.shape != out.shape:
            indices = _indices(target, names)
            named = f"{expl.target}" if indices is None else _classes(indices, names)
            blocks.append(Para(f"Target t = {named}."))
        if target is None:
            rows = [row[:2] for row in rows]
        header = ["output", "value", "target"][: 3 if target is not None else 2]
        blocks.append(Table(header, rows, [False, True, True][: len(header)]))
    formula, constants = split_constants(expl.loss.formula)  # "huber(o − t), δ = 0.5"
    after = [f"   ({constants})"] if constants else []
    numbers = _loss_with_numbers(formula, constants, out, target, style)
    numbers = [" = ", *numbers] if numbers else []
    blocks.append(Eq([F(formula), *numbers, " = ", style.num(expl.loss.value), *after]))
    count = counted(constants)
    if count is not None and re.search(r"/[nN]\b", formula):
        blocks.append(Para(_COUNT_WORDS[count[0]].format(count[1])))
    return blocks


_COUNT_WORDS = {
    "n": "n = {}: the mean is taken over every output of every sample.",
    "N": "N = {}: the mean is taken over the samples.",
}


def counted(constants: str | None) -> tuple[str, int] | None:
    """``("n", 6)`` from ``"n = 6, δ = 0.5"``: the count a mean divides by, where named."""
    match = re.search(r"(?:^|, )([nN]) = (\d+)(?:,|$)", constants or "")
    return (match.group(1), int(match.group(2))) if match else None


def _loss_with_numbers(formula, constants, out, target, style) -> list | None:
    """``E = −1/n · Σ [t·ln(o) + …]`` with the outputs and targets in it, term by term, for a
    loss over at most 4 outputs whose terms use only what the report defines; else None."""
    match = re.fullmatch(r"E = (.*?)Σ (.*)", formula)
    count = counted(constants)
    if match is None or target is None or target.shape != out.shape or out.size > 4:
        return None
    prefix, body = match.groups()
    head = with_numbers(prefix, {"n": str(count[1])} if count else {})
    terms = []
    for o, t in zip(out.flat, target.flat):
        term = with_numbers(body, {"o": style.arg(o), "t": style.arg(t)})
        if term is None or head is None:
            return None
        terms += [" + ", *term] if terms else term
    return [*head, *terms] if out.size == 1 else [*head, "(", *terms, ")"]


def _indices(target, names) -> list[int] | None:
    """The target as class indices into ``names``, or None where it is not one."""
    if names is None or target is None:
        return None
    flat = np.asarray(target).reshape(-1)
    if flat.size == 0 or flat.size > MAX_SAMPLES or not np.all(flat == np.round(flat)):
        return None
    indices = [int(v) for v in flat]
    return indices if all(0 <= i < len(names) for i in indices) else None


def _classes(indices: list[int], names) -> str:
    shown = ", ".join(str(i) for i in indices)
    words = ", ".join(repr(names[i]) for i in indices)
    if len(indices) == 1:
        return f"{shown} (class {words})"
    return f"[{shown}] (classes {words})"
