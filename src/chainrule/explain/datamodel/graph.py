"""The recorded graph, node by node: the rows of ``trace`` and of section 5."""

from __future__ import annotations

from dataclasses import dataclass, field


# ---- the recorded graph -------------------------------------------------------------------------
@dataclass
class GraphNode:
    """One node of the recorded graph: its op and inputs (node ids), shape, value and gradient
    (as printed; ``values`` and ``grads`` in full for small tensors) and, per input, the op's
    local derivative formula with a note where the engine summed a broadcast gradient."""

    id: int
    name: str
    op: str
    op_class: str | None
    inputs: list
    shape: list
    value: str
    grad: str
    formulas: list = field(default_factory=list)  # {"input", "formula", "note"} per input
    values: list | None = None
    grads: list | None = None
    lookup: str | None = None  # an index op on its input's row: "#0[ids], ids = [[1, 3, 4]]"

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        if self.lookup is None:
            del d["lookup"]
        if self.values is None:  # a large tensor: summarised only
            del d["values"], d["grads"]
        return d


@dataclass
class Trace:
    """What :func:`~chainrule.explain.trace` reports: every node of a graph."""

    nodes: list[GraphNode]
    kind: str = "trace"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "nodes": [n.to_dict() for n in self.nodes]}

    @classmethod
    def from_dict(cls, d: dict) -> Trace:
        return cls([GraphNode(**n) for n in d["nodes"]], d["kind"])
