"""A custom Function's several outputs and its in-place (``ctx.mark_dirty``) outputs.

Several outputs use the layout of the linalg decompositions (``ops/linalg/_packed.py``): the
user's op is one node in the graph with one output, a flat array as long as its
differentiable outputs put end to end, and each output is a part read out of it
(:class:`OutputPart`, as the LSTM step's h' and c' are parts of its packed result). The parts'
gradients land side by side in the node's one gradient, which is split back into one gradient
per output for the user's ``backward(ctx, *grads)``. The flat output itself is never computed
(a read-only broadcast zero): each part hands back the very array the user's forward returned.

An output marked dirty is an input the forward changed in place and returned: it comes back as
the same tensor object, its version counter bumped and the custom node as its grad_fn, as in
PyTorch; the node's input is a stand-in carrying the tensor's history from before the write.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import function as _op
from chainrule.autograd.inplace import bump
from chainrule.errors import GraphError, NotSupportedError
from chainrule.tensor import Tensor

# where PyTorch's reprs place a custom Function's node: <torch.autograd.function.MyFnBackward ...>
CUSTOM_MODULE = "chainrule.autograd.function"


class _Slot:
    """One tensor output: its place in the flat gradient (``start`` None when it is not
    differentiable), its shape and dtype."""

    def __init__(self, start, shape, dtype):
        self.start, self.shape, self.dtype = start, shape, np.dtype(dtype)
        self.stop = None if start is None else start + int(np.prod(shape, dtype=np.int64))


class Outputs:
    """The layout of a custom Function's outputs: one slot per tensor, ``None`` per other
    value; ``reached`` holds the outputs a gradient reached in the running backward pass."""

    def __init__(self, outs: tuple, differentiable: set, node_name: str):
        self.slots, stop = [], 0
        for k, out in enumerate(outs):
            if not isinstance(out, Tensor):
                self.slots.append(None)
                continue
            slot = _Slot(stop if k in differentiable else None, out.shape, out.array.dtype)
            stop = slot.stop if slot.stop is not None else stop
            self.slots.append(slot)
        self.size = stop
        kinds = [outs[k].array.dtype for k in sorted(differentiable)]
        self.dtype = np.result_type(*kinds)
        self.node_name = node_name
        self.reached: set = set()

    def flat(self) -> np.ndarray:
        """The node's output: no memory of its own (its parts return the user's arrays)."""
        return _op._zero_view((self.size,), self.dtype)

    def split(self, grad, graph: bool, materialize: bool) -> tuple:
        """One gradient per output out of the node's flat gradient (an array, or a tensor in
        ``graph`` mode): zeros for a tensor output no gradient reached (``None`` when
        ``materialize`` is off), ``None`` for an output that is not a tensor."""
        reached, self.reached = self.reached, set()
        grads = []
        for k, slot in enumerate(self.slots):
            if slot is None or (not materialize and k not in reached):
                grads.append(None)
            elif slot.start is None:  # not differentiable: PyTorch's materialized zeros
                grads.append(Tensor._make(np.zeros(slot.shape, slot.dtype), False))
            else:
                piece = grad[slot.start : slot.stop].reshape(slot.shape)
                if graph:
                    grads.append(piece if piece.dtype == slot.dtype else piece.to(slot.dtype))
                else:
                    grads.append(Tensor._make(piece.astype(slot.dtype, copy=False), False))
        return tuple(grads)


class OutputPart(_op.Function):
    """Output k of a custom Function with several outputs: the user's own array, read out of
    the node's flat output; its gradient goes to its place in the flat gradient."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False
    grads_match_inputs = True
    label = "output"
    formulas = ("1 (at its place)",)

    def forward(self, flat, value, outputs, index):
        self.outputs, self.index = outputs, index
        return value

    def backward(self, grad):
        outputs, slot = self.outputs, self.outputs.slots[self.index]
        outputs.reached.add(self.index)
        full = np.zeros(outputs.size, outputs.dtype)
        full[slot.start : slot.stop] = np.ravel(grad)
        return (full,)

    def backward_graph(self, grad):
        """The same placement with tensor ops, so it is differentiated again."""
        from chainrule.ops.shape import cat

        outputs, slot = self.outputs, self.outputs.slots[self.index]
        outputs.reached.add(self.index)
        flat = grad.reshape(-1)
        if flat.dtype != outputs.dtype:
            flat = flat.to(outputs.dtype)
        zeros = [np.zeros(n, outputs.dtype) for n in (slot.start, outputs.size - slot.stop)]
        before, after = (Tensor._make(z, False) for z in zeros)
        return (cat([before, flat, after]),)

    def name(self) -> str:
        """The custom node's name, as PyTorch's grad_fn of every output of the Function."""
        return self.outputs.node_name

    def __repr__(self) -> str:  # PyTorch's, as the node's own (custom.py)
        return _op.node_repr(f"{CUSTOM_MODULE}.{self.outputs.node_name}", self)

    def register_hook(self, fn):
        refuse_hooks(self.outputs.node_name)

    register_prehook = register_hook


