"""The NumPy tier of ``cr.compile``: a recorded graph written out as one straight-line function.

Each op becomes two lines of Python, its ``forward`` call and later its ``backward`` call, on
local variables; gradients are summed and sent to leaves exactly as ``engine.backward`` does,
in the order ``engine.topological_order`` gave at recording. The arithmetic is the ops' own,
so the results are bit-for-bit those of the eager step. Where the graph proves an array is the
step's own and read once, an op writes its result over it (same values; ``compile_reuse``).
The engine stays the one interpreter of graphs: this module only writes code, once per
recorded graph.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_graph import ARG, CONST, LEAF, RAND, VAL, Graph
from chainrule.autograd.compile_reuse import in_place_backwards, in_place_forwards
from chainrule.autograd.engine import _accumulate_leaf, sum_to_shape
from chainrule.ops.loss import CrossEntropy, plain_class_indices


class Fallback(Exception):  # noqa: N818 - a signal, not an error: the caller runs eagerly
    """Raised by generated code when this call's inputs need the eager path (bad labels)."""


def _acc(leaf, grad_in, grad) -> None:
    # engine.backward's hand-off to a leaf, common case first, the same way
    if (
        leaf.grad_array is None
        and grad_in.base is None
        and grad_in is not grad
        and grad_in.dtype == leaf.array.dtype
    ):
        leaf.grad_array = grad_in
    else:
        _accumulate_leaf(leaf, grad_in, grad)


def _name(ref) -> str:
    kind, i = ref
    return f"{kind}{i}"


def generate_source(graph: Graph, ns: dict) -> str:
    """Python source of ``step(a0, a1, ...) -> loss array`` for ``graph`` (``(loss, *outputs)``
    when ``graph.outputs`` names values to return too); fills ``ns`` with the objects the
    source names (op classes, options, leaves, per-call makers, effects)."""
    # One pass per phase: leaves, per-call arrays, checks, forward, effects, backward.
    args = ", ".join(f"a{i}" for i in range(graph.n_args))
    lines = [f"def step({args}):"]
    ns.update(np=np, sum_to_shape=sum_to_shape, _acc=_acc, Fallback=Fallback)
    ns["plain_class_indices"] = plain_class_indices
    for j, leaf in enumerate(graph.leaves):
        ns[f"L{j}"] = leaf
        lines.append(f"    p{j} = L{j}.array")
    for j, c in enumerate(graph.consts):
        ns[f"c{j}"] = c
    for k, node in enumerate(graph.nodes):  # checks before anything is drawn or changed
        labels = node.array_params.get("labels")
        if node.cls is CrossEntropy and labels is not None:
            ns[f"Z{k}"] = np.broadcast_to(np.empty((), node.dtype), graph_shape(graph, node))
            lines.append(f"    if not plain_class_indices(Z{k}, {_name(labels)}, -100):")
            lines.append("        raise Fallback")
    for j, (make, make_args) in enumerate(graph.sources):
        ns[f"M{j}"], ns[f"MA{j}"] = make, make_args
        lines.append(f"    r{j} = M{j}(*MA{j})")
    in_place = in_place_forwards(graph)
    for k, node in enumerate(graph.nodes):
        ns[f"C{k}"] = node.cls
        call = [_name(r) for r in node.refs]
        for name, value in node.params.items():
            ns[f"K{k}_{name}"] = value
            call.append(f"{name}=K{k}_{name}")
        for name, ref in node.array_params.items():
            call.append(f"{name}={_name(ref)}")
        lines.append(f"    f{k} = C{k}()")
        forward = "forward_in_place" if k in in_place else "forward"
        lines.append(f"    v{k} = f{k}.{forward}({', '.join(call)})")
        if node.needs_grad is not None:
            ns[f"NG{k}"] = node.needs_grad
            lines.append(f"    f{k}.needs_grad = NG{k}")
    for j, (effect, refs) in enumerate(graph.effects):
        ns[f"E{j}"] = effect
        call = []
        for i, ref in enumerate(refs):
            if ref[0] == "x":
                ns[f"EX{j}_{i}"] = ref[1]
                call.append(f"EX{j}_{i}")
            else:
                call.append(_name(ref))
        lines.append(f"    E{j}({', '.join(call)})")
    lines += _backward_lines(graph, ns)
    if graph.outputs:  # a fresh copy: nothing a later step computes can change what it returns
        copies = ", ".join(f"np.copy(v{k})" for k in graph.outputs)
        lines.append(f"    return v{graph.root}, {copies}")
    else:
        lines.append(f"    return v{graph.root}")
    return "\n".join(lines) + "\n"


def graph_shape(graph: Graph, node) -> tuple:
    """The recorded shape of ``node``'s first input."""
    kind, i = node.refs[0]
    if kind == VAL:
        return graph.nodes[i].shape
    if kind == ARG:
        return graph.arg_shapes[i]
    raise ValueError("cross-entropy logits from an unexpected source")


def _backward_lines(graph: Graph, ns: dict) -> list[str]:
    root = graph.nodes[graph.root]
    if len(root.shape) == 0:
        ns["ROOT_DTYPE"] = root.dtype
        lines = [f"    g{graph.root} = np.array(1, ROOT_DTYPE)"]
    else:
        lines = [f"    g{graph.root} = np.empty_like(v{graph.root})", f"    g{graph.root}.fill(1)"]
    lines += [f"    g{k} = None" for k in graph.order if k != graph.root]
    in_place = in_place_backwards(graph)
    for k in graph.order:
        node = graph.nodes[k]
        backward = "backward_in_place" if k in in_place else "backward"
        lines.append(f"    if g{k} is not None:")
        lines.append(f"        b = f{k}.{backward}(g{k})")
        for i, (ref, needed) in enumerate(zip(node.refs, node.needs_grad)):
            kind, j = ref
            if not needed or kind not in (VAL, LEAF):
                continue
            shape = graph.nodes[j].shape if kind == VAL else graph.leaves[j].array.shape
            lines.append(f"        t = b[{i}]")
            lines.append("        if t is not None:")
            if not node.cls.grads_match_inputs:
                lines.append(f"            if t.shape != {shape!r}:")
                lines.append(f"                t = sum_to_shape(t, {shape!r})")
            if kind == VAL:
                lines.append(f"            g{j} = t if g{j} is None else g{j} + t")
            else:
                lines.append(f"            _acc(L{j}, t, g{k})")
    return lines


def build_python_step(graph: Graph):
    """Compile the generated source; returns ``(step function, source text)``."""
    ns: dict = {}
    source = generate_source(graph, ns)
    return define(source, ns, "step"), source


def define(source: str, ns: dict, name: str):
    """The function ``name`` that ``source`` (generated here or in compile_numba from a recorded
    graph, never read from a file or taken from a caller) defines, with globals ``ns``.

    The one place chainrule runs code it wrote at run time; the test suite's exec guard
    (tests/io/pickle_guard.py) allows exactly this call.
    """
    code = compile(source, f"<cr.compile {name}>", "exec")
    exec(code, ns)  # noqa: S102
    return ns[name]


__all__ = ["ARG", "CONST", "LEAF", "RAND", "VAL", "Fallback", "build_python_step"]
