"""The end of section 1: the network's outputs beside the targets, and the loss."""

from __future__ import annotations

import numpy as np

from chainrule.explain.blocks import Eq, F, Heading, Para, Table
from chainrule.explain.context import MAX_SAMPLES, MAX_WIDTH


def write(expl, scene, style) -> list:
    if not expl.layered:
        return []  # the loss is the last node of the forward table
    blocks = [Heading(3, "Loss")]
    out = np.asarray(expl.output)
    target = None if expl.target is None else np.asarray(expl.target)
    if out.size <= MAX_WIDTH * MAX_SAMPLES:
        rows = []
        for i in range(out.size):
            shown = ""
            if target is not None and target.shape == out.shape:
                shown = style.fmt(target.flat[i])
            rows.append([scene.naming.elem(scene.out, i), style.fmt(out.flat[i]), shown])
        if target is not None and target.shape != out.shape:
            blocks.append(Para(f"Target t = {expl.target}."))
        blocks.append(Table(["output", "value", "target"], rows, [False, True, True]))
    blocks.append(Eq([F(expl.loss.formula), " = ", style.num(expl.loss.value)]))
    return blocks
