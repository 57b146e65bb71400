"""Read the graph the engine recorded: ops in forward order, the tensor each op produced, who
consumes what, and the local derivative of any op, obtained from the op's own ``backward``.

Nothing here differentiates anything itself: a local factor ∂out_j/∂in_i is the op's
``backward`` applied to a one-hot upstream gradient e_j, summed back to the input's shape by
the engine's own :func:`~chainrule.autograd.engine.sum_to_shape`.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from chainrule.autograd.engine import sum_to_shape, topological_order
from chainrule.autograd.layer_chain import expand_all
from chainrule.errors import GraphError
from chainrule.tensor import Tensor

# Beyond these sizes an op's local derivatives are not enumerated element by element (one
# backward per output element); the report summarises instead.
OUTPUT_LIMIT = 4096
JACOBIAN_LIMIT = 60_000_000


class Graph:
    """The recorded graph below ``root`` (which must still hold its saved values).

    Attributes:
        root: the output tensor (usually the scalar loss).
        ops: every op, in forward order (each after the ops that made its inputs).
        output_of: op -> the tensor it produced.
        producer: id(tensor) -> op (None for leaves).
        consumers: id(tensor) -> list of (op, input position).
        tensors: every tensor, leaves where first used, then each op's output.
    """

    def __init__(self, root: Tensor):
        if root._ctx is None:
            raise GraphError(
                "explain/trace needs a tensor computed from inputs that require grad; "
                "this tensor is a leaf (no graph was recorded)"
            )
        if root._ctx.freed:
            raise GraphError(
                "the graph below this tensor was freed by backward(); call trace() before "
                "backward(), or pass retain_graph=True to backward()"
            )
        expand_all(root)  # a Sequential's layers recorded as one node: op by op here
        self.root = root
        self.ops = list(reversed(topological_order(root._ctx)))
        self.output_of = {root._ctx: root}
        self.consumers: dict[int, list] = {}
        for fn in self.ops:
            for k, parent in enumerate(fn.parents):
                if parent._ctx is not None:
                    self.output_of[parent._ctx] = parent
                self.consumers.setdefault(id(parent), []).append((fn, k))
        self.tensors: list[Tensor] = []
        seen: set[int] = set()
        for fn in self.ops:
            for parent in fn.parents:
                if parent._ctx is None and id(parent) not in seen:
                    seen.add(id(parent))
                    self.tensors.append(parent)
            out = self.output_of[fn]
            seen.add(id(out))
            self.tensors.append(out)
        self.index = {id(t): i for i, t in enumerate(self.tensors)}
        self._columns: dict[int, list] = {}

    def producer(self, t: Tensor):
        return t._ctx

    def __contains__(self, t: Tensor) -> bool:
        return id(t) in self.index

    # ---- local derivatives, from each op's own backward -----------------------------------
    def local_row(self, fn, j: int) -> list:
        """∂out_j/∂input for every input of ``fn`` (an array of the input's shape, or None)."""
        out = self.output_of[fn].array
        dtype = out.dtype if out.dtype.kind == "f" else np.float64
        seed = np.zeros(out.shape, dtype=dtype)
        seed.flat[j] = 1
        grads = fn.backward(seed)
        row = []
        for parent, needed, grad in zip(fn.parents, fn.needs_grad, grads):
            if not needed or grad is None:
                row.append(None)
                continue
            grad = np.asarray(grad)
            if grad.shape != parent.array.shape:
                grad = sum_to_shape(grad, parent.array.shape)
            row.append(np.asarray(grad, dtype=np.float64))  # read only: no copy
        return row

    def jacobian_size(self, fn) -> int:
        n_out = self.output_of[fn].array.size
        return max((n_out * p.array.size for p in fn.parents), default=0)

    def enumerable(self, fn) -> bool:
        """Whether the op is small enough to list its local derivatives element by element."""
        n_out = self.output_of[fn].array.size
        return n_out <= OUTPUT_LIMIT and self.jacobian_size(fn) <= JACOBIAN_LIMIT

    def columns(self, fn) -> list:
        """Per input k: a :class:`Column` mapping input flat index i -> list of
        (output flat index j, ∂out_j/∂in_i), or None for an input that needs no gradient.

        Only nonzero factors are kept. Built once per op from ``out.size`` one-hot backwards.
        """
        cached = self._columns.get(id(fn))
        if cached is not None:
            return cached
        if not self.enumerable(fn):
            raise GraphError(
                f"op {type(fn).__name__} is too large to explain element by element "
                f"(Jacobian of {self.jacobian_size(fn):,} entries); explain a smaller batch"
            )
        parts: list = [None if not need else ([], [], []) for need in fn.needs_grad]
        for j in range(self.output_of[fn].array.size):
            for k, grad in enumerate(self.local_row(fn, j)):
                if grad is None:
                    continue
                flat = grad.reshape(-1)
                nonzero = np.flatnonzero(flat)
                parts[k][0].append(nonzero)
                parts[k][1].append(np.full(nonzero.size, j))
                parts[k][2].append(flat[nonzero])
        cols = [None if p is None else Column(*p) for p in parts]
        self._columns[id(fn)] = cols
        return cols

    def successors(self, t: Tensor, i: int):
        """Yield (op, k, j, factor): element i of ``t`` feeds element j of op's output."""
        for fn, k in self.consumers.get(id(t), ()):
            col = self.columns(fn)[k]
            if col is None:
                continue
            for j, factor in col.get(i, ()):
                yield fn, k, j, factor

    # ---- sums over paths ---------------------------------------------------------------
    def path_sums(self, ops=None) -> dict:
        """id(tensor) -> array: per element, Σ over its paths to the root of Π of the factors.

        By the chain rule this is ∂root/∂tensor; the tests check it against the engine's ``.grad``.
        """
        sums = {id(self.root): np.ones(self.root.array.shape, dtype=np.float64)}
        for fn in reversed(self.ops if ops is None else ops):
            out = self.output_of[fn]
            upstream = sums.get(id(out))
            if upstream is None:
                continue
            cols = self.columns(fn)
            for k, parent in enumerate(fn.parents):
                if cols[k] is None:
                    continue
                acc = sums.setdefault(id(parent), np.zeros(parent.array.shape, dtype=np.float64))
                flat_up = upstream.reshape(-1)
                flat_acc = acc.reshape(-1)
                for i, entries in cols[k].items():
                    for j, factor in entries:
                        flat_acc[i] += factor * flat_up[j]
        return sums

    def paths(self, t: Tensor, i: int, stop: Tensor | None = None, limit: int = 100_000):
        """Every element path from element ``i`` of ``t`` to the root (or to ``stop``).

        A path is a list of steps ``(op, k, i_in, j_out, factor)``. Raises GraphError when there
        are more than ``limit`` paths.
        """
        found = []
        end = stop if stop is not None else self.root
        stack = [(t, i, [])]
        while stack:
            tensor, index, steps = stack.pop()
            if tensor is end:
                found.append(steps)
                if len(found) > limit:
                    raise GraphError(f"more than {limit:,} paths; the report summarises instead")
                continue
            nexts = list(self.successors(tensor, index))
            for fn, k, j, factor in reversed(nexts):
                stack.append((self.output_of[fn], j, [*steps, (fn, k, index, j, factor)]))
        return found

    def path_table(self, t: Tensor, i: int, stop: Tensor | None = None, end_weight=None):
        """Count and add up the paths from element ``i`` of ``t`` to the root (or ``stop``)
        without listing them: a :class:`PathTable` over the part of the graph they cross.

        ``end_weight`` (flat, one number per element of ``stop``) is a last factor for each path,
        ∂E/∂stop_j, when the paths end at ``stop``. Costs one visit per element and factor on
        those paths, however many paths there are.
        """
        return PathTable(self, t, i, stop if stop is not None else self.root, end_weight)


class Column:
    """One input's local factors: for each input element i, the (j, ∂out_j/∂in_i) of the output
    elements it feeds, j ascending. Kept as flat arrays sorted by i (a big layer's weight has a
    factor per element, and a dict of lists of that size takes longer to build than the
    backwards that compute it); read like a dict with :meth:`get` and :meth:`items`."""

    def __init__(self, inputs: list, outputs: list, values: list):
        inputs = np.concatenate(inputs) if inputs else np.zeros(0, dtype=np.intp)
        # a stable sort keeps each input's outputs in the order they were computed: j ascending
        order = np.argsort(inputs, kind="stable")
        self._inputs = inputs[order]
        self._outputs = np.concatenate(outputs)[order] if outputs else self._inputs
        self._values = np.concatenate(values)[order] if values else np.zeros(0)
        self._keys, self._starts = np.unique(self._inputs, return_index=True)
        self._ends = np.append(self._starts[1:], self._inputs.size)

    def _slice(self, pos: int) -> list:
        start, end = self._starts[pos], self._ends[pos]
        return list(
            zip(self._outputs[start:end].tolist(), self._values[start:end].astype(float).tolist())
        )

    def get(self, i: int, default=()):
        pos = int(np.searchsorted(self._keys, i))
        if pos < self._keys.size and self._keys[pos] == i:
            return self._slice(pos)
        return default

    def items(self):
        for pos, i in enumerate(self._keys.tolist()):
            yield i, self._slice(pos)

    def __len__(self) -> int:
        return int(self._keys.size)


class PathTable:
    """Paths from one tensor element to an end tensor, summarised node by node.

    For every element ``n`` the paths reach, ``table[n] = (count, total, best)``: how many paths
    lead from ``n`` to the end, the sum of their products and the largest |product|. By the chain
    rule ``total`` at the start is ∂end/∂start: the sum over the paths through a node is the
    local factor into it times the sum over the paths on from it, so each element is visited once
    (dynamic programming) instead of once per path.

    Attributes:
        count: the number of paths from the start (a Python int: exact, however large).
        total: Σ over all paths of the product of their factors.
        first: (op, k, j, factor, count, total) for each first step out of the start.
    """

    def __init__(self, graph: Graph, t: Tensor, i: int, end: Tensor, end_weight=None):
        self.graph = graph
        self.end = end
        self.start = (graph.index[id(t)], i)
        nexts: dict[tuple, list] = {}
        stack = [self.start]
        while stack:  # every element on some path, with its outgoing steps
            node = stack.pop()
            if node in nexts:
                continue
            tensor = graph.tensors[node[0]]
            nexts[node] = []
            if tensor is end:
                continue
            for fn, k, j, factor in graph.successors(tensor, node[1]):
                child = (graph.index[id(graph.output_of[fn])], j)
                nexts[node].append((fn, k, j, factor, child))
                if child not in nexts:
                    stack.append(child)
        self.nexts = nexts
        table: dict[tuple, tuple] = {}
        # graph.tensors is in forward order, so a reverse sort visits each element after all
        # the elements it feeds
        for node in sorted(nexts, reverse=True):
            if graph.tensors[node[0]] is end:
                w = 1.0 if end_weight is None else float(end_weight[node[1]])
                table[node] = (1, w, abs(w))
                continue
            count, total, best = 0, 0.0, 0.0
            for _, _, _, factor, child in nexts[node]:
                c, s, m = table[child]
                count += c
                total += factor * s
                best = max(best, abs(factor) * m)
            table[node] = (count, total, best)
        self.table = table
        self.count, self.total, _ = table[self.start]
        self.first = [
            (fn, k, j, factor, *table[child][:2]) for fn, k, j, factor, child in nexts[self.start]
        ]

    def best(self, limit: int) -> list:
        """The ``limit`` paths with the largest |product|, largest first, as lists of steps
        ``(op, k, i_in, j_out, factor)`` like :meth:`Graph.paths`.

        A best-first search: a partial path's priority is |its product so far| × the largest
        |product| of any way on from its last element, which is exact, so the search walks
        straight down each path it returns and never lists the others.
        """
        order = itertools.count()  # ties go first-come, first-served: the same paths every run
        heap = [(-self.table[self.start][2], next(order), self.start, 1.0, None)]
        found = []
        while heap and len(found) < limit:
            _, _, node, product, link = heapq.heappop(heap)
            if self.graph.tensors[node[0]] is self.end:
                steps = []
                while link is not None:
                    link, step = link
                    steps.append(step)
                found.append(steps[::-1])
                continue
            for fn, k, j, factor, child in self.nexts[node]:
                count, _, best = self.table[child]
                if not count:
                    continue
                value = product * factor
                step = (fn, k, node[1], j, factor)
                heapq.heappush(heap, (-abs(value) * best, next(order), child, value, (link, step)))
        return found
