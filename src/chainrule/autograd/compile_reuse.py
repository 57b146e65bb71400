"""Which arrays ``cr.compile``'s NumPy tier may overwrite: ownership, proved from the graph.

An eager op never writes into an array it was handed: the engine cannot know who else holds
it (a hook, a retained gradient, another op that saved it). A recorded graph can know. Where
an op's value is a fresh array that its maker keeps no reference to, and exactly one op reads
it, that reader may write its own result over it, as hand-written NumPy does
(``np.maximum(z, 0, out=z)``). The same holds backward for a gradient that one consumer's
backward made fresh and that only this op receives.

An op opts in with ``forward_in_place`` / ``backward_in_place`` (same values as ``forward`` /
``backward``, written over the input); a maker vouches for its arrays with ``fresh_output``
(``forward`` returns a new array it does not keep) and ``fresh_grads`` (``backward`` returns new
arrays, one per input, kept by nobody).
"""

from __future__ import annotations

from collections import Counter

from chainrule.autograd.compile_graph import VAL, Graph


def _reads(graph: Graph) -> Counter:
    """How many times each node's value is read: by ops, options, effects or the caller."""
    reads: Counter = Counter()
    for node in graph.nodes:
        for kind, i in node.refs:
            if kind == VAL:
                reads[i] += 1
        for kind, i in node.array_params.values():
            if kind == VAL:
                reads[i] += 1
    for _, refs in graph.effects:
        for ref in refs:
            if ref[0] == VAL:
                reads[ref[1]] += 1
    for k in graph.outputs:
        reads[k] += 1
    reads[graph.root] += 1
    return reads


def in_place_forwards(graph: Graph) -> set[int]:
    """Nodes whose forward may overwrite their one input's array."""
    reads = _reads(graph)
    chosen = set()
    for k, node in enumerate(graph.nodes):
        if not hasattr(node.cls, "forward_in_place") or len(node.refs) != 1:
            continue
        kind, j = node.refs[0]
        maker = graph.nodes[j] if kind == VAL else None
        if (
            maker is not None
            and getattr(maker.cls, "fresh_output", False)
            and reads[j] == 1
            and maker.shape == node.shape
            and maker.dtype == node.dtype
        ):
            chosen.add(k)
    return chosen


def in_place_backwards(graph: Graph) -> set[int]:
    """Nodes whose backward may overwrite the gradient it receives."""
    consumers: dict[int, list] = {}
    for c, node in enumerate(graph.nodes):
        for ref, needed in zip(node.refs, node.needs_grad or ()):
            if ref[0] == VAL and needed:
                consumers.setdefault(ref[1], []).append(c)
    chosen = set()
    for k, node in enumerate(graph.nodes):
        if not hasattr(node.cls, "backward_in_place") or k == graph.root:
            continue
        users = consumers.get(k, [])
        if len(users) != 1:
            continue
        user = graph.nodes[users[0]]
        # the gradient arrives as the user's backward made it: fresh, of this node's shape
        if getattr(user.cls, "fresh_grads", False) and user.cls.grads_match_inputs:
            chosen.add(k)
    return chosen
