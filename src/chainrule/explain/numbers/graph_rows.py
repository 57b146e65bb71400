"""The recorded graph as data, node by node: the rows of ``trace()`` and of section 5."""

from __future__ import annotations

import numpy as np

from chainrule.explain.chain import op_formula
from chainrule.explain.datamodel import GraphNode
from chainrule.explain.format import fmt, summary
from chainrule.explain.graph import Graph


def broadcast_note(fn, k: int, out_shape: tuple) -> str:
    """How the engine summed this input's gradient back to its shape, in words."""
    from chainrule.ops.matmul import Linear as LinearOp

    shape = fn.parents[k].array.shape
    if isinstance(fn, LinearOp):
        if k > 0 and len(out_shape) > 1 and int(np.prod(out_shape[:-1])) > 1:
            return "summed over the batch axis"
        return ""
    if len(fn.parents) < 2 or shape == out_shape:
        return ""
    try:
        if np.broadcast_shapes(shape, out_shape) != out_shape:
            return ""
    except ValueError:
        return ""
    extra = len(out_shape) - len(shape)
    axes = list(range(extra)) + [
        extra + i for i, n in enumerate(shape) if n == 1 and out_shape[extra + i] != 1
    ]
    if not axes:
        return ""
    if axes == [0]:
        return "summed over the batch axis (broadcast)"
    return f"summed over axes {tuple(axes)} (broadcast)"


def op_expr(fn, names: list) -> str:
    """The op applied to its inputs' names: ``a × b``, ``σ(z1)``, ``x^2``."""
    label = fn.label
    if label in ("+", "−", "×", "÷", "@") and len(names) == 2:
        return f"{names[0]} {label} {names[1]}"
    exponent = getattr(fn, "exponent", None)
    if exponent is not None and len(names) == 1:
        return f"{names[0]}^{fmt(exponent)}"
    if label == "pow" and len(names) == 2:
        return f"{names[0]}^{names[1]}"
    index = _lookup_index(fn)
    if index is not None and len(names) == 1:
        # which rows a lookup read: the ids are no tensor of the graph, so nothing else shows them
        if isinstance(index, np.ndarray):  # an embedding's lookup: one array of ids
            return f"{names[0]}[ids], ids = {_index_text(index)}"
        return f"{names[0]}[{_index_text(index)}]"
    return f"{label}({', '.join(names)})"


def _lookup_index(fn):
    """The index of an indexing op (``x[:, 0]``) or of an embedding's lookup, else None."""
    if fn.label == "index":
        return getattr(fn, "index", None)
    return getattr(fn, "ids", None) if fn.label == "embedding" else None


def _index_text(index) -> str:
    """An index as Python writes it: ``[1, 4, 4, 7]``, ``:, 0``, ``1:3``; a large array of ids
    by its first ids, count and shape."""
    parts = []
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, slice):
            ends = [item.start, item.stop] + ([] if item.step is None else [item.step])
            parts.append(":".join("" if v is None else str(v) for v in ends))
        elif item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, np.ndarray) and item.size > 16:  # the first few, and how many
            first = ", ".join(str(v) for v in item.reshape(-1)[:8].tolist())
            shape = "×".join(map(str, item.shape))
            parts.append(f"[{first}, …] ({item.size} ids, shape {shape}, row by row)")
        else:
            parts.append(str(np.asarray(item).tolist()))
    return ", ".join(parts)


def leaf_kinds(graph: Graph, param_ids: set, x=None, y=None) -> dict:
    """id(leaf) -> "parameter", "parameter (frozen)", "constant", "input" or "target"."""
    kinds = {}
    for t in graph.tensors:
        if t._ctx is not None:
            continue
        if id(t) in param_ids or t.requires_grad:
            kinds[id(t)] = "parameter" if t.requires_grad else "parameter (frozen)"
        else:
            kinds[id(t)] = "constant"
    if x is not None:
        kinds[id(x)] = "input"
    if y is not None:
        kinds[id(y)] = "target"
    return kinds


def graph_nodes(graph: Graph, naming, grads: dict, kinds: dict) -> list[GraphNode]:
    """One :class:`GraphNode` per tensor of ``graph``, in forward order."""
    rows = []
    for idx, t in enumerate(graph.tensors):
        fn = t._ctx
        value = t.array
        row = GraphNode(
            id=idx,
            name=_name(naming, t),
            op=fn.label if fn is not None else kinds.get(id(t), "constant"),
            op_class=type(fn).__name__ if fn is not None else None,
            inputs=[graph.index[id(p)] for p in fn.parents] if fn is not None else [],
            shape=list(value.shape),
            value=summary(value) if value.dtype.kind in "fiub" else "—",
            grad=summary(grads.get(id(t))),
            lookup=_lookup(fn, graph),
        )
        if fn is not None:
            for k, parent in enumerate(fn.parents):
                if not fn.needs_grad[k]:
                    continue
                formula = op_formula(fn, k)
                note = broadcast_note(fn, k, value.shape)
                row.formulas.append(
                    {"input": graph.index[id(parent)], "formula": formula, "note": note}
                )
        if value.size <= 16:
            row.values = np.asarray(value, dtype=np.float64).tolist()
            g = grads.get(id(t))
            row.grads = None if g is None else np.asarray(g, dtype=np.float64).tolist()
        rows.append(row)
    return rows


def _lookup(fn, graph: Graph) -> str | None:
    """A lookup op applied to its input's row, with the indices it read (``#0[ids], ids =
    [[1, 3, 4]]``, ``#2[:, 0]``): the indices are no node of the graph, so only this shows them."""
    if fn is None or _lookup_index(fn) is None or len(fn.parents) != 1:
        return None
    return op_expr(fn, [f"#{graph.index[id(fn.parents[0])]}"])


def _name(naming, t) -> str:
    """The tensor's name, and with classic names the textbook names of its elements beside it
    (``z1 (net_h1)``, ``0.weight (w1, w2)``), so the graph reads in the terms of sections 1-4."""
    name = naming.tensor(t)
    custom = [naming._custom.get((id(t), i)) for i in range(min(t.array.size, 5))]
    if not naming.classic or t.array.size > 4 or None in custom:
        return name
    return f"{name} ({', '.join(custom)})"


def backward_keeping_grads(graph: Graph, loss) -> dict:
    """id(tensor) -> ∂loss/∂tensor for every node, by ``loss.backward(retain_graph=True)``;
    every ``.grad`` (leaves' and retained inner ones) is put back as it was."""
    leaves = [t for t in graph.tensors if t._ctx is None and t.requires_grad]
    saved = [t.grad_array for t in leaves]
    retained = {id(fn): fn.retained for fn in graph.ops}
    inner = [t for t in graph.tensors if t._ctx is not None]
    inner_saved = [t.grad_array for t in inner]
    try:
        for t in leaves:
            t.grad_array = None
        for t in inner:
            t.grad_array = None
            t.retain_grad()
        seed = None if loss.array.size == 1 else np.ones_like(loss.array)
        loss.backward(seed, retain_graph=True)
        return {id(t): t.grad_array for t in graph.tensors}
    finally:
        for t, g in zip(leaves, saved):
            t.grad_array = g
        for t, g in zip(inner, inner_saved):
            t.grad_array = g
        for fn in graph.ops:
            fn.retained = retained[id(fn)]
