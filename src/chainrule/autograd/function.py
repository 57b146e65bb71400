"""The op base class: one subclass per op, forward and local derivative side by side."""

from __future__ import annotations

from functools import partial

import numpy as np

from chainrule.autograd.grad_fn_names import keep_name
from chainrule.autograd.grad_mode import (
    _INFERENCE_CLASS,
    _INFERENCE_LIVE,
    _GradMode,
    inference_result,
    refuse_saving_inference,
)
from chainrule.autograd.inplace import _CLOCK, GRAPH_WRITES, REWRITE_CHECK
from chainrule.tensor import Tensor

_new_object = object.__new__
_ONE_NEEDS_GRAD = (True,)


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(self, *arrays, **params)`` returning one ``np.ndarray`` and
    ``backward(self, grad)`` returning one array (or ``None``) per input, in input order. The
    instance is the op's context: ``forward`` saves what ``backward`` needs as named attributes
    (``self.out``, ``self.x``). ``label`` names the op and ``formulas`` gives, per input, the
    local derivative ``∂out/∂input`` as text; the explainer prints both.

    ``backward`` may return the upstream ``grad`` itself (no copy) and may return arrays of a
    broadcast shape: the engine sums each gradient back to its input's shape. It must not return
    one freshly made array for two inputs, and must never modify ``grad`` in place. An op whose
    gradients always have exactly its inputs' shapes may set ``grads_match_inputs = True`` so
    the engine skips that check (``tests/test_engine.py`` verifies every op that does).
    """

    label = "?"
    formulas: tuple[str, ...] = ()

    # Engine bookkeeping. Class-level defaults keep op creation cheap: an op that records
    # itself sets only ``parents``, ``needs_grad`` and ``grad_out`` on the instance (grad_out
    # there too: backward reads it for every op, and an instance miss that falls back to the
    # class costs a generic attribute lookup, about 1 % of a small op's forward and backward).
    parents: tuple = ()
    needs_grad: tuple = ()
    grad_out = None  # gradient of the loss w.r.t. this op's output, summed during backward
    retained = None  # hooks.OutputWatch: retain_grad() and hooks of the op's output
    # True where backward always returns gradients of exactly the inputs' shapes (no
    # broadcasting to undo): the engine then skips the shape check for each input.
    grads_match_inputs = False  # (this flag and the next are read from the class, not the op)
    # True where the op has ``backward_in_place`` (the same gradient written over ``grad``):
    # the engine calls it when no one else can see the incoming gradient (see engine.backward)
    backward_writes_over_grad = False
    # True for a node standing in for several ops (autograd.layer_chain): it has expand(),
    # and whatever shows the graph to the user expands it into those ops first
    expands = False
    _mark = None

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def backward_graph(self, grad):
        """Like ``backward``, but on tensors and recorded in the graph, for second derivatives
        (``autograd.grad(..., create_graph=True)``). Ops that support it override this."""
        name = type(self).__name__
        raise NotImplementedError(
            f"second derivatives (create_graph=True) through {name} are not supported: {name} "
            f"has a backward on arrays but no backward_graph (its gradients written with "
            f"tensor ops). Every built-in op has one; add one to {name}, or write it as a "
            f"cr.autograd.Function, whose tensor backward is differentiated as it runs"
        )

    # Ops whose backward reads none of their inputs' values (only shapes) set this to False:
    # changing such an input in place before backward() is then harmless (see autograd.inplace).
    saves_inputs = True
    epoch = 0  # the in-place clock when the op was recorded (autograd.inplace)
    # Ops whose backward reads no array at all (only shapes, axes, slices: add, sum, reshape,
    # basic indexing) set this to False. As PyTorch's nodes that save no tensor, they outlive a
    # backward() without retain_graph, so a second backward() may pass through them again.
    saves_tensors = True
    released = False  # True once backward() has released an op that saves no tensors
    # True where grad_fn.name() reads how the op was called (grad_fn_names._BY_CALL): the name
    # is kept once the op is handed to the user, as PyTorch's node keeps its name.
    named_by_call = False

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        """Run the op on tensors; record it in the graph if grad mode is on and an input needs
        grad. The one way every op runs: functions, operators and modules all come here."""
        fn = cls()
        # Ops take one to three tensors: unpacking them by hand saves the list and the generator
        # that a general loop costs (about a third of a small op's overhead).
        n_inputs = len(inputs)
        if n_inputs == 2:
            a, b = inputs
            out = fn.forward(a.array, b.array, **params) if params else fn.forward(a.array, b.array)
            grad_a, grad_b = a._requires_grad, b._requires_grad
            needs_grad = (grad_a, grad_b)
            record = (grad_a or grad_b) and _GradMode.enabled
        elif n_inputs == 1:
            x = inputs[0]
            out = fn.forward(x.array, **params) if params else fn.forward(x.array)
            record = x._requires_grad and _GradMode.enabled
            needs_grad = _ONE_NEEDS_GRAD
        elif n_inputs == 3:  # linear(x, W, b)
            a, b, c = inputs
            out = fn.forward(a.array, b.array, c.array, **params)
            needs_grad = (a._requires_grad, b._requires_grad, c._requires_grad)
            record = (needs_grad[0] or needs_grad[1] or needs_grad[2]) and _GradMode.enabled
        else:
            out = fn.forward(*[t.array for t in inputs], **params)
            needs_grad = tuple([t._requires_grad for t in inputs])
            record = True in needs_grad and _GradMode.enabled
        # (no inference block open nor inference tensor alive: one test for both its checks)
        if _INFERENCE_LIVE[0]:
            result = _result_beside_inference(fn, inputs, out, record)
        else:
            result = _new_object(Tensor)  # Tensor._make, inlined
        result.array = out
        result.grad_array = None
        result.name = None
        if record:
            fn.parents = inputs
            fn.needs_grad = needs_grad
            fn.grad_out = None
            if _CLOCK[0]:
                fn.epoch = _CLOCK[0]
            result._requires_grad = True
            result._ctx = fn
        else:
            result._requires_grad = False
            result._ctx = None
        if _OBSERVERS:
            for observer in _OBSERVERS:
                observer(cls, inputs, params, result)
        return result

    def __init_subclass__(cls, **kwargs):
        """Give each op class ``apply`` already bound to it (unless it defines its own).

        ``Mul.apply`` through the classmethod makes a new bound method on every call; a
        ``functools.partial`` of the same function, made once per class, is called directly:
        0.05-0.08 µs less per op (about 3 % of a small op's forward and backward). It is still
        the one ``apply`` above; only the binding to the class is done ahead of time.
        """
        super().__init_subclass__(**kwargs)
        if "apply" not in cls.__dict__ and _inherits_the_one_apply(cls):
            cls.apply = partial(_APPLY, cls)
        _prime_attribute_layout(cls)

    # ---- PyTorch's grad_fn face -----------------------------------------------------------
    def name(self) -> str:
        """The op's name as PyTorch spells a grad_fn (``MulBackward0``, ``AddmmBackward0``)."""
        from chainrule.autograd.grad_fn_names import torch_name

        return torch_name(self)

    def register_hook(self, fn):
        """PyTorch's node hook: ``fn(grad_inputs, grad_outputs)`` runs after this op's backward;
        a returned tuple replaces ``grad_inputs``. Returns a handle (``.remove()``)."""
        from chainrule.autograd.node_hooks import register

        return register(self, fn, pre=False)

    def register_prehook(self, fn):
        """PyTorch's node pre-hook: ``fn(grad_outputs)`` runs before this op's backward; a
        returned tuple replaces ``grad_outputs``. Returns a handle (``.remove()``)."""
        from chainrule.autograd.node_hooks import register

        return register(self, fn, pre=True)

    @property
    def next_functions(self) -> tuple:
        """``((grad_fn or AccumulateGrad or None, 0), ...)`` per input, as in PyTorch."""
        links, parents = [], self.parents
        if REWRITE_CHECK:  # in-place writes recorded: the versions this op read, as PyTorch's
            parents = GRAPH_WRITES["versions_read"](self)  # (autograd/inplace_graph.py)
        for parent in parents:
            if parent._ctx is not None:
                if parent._ctx.expands:
                    parent._ctx.expand(parent)
                keep_name(parent._ctx)  # as Tensor.grad_fn: the name outlives backward()
                links.append((parent._ctx, 0))
            elif parent._requires_grad:
                links.append((AccumulateGrad(parent), 0))
            else:
                links.append((None, 0))
        return tuple(links)

    @property
    def freed(self) -> bool:
        """True once a backward pass has released this op: its saved arrays and its links to
        inputs are gone. (A recorded op always has inputs in ``parents``; releasing drops them,
        and ``parents`` falls back to the class's empty tuple.) An op that saves no tensors
        keeps links to stand-ins of its inputs (see :meth:`release`); it counts as freed too."""
        return not self.parents or self.released

    def release(self) -> None:
        """Free saved arrays and links to inputs once backward no longer needs them.

        An op that saves no tensors (``saves_tensors = False``) keeps what a second backward()
        needs, as PyTorch does: its links to the ops below and to the leaves that take a
        gradient. Every other input is swapped for a stand-in of its shape that holds no memory,
        so the activations below are freed all the same.
        """
        if self.saves_tensors:
            self.__dict__.clear()
            return
        self.parents = tuple([_stand_in(parent) for parent in self.parents])
        self.grad_out = None
        self.released = True

    def __repr__(self) -> str:
        return node_repr(self.name(), self)  # PyTorch's: <MulBackward0 object at 0x...>


def node_repr(name: str, node) -> str:
    """A grad_fn node's repr as PyTorch prints it (``<NllLossBackward0 object at 0x7f…>``)."""
    return f"<{name} object at {id(node):#x}>"


def _result_beside_inference(fn, inputs, out, record):
    """Function.apply's bare result tensor while an inference block is open or an inference
    tensor alive: a recorded op that saves its inputs refuses inference tensors among them,
    and an unrecorded result made inside the block or viewing one is an inference tensor."""
    if record:
        if fn.saves_inputs:
            refuse_saving_inference(fn, inputs)
    elif inference_result(inputs, out):
        _INFERENCE_LIVE[0] += 1
        return _new_object(_INFERENCE_CLASS[Tensor])  # an inference tensor (grad_mode)
    return _new_object(Tensor)


def _stand_in(tensor):
    """``tensor`` itself if it is a leaf that takes a gradient, else a tensor with its shape,
    dtype, op and requires_grad, and no memory of its own (a broadcast zero)."""
    if tensor._ctx is None and tensor.requires_grad:
        return tensor
    array = tensor.array
    shadow = Tensor._make(_zero_view(array.shape, array.dtype), False)
    shadow._requires_grad = tensor._requires_grad
    shadow._ctx = tensor._ctx
    return shadow


# Read-only broadcast zeros by (shape, dtype), shared by stand-ins: np.broadcast_to costs
# about 4 µs a call, paid for every input of every released op that saves no tensors (an
# LSTM step's slices and sums: 15 % of its training step before this cache).
_ZERO_VIEWS: dict = {}


def _zero_view(shape: tuple, dtype) -> np.ndarray:
    key = (shape, dtype)
    view = _ZERO_VIEWS.get(key)
    if view is None:
        if len(_ZERO_VIEWS) >= 256:  # shapes seen in one process are few; bound it anyway
            _ZERO_VIEWS.clear()
        view = _ZERO_VIEWS[key] = np.broadcast_to(np.zeros((), dtype), shape)
    return view


class AccumulateGrad:
    """Where a leaf's gradient lands, as PyTorch's graph shows it (``variable`` is the leaf)."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return node_repr("AccumulateGrad", self)


class GraphStep:
    """A step PyTorch records as its own node inside one chainrule op (the ``TBackward0`` of
    a linear layer's weight, its ``AddmmBackward0`` behind a reshape): it has a name and
    ``next_functions``, so walking ``grad_fn.next_functions`` meets PyTorch's nodes."""

    def __init__(self, name: str, next_functions: tuple):
        self._name, self.next_functions = name, next_functions

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return node_repr(self._name, self)


_APPLY = Function.__dict__["apply"].__func__

# The attributes the engine gives every recorded op, in the order it gives them.
_ENGINE_ATTRIBUTES = ("parents", "needs_grad", "epoch", "grad_out", "_mark")


def _prime_attribute_layout(cls) -> None:
    """Set the engine's attributes on one throwaway instance, so they come first in the
    attribute layout that CPython shares between a class's instances.

    Without it, an op class whose first instances ran under ``no_grad()`` (an evaluation pass
    before training, or the benchmark's forward-only mode) records and backpropagates about
    9 % slower for the rest of the process (chain of multiplications, forward and backward:
    2.21 against 2.03 µs per op, one process, the same op class fresh or primed like this).
    """
    probe = _new_object(cls)
    try:
        for name in _ENGINE_ATTRIBUTES:
            setattr(probe, name, None)
    except AttributeError:  # a subclass with __slots__ and no __dict__: nothing to share
        pass


def _inherits_the_one_apply(cls) -> bool:
    """True unless a class between ``cls`` and Function defines an ``apply`` of its own."""
    for base in cls.__mro__[1:]:
        own = base.__dict__.get("apply")
        if own is not None:
            return base is Function or (isinstance(own, partial) and own.func is _APPLY)
    return False


# Observers see every op as it runs: ``observer(cls, inputs, params, result)``. cr.compile's
# recorder and detect_anomaly register here; with none registered an op pays one truth test.
_OBSERVERS: list = []


def add_observer(observer) -> None:
    _OBSERVERS.append(observer)


def remove_observer(observer) -> None:
    _OBSERVERS.remove(observer)
