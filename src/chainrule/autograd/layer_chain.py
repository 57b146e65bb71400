"""A run of layers recorded as one node: ``nn.Sequential``'s fast path (nn/sequential_fast.py).

A tiny network's training step spends most of its time in Python, not in NumPy: each layer's
module call, argument checks, op recording and the engine's hand-off cost a few microseconds,
more than the arithmetic of a 2-16-16-1 network. :class:`LayerChain` runs the layers' own op
classes (``Linear``, ``Sigmoid``, ``Tanh``, ``ReLU``, ...: the same forward and backward methods,
so the same kernels and the same bits) in one loop forward and one loop backward, and the
graph holds one node for the run instead of one per layer.

The node is a stand-in, not a new op: as soon as anyone looks at the graph (``grad_fn``,
``next_functions``, node hooks, second derivatives) :meth:`LayerChain.expand` links the
layers' ops as the ordinary per-layer nodes with tensors between them, exactly the graph the
unfused forward would have recorded, and the tensor's ``grad_fn`` is the last of them.
"""

from __future__ import annotations

from numpy import ndarray

from chainrule.autograd import engine as _engine
from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import enable_grad
from chainrule.autograd.inplace import _CLOCK
from chainrule.ops.elementwise import Mul
from chainrule.tensor import Tensor

_new_object = object.__new__


