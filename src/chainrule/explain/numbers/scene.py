"""The recorded computation an explanation reads: the graph below the loss after one backward
pass, the network's layers (when it is a chain of them), the names of every element, and the
parameters. The numbers layer computes from it; the section writers take names from it."""

from __future__ import annotations

import numpy as np

from chainrule.explain.chain import Naming, detect_layers
from chainrule.explain.graph import Graph


class Scene:
    """The graph below ``loss``, backpropagated once with every gradient kept.

    Attributes:
        graph: the :class:`~chainrule.explain.graph.Graph`.
        loss, out, x, y: the loss, the network's output, its input and target (None for a
            graph explained without a model).
        named: (name, tensor) of the parameters the graph uses; ``params``, ``trained`` (those
            that require grad), ``param_names`` (id -> name, every parameter given).
        layers: the :class:`~chainrule.explain.chain.Layer` chain, or None (op by op).
        naming: the :class:`~chainrule.explain.chain.Naming` of every element.
        batch: samples in the batch (1 for an expression explained without a model).
        loss_ops: the loss's own ops after the network's output (None when not enumerable).
        loss_sums: id(tensor) -> ∂E/∂tensor summed over the paths through the loss's ops.
        model: the float64 model copy that produced the graph, when there is one.
        notes: caveats for the report's opening (e.g. that the model ran in eval mode).

    ``outputs`` (id(tensor) -> name, from ``twin.module_outputs``) names the tensors between a
    model's layers; ``calls`` (from ``calls.module_calls``) holds each layer's ops call by call.
    """

    def __init__(
        self, loss, out, x, y, named, classic: bool = False, model=None, outputs=None, calls=None
    ):
        self.loss, self.out, self.x, self.y, self.model = loss, out, x, y, model
        self.calls = calls or {}
        self.notes: list[str] = []
        self.graph = graph = Graph(loss)
        for t in graph.tensors:
            if t._ctx is not None:
                t.retain_grad()
        for _, p in named:
            p.grad_array = None
        loss.backward(retain_graph=True)
        self.named = [(n, p) for n, p in named if id(p) in graph.index]
        self.unused = {n for n, p in named if id(p) not in graph.index}
        self.param_names = {id(p): n for n, p in named}
        self.params = [p for _, p in self.named]
        self.trained = [p for p in self.params if p.requires_grad]
        layers = detect_layers(graph, x, out) if x is not None else None
        if layers is not None and layers[-1].a is not out:
            layers = None
        self.layers = layers
        if classic and (layers is None or x.array.shape[0] != 1):
            raise ValueError(
                "names='classic' needs a network of Linear layers and activations and one "
                "sample (x of shape (features,) or (1, features))"
            )
        self.naming = Naming(
            graph, layers, self.param_names, x, y, classic=classic, outputs=outputs
        )
        # a model's input is batched by explain() (twin.prepare), layered or op by op alike
        self.batch = x.array.shape[0] if (x is not None and x.array.ndim > 1) else 1
        self.loss_ops = self._loss_ops()
        self.loss_sums = graph.path_sums(self.loss_ops) if self.loss_ops is not None else {}

    def _loss_ops(self):
        if not self.layers:
            return None
        chain = set()
        for layer in self.layers:
            chain.add(id(layer.op))
            if layer.bias_op is not None:
                chain.add(id(layer.bias_op))
            chain.update(id(fn) for fn in layer.acts)
        ops = [fn for fn in self.graph.ops if id(fn) not in chain]
        if not all(self.graph.enumerable(fn) for fn in ops):
            return None
        return ops

    def next_layer(self, layer):
        return self.layers[layer.index]  # index is 1-based: the next layer

    def factor_at(self, fn, k: int, i: int, j: int) -> float:
        """∂out_j/∂in_i of input k of ``fn``, from the op's backward (0 where independent)."""
        for jj, v in self.graph.columns(fn)[k].get(i, ()):
            if jj == j:
                return v
        return 0.0

    def chosen(self, param) -> list:
        """The (tensor, flat index) pairs to spell out: ``param`` parsed, or one weight of each
        layer (every trained leaf of a graph without layers)."""
        if param is None:
            if self.layers:
                picks = [layer.weight for layer in self.layers if layer.weight.requires_grad]
            else:
                picks = list(self.trained)
            return [(p, _first_used(p)) for p in picks or self.trained[:1]]
        names = [param] if isinstance(param, str) else list(param)
        for name in names:
            self._check_used(str(name))
        return [self.naming.parse(n, self.params) for n in names]

    def _check_used(self, name: str) -> None:
        """A parameter of the model that the forward pass never read has no path to the loss
        (its ``.grad`` stays None, in PyTorch too): say so, not "unknown parameter"."""
        base = name.split("[", 1)[0].strip()
        if base in self.unused:
            raise ValueError(
                f"{name!r}: the model has {base}, but this forward pass did not use it, so the "
                f"loss does not depend on it and its gradient is None (as in PyTorch): there "
                f"is no chain rule to write out. Parameters the forward pass used: "
                f"{self.naming.valid_names(self.params)}"
            )


def _first_used(p) -> int:
    """Element 0, or where its gradient is 0 (an embedding row the ids did not look up, a
    weight behind an off ReLU) the first element with a gradient: a chain worth reading."""
    grad = p.grad_array
    if grad is None or grad.reshape(-1)[0] != 0:
        return 0
    used = np.flatnonzero(grad)
    return int(used[0]) if used.size else 0
