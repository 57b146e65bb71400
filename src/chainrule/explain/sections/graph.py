"""Section 5 (and ``trace()``): the graph the engine recorded, one row per node with its op,
shape, value, gradient and each input's local derivative."""

from __future__ import annotations

from chainrule.explain.blocks import Heading, Para, Table
from chainrule.explain.context import MAX_TRACE_ROWS


def write(expl, scene, style) -> list:
    blocks = [Heading(2, "5. The graph the engine recorded")]
    if len(expl.graph) > MAX_TRACE_ROWS:
        return [*blocks, Para(f"{len(expl.graph)} nodes; see report.json() or trace().")]
    return [*blocks, table(expl.graph)]


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
                node.op + (f"({inputs})" if inputs else ""),
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