class LayerChain(Function):
    """Linear layers and elementwise activations, run and differentiated as one node.

    ``steps`` holds, per layer, ``(op, first)``: the layer's op instance (its forward already
    run, so it holds what its backward reads) and, for a linear layer, the index of its weight
    among the node's parents (its bias, if any, follows it); for an activation ``-1``, or
    ``-2`` where its input takes no gradient. A dropout in training is a ``Mul`` op (input ×
    its mask, which the op holds as ``b``) in an activation's place.
    ``outputs`` holds each layer's output array, for :meth:`expand`.
    """

    # The last layer's op class, in a slot that survives backward()'s release of the node's
    # saved state (its __dict__): the released node still answers grad_fn as that op would.
    __slots__ = ("last_kind",)

    label = "layers"
    grads_match_inputs = True  # each layer's backward gives its inputs' exact shapes
    backward_writes_over_grad = True
    expands = True  # Tensor.grad_fn and next_functions call expand() first

    def backward(self, grad):
        return self._backward(grad, False)

    def backward_in_place(self, grad):
        return self._backward(grad, True)

    def _backward(self, grad, own: bool):
        grads = [None] * len(self.parents)
        for op, first in reversed(self.steps):
            if first < 0:  # an activation: write over a gradient no one else holds
                if first == -2:  # its input takes no gradient, nor anything below it
                    grad = None
                    break
                # as the engine decides it (smaller gradients are cheaper made fresh)
                if (
                    own
                    and type(op).backward_writes_over_grad
                    and type(grad) is ndarray
                    and grad.size >= _engine._REUSE_MIN
                ):
                    grad = op.backward_in_place(grad)[0]
                else:
                    grad = op.backward(grad)[0]
            else:
                layer_grads = op.backward(grad)
                grads[first] = layer_grads[1]
                if len(layer_grads) == 3:
                    grads[first + 1] = layer_grads[2]
                grad = layer_grads[0]
                if grad is None:  # nothing below this layer takes a gradient
                    break
            own = True  # every gradient below the top is the chain's own fresh array
        grads[0] = grad
        return grads

    @property
    def inputs_read_for(self) -> dict:
        """What autograd.inplace checks: the input is read for the first weight's gradient, a
        weight for the gradient of its layer's input, a bias never (as each layer's op)."""
        read = {"input": (0, self.steps[0][1] if self.steps[0][1] > 0 else None)}
        below = 0  # a parent whose need of a gradient says whether the layer's input needs one
        for op, first in self.steps:
            if first > 0:
                needs = op.needs_grad
                read[f"weight{first}"] = (first, below if needs[0] else None)
                if len(needs) == 3:
                    read[f"bias{first}"] = (first + 1, None)
                if not needs[0]:
                    below = first if needs[1] else first + 1
        return read

    # ---- the ordinary graph, on demand ------------------------------------------------------
    def expand(self, tensor: Tensor):
        """Link the layers' ops as per-layer nodes under ``tensor`` (this node's output) and
        return the last of them, now ``tensor``'s op."""
        if "steps" not in self.__dict__:  # released by backward(): the last layer's op, freed
            node = tensor._ctx = self.last_kind()  # (as the per-layer graph's released op)
            return node
        h = self.parents[0]
        epoch = self.epoch
        parents = self.parents
        last = len(self.steps) - 1
        for i, (op, first) in enumerate(self.steps):
            if first >= 0:
                inputs = (h, *parents[first : first + len(op.needs_grad) - 1])
            elif type(op) is Mul:  # a dropout: its mask a constant input, as x * mask records
                inputs = (h, Tensor._make(op.b, False))
            else:
                inputs = (h,)
            needs_grad = tuple(t._requires_grad for t in inputs)
            if i == last:
                out = tensor
            else:
                out = Tensor._make(self.outputs[i], False)
            if True in needs_grad:
                op.parents, op.needs_grad, op.grad_out = inputs, needs_grad, None
                if epoch:
                    op.epoch = epoch
                out._requires_grad, out._ctx = True, op
            h = out
        tensor._ctx = h._ctx
        retained = self.retained
        if retained is not None:
            h._ctx.retained = retained
        return h._ctx

    def backward_graph(self, grad):
        """Second derivatives: the layers' ops run again on tensors, so their graph
        backward has a graph beneath it, then that backward from the top layer down.

        Fresh ops, not this node's: the graph of the gradients may hold this node too (through
        the output), and one op must not be two nodes of one graph."""
        with enable_grad():
            h = self.parents[0]
            ops = []
            for op, first in self.steps:
                if first < 0 and type(op) is Mul:  # a dropout: the same mask again
                    h = Mul.apply(h, Tensor._make(op.b, False))
                elif first < 0:
                    options = op.__dict__.get("options")
                    h = type(op).apply(h, **options) if options else type(op).apply(h)
                else:
                    h = type(op).apply(h, *self.parents[first : first + len(op.needs_grad) - 1])
                ops.append(h._ctx)
        grads = [None] * len(self.parents)
        for node, (_, first) in zip(reversed(ops), reversed(self.steps)):
            if node is None:  # not recorded: nothing at or below it takes a gradient
                break
            layer_grads = node.backward_graph(grad)
            if first >= 0:
                grads[first] = layer_grads[1]
                if len(layer_grads) == 3:
                    grads[first + 1] = layer_grads[2]
            grad = layer_grads[0]
        grads[0] = grad
        return tuple(grads)


def expand_all(root: Tensor) -> None:
    """Expand every :class:`LayerChain` below ``root`` into its per-layer nodes, for the tools
    that read a graph op by op (``cr.trace``, ``cr.explain``: explain/graph.py)."""
    stack, seen = [root], set()
    while stack:
        tensor = stack.pop()
        fn = tensor._ctx
        if fn is None or id(fn) in seen:
            continue
        if fn.expands:
            fn = fn.expand(tensor)
        seen.add(id(fn))
        stack.extend(fn.parents)


def record(steps: list, outputs: list, parents: tuple, out) -> Tensor:
    """The result tensor of a chain whose layers ran, linked to one :class:`LayerChain`."""
    node = _new_object(LayerChain)
    node.parents = parents
    node.needs_grad = tuple([p._requires_grad for p in parents])
    node.grad_out = None
    if _CLOCK[0]:
        node.epoch = _CLOCK[0]
    node.steps = steps
    node.outputs = outputs
    node.last_kind = type(steps[-1][0])
    result = _new_object(Tensor)
    result.array = out
    result.grad_array = None
    result.name = None
    result._requires_grad = True
    result._ctx = node
    return result
