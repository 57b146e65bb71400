"""Section 5 (and ``trace()``): the graph the engine recorded, one row per node with its op,
shape, value, gradient and each input's local derivative."""

from __future__ import annotations

from chainrule.explain.blocks import Heading, Para, Table
from chainrule.explain.context import MAX_TRACE_ROWS


def write(expl, scene, style) -> list:
    blocks = [Heading(2, "5. The graph the engine recorded")]
    if len(expl.graph) > MAX_TRACE_ROWS:
        return [*blocks, Para(f"{len(expl.graph)} nodes; see report.json() or trace().")]
    return [*blocks, Para(NOTATION), table(expl.graph)]


NOTATION = (
    "Every tensor the engine recorded, in the order it computed them: #k is row k, and an op's "
    "inputs are named by their rows. Inner values are named v and constants c, with their row "
    "number. The gradient is ∂E/∂node; the local derivative is ∂node/∂input for each input, "
    "written in the op's own letters: x or z for its input, W for a linear layer's weight, a "
    "and b for the first and second operand, p (or z) for the prediction and t for the target "
    "of a loss, w for a loss's weight (1 when none is given), n for the count a mean divides "
    "by. The backward pass multiplies each gradient by these local derivatives to get the "
    "gradients of the inputs."
)


def write_trace(trace, root_name: str) -> list:
    """The blocks of a ``trace()`` report."""
    ops = sum(1 for node in trace.nodes if node.op_class is not None)
    return [
        Heading(1, "The computation graph"),
        Para(
            f"{ops} ops, {len(trace.nodes)} nodes, in forward order. Each gradient "
            f"is ∂{root_name}/∂node as the engine computed it; the local "
            f"derivative is the op's own formula for each input."
        ),
        table(trace.nodes),
    ]


def table(nodes) -> Table:
    body = []
    for node in nodes:
        local = "; ".join(
            f"∂/∂#{f['input']}: {f['formula']}" + (f" ({f['note']})" if f["note"] else "")
            for f in node.formulas
        )
        inputs = ", ".join(f"#{i}" for i in node.inputs)
        body.append(
            [
                f"#{node.id}",
                node.name,
                node.lookup or node.op + (f"({inputs})" if inputs else ""),
                "×".join(map(str, node.shape)) or "scalar",
                node.value,
                node.grad,
                local or "—",
            ]
        )
    return Table(
        ["node", "name", "op", "shape", "value", "gradient ∂E/∂node", "local derivative"],
        body,
        [False, False, False, False, True, True, False],
    )
