"""Section 2 for a graph explained op by op: each node's gradient as the sum, over the ops that
use it, of the op's gradient times its local derivative."""

from __future__ import annotations

import math

from chainrule.explain.blocks import D, Eq, F, Heading, Para, Table


def write(expl, scene, style) -> list:
    blocks = [
        Heading(2, "2. Backward pass"),
        Para(
            "From the result back, each node's gradient is the sum, over the ops that use it, "
            "of the op's gradient times the op's local derivative. A value used several "
            "times collects one term per use."
        ),
    ]
    rows = [
        [n.name, "×".join(map(str, n.shape)), n.grad]
        for n in reversed(expl.graph)
        if math.prod(n.shape) > 1 and n.grad != "—"
    ]
    if rows:
        header = ["node", "shape", "gradient ∂E/∂node (the engine's)"]
        blocks.append(Table(header, rows, [False, False, True]))
    for node in expl.backward.nodes:
        sym, nums = [], []
        for term in node.terms:
            if sym:
                sym.append(" + ")
                nums.append(" + ")
            sym += [D("E", term.output), " · ", D(term.output, node.name)]
            nums += [style.arg(term.upstream), " × ", style.arg(term.factor)]
        if node.formula is not None:  # the node's one use is the last op
            sym = [] if node.formula == style.fmt(node.grad) else [F(node.formula)]
            nums = []
        elif len(sym) <= 3:  # one term: its numbers are the result's
            nums = []
        blocks.append(
            Eq(
                [
                    D("E", node.name),
                    " = ",
                    *([*sym, " = "] if sym else []),
                    *([*nums, " = "] if nums else []),
                    style.num(node.grad),
                ]
            )
        )
    return blocks