def refuse_hooks(node_name: str):
    raise NotSupportedError(
        f"hooks on the grad_fn of a custom Function with several outputs ({node_name}) are not "
        f"supported; hook its output tensors (out.register_hook(fn)) or its inputs instead"
    )


def record_several(node_cls, parents: list, outs: tuple, differentiable: set, **params):
    """The node of a custom Function with several outputs, and its outputs in the graph: one
    part per differentiable output, the others as the forward gave them."""
    outputs = Outputs(outs, differentiable, node_cls.__name__)
    flat_out = outputs.flat()
    flat = node_cls.apply(*parents, out=flat_out, outputs=outputs, **params)
    results = list(outs)
    for k in sorted(differentiable):
        results[k] = OutputPart.apply(flat, value=outs[k].array, outputs=outputs, index=k)
    return results


# ---- ctx.mark_dirty: outputs changed in place ---------------------------------------------
def dirty_outputs(name: str, dirty: list, outs: tuple, recording: bool) -> list:
    """The output positions of the tensors marked dirty, checked as PyTorch checks them; each
    one's version counter is bumped (the Function's write, on top of the in-place op's own)."""
    positions = []
    for tensor in dirty:
        k = next((k for k, out in enumerate(outs) if out is tensor), None)
        if k is None:
            raise GraphError(
                f"{name}: some elements marked as dirty during the forward method were not "
                f"returned as output. The inputs that are modified inplace must all be "
                f"outputs of the Function: return the tensor given to ctx.mark_dirty"
            )
        if recording and tensor._ctx is None and tensor.requires_grad:
            raise GraphError(
                f"{name}: a leaf Variable that requires grad has been used in an in-place "
                f"operation (ctx.mark_dirty); pass a copy (x.clone()), or call it under "
                f"cr.no_grad()"
            )
        positions.append(k)
    for k in positions:
        bump(outs[k])
    return positions


def before_writes(name: str, dirty: list) -> dict:
    """id(tensor) → a stand-in for each input the forward changed in place: the same array,
    with the tensor's history from before the write, as the node's input. A tensor of the
    graph is checked as autograd/inplace_graph.py checks its own writes: one whose memory
    something else still reads (a view of it, an op that saved it) is refused."""
    from chainrule.autograd.inplace_graph import refuse_unsafe

    stand_ins = {}
    for tensor in dirty:
        if id(tensor) in stand_ins:
            continue
        if tensor._ctx is not None:
            try:
                refuse_unsafe(tensor, "ctx.mark_dirty")
            except GraphError as err:
                raise GraphError(
                    f"{name}: {err} (its forward has written the values already; the tensor's "
                    f"graph is left as before the call)"
                ) from None
        old = Tensor._make(tensor.array, False)
        old._requires_grad, old._ctx = tensor._requires_grad, tensor._ctx
        stand_ins[id(tensor)] = old
    return stand_ins


def adopt(tensor: Tensor, result: Tensor, old: Tensor) -> Tensor:
    """``tensor`` itself, now the output ``result`` of the custom node (PyTorch's in-place
    output keeps its identity and takes the node as its grad_fn); ops that read ``tensor``
    before are led to ``old``, the version they read, as PyTorch's."""
    from chainrule.autograd.inplace_graph import note_rewrite

    note_rewrite(result._ctx, old)
    tensor._ctx, tensor._requires_grad = result._ctx, result._requires_grad
    return tensor
