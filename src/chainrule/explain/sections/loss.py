"""The end of section 1: the network's outputs beside the targets, and the loss."""

from __future__ import annotations

import numpy as np

from chainrule.explain.blocks import Eq, F, Heading, Para, Table
from chainrule.explain.context import MAX_SAMPLES, MAX_WIDTH
from chainrule.explain.sections.style import split_constants


def write(expl, scene, style) -> list:
    names = expl.class_names
    if not expl.layered:  # the loss is the last node of the forward table
        target = None if scene.y is None else np.asarray(scene.y.array)
        indices = _indices(target, names)
        return [] if indices is None else [Para(f"Target t = {_classes(indices, names)}.")]
    blocks = [Heading(3, "Loss")]
    out = np.asarray(expl.output)
    target = None if expl.target is None else np.asarray(expl.target)
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
        blocks.append(Table(["output", "value", "target"], rows, [False, True, True]))
    formula, constants = split_constants(expl.loss.formula)  # "huber(o − t), δ = 0.5"
    after = [f"   ({constants})"] if constants else []
    blocks.append(Eq([F(formula), " = ", style.num(expl.loss.value), *after]))
    return blocks


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
