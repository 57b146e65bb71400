"""Recording for ``cr.compile``: one run of the function, watched, turned into a plain graph.

The recorder sees every op through ``Function.apply``'s observer hook and every per-call array
or state update through :mod:`chainrule.autograd.compile_hooks`. :func:`build_graph` turns what
it saw into a :class:`Graph`: nodes in forward order, each input named by where it comes from,
plus the backward order that ``engine.topological_order`` gives. Code generators
(``compile_python``, ``compile_numba``) read the graph; nothing here runs a step.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import compile_hooks, engine
from chainrule.autograd.function import add_observer, remove_observer
from chainrule.autograd.inplace import _CLOCK
from chainrule.errors import GraphError
from chainrule.random import Generator, default_generator
from chainrule.tensor import Tensor

_PLAIN = (type(None), type(Ellipsis), bool, int, float, str, np.dtype, np.generic, type)

# Where an op's input comes from: a function argument, an earlier op's output, a leaf
# (parameter), a 0-d constant, or a per-call array (compile_hooks.per_call).
ARG, VAL, LEAF, CONST, RAND = "a", "v", "p", "c", "r"


class Node:
    """One recorded op: its class, inputs as ``(kind, index)``, plain options, and options
    that are arrays fed per call (``array_params``: name → ``(kind, index)``)."""

    __slots__ = ("cls", "refs", "params", "array_params", "needs_grad", "shape", "dtype")

    def __init__(self, cls, refs, params, array_params, needs_grad, shape, dtype):
        self.cls, self.refs, self.params = cls, refs, params
        self.array_params, self.needs_grad = array_params, needs_grad
        self.shape, self.dtype = shape, dtype


class Graph:
    """What one recorded call computed, in the order it computed it."""

    def __init__(self):
        self.n_args = 0
        self.arg_shapes: list = []
        self.arg_dtypes: list = []
        self.nodes: list[Node] = []
        self.leaves: list[Tensor] = []  # parameters read, in order of first use
        self.consts: list[np.ndarray] = []
        self.sources: list = []  # (make, args) per per-call array, in drawing order
        self.source_shapes: list = []
        self.source_dtypes: list = []
        self.effects: list = []  # (effect, [ref or ("x", value)]) after the forward pass
        self.order: list[int] = []  # backward order of node indices (the engine's)
        self.root = -1
        self.outputs: list[int] = []  # nodes whose value each call also returns (model(x))

    def leaf_flags(self) -> tuple:
        return tuple([t.requires_grad for t in self.leaves])


class Recorder:
    """Collects ops, per-call arrays and state updates while the function runs once.

    ``dry=True`` records without lasting effects: state updates are skipped and every random
    generator a per-call array draws from is put back as it was.
    """

    def __init__(self, dry: bool = False):
        self.calls: list = []
        self.sources: list = []
        self.source_ids: dict = {}
        self.effects: list = []
        self.dry = dry
        self.saved: list = []  # (generator, state) to restore after a dry run
        self.fixed_ids: dict = {}  # id → array made by compile_hooks.fixed (kept alive)

    def observe(self, cls, inputs, params, result) -> None:
        self.calls.append((cls, inputs, params, result))

    def per_call(self, make, args):
        if self.dry:
            for gen in [a for a in args if isinstance(a, Generator)] + [default_generator]:
                if all(g is not gen for g, _ in self.saved):
                    self.saved.append((gen, gen.state_as_dict()))
        out = make(*args)
        self.source_ids[id(out)] = len(self.sources)
        self.sources.append((make, args, out))  # out kept alive: its id stays unique
        return out

    def fixed(self, out) -> None:
        out.flags.writeable = False  # the plan reuses it: nothing may write into it
        self.fixed_ids[id(out)] = out

    def after_forward(self, effect, args) -> None:
        self.effects.append((effect, args))
        if not self.dry:
            effect(*[getattr(a, "array", a) for a in args])

    def run(self, fn, inputs):
        """``fn(*inputs)`` under the observer; returns its result."""
        if compile_hooks._RECORDER[0] is not None:
            raise GraphError("cr.compile: a compiled function cannot be recorded inside another")
        clock = _CLOCK[0]
        add_observer(self.observe)
        compile_hooks._RECORDER[0] = self
        try:
            out = fn(*inputs)
        finally:
            compile_hooks._RECORDER[0] = None
            remove_observer(self.observe)
            for gen, state in self.saved:
                gen.set_state_from_dict(state)
        _check_not_backwarded(out)  # (its optimizer.step() would be the in-place write below)
        if _CLOCK[0] != clock:
            raise GraphError(
                "cr.compile: the function changes a tensor in place (add_, -=, ...); compiled "
                "steps replay ops, not in-place writes. Write it out of place, or run uncompiled."
            )
        return out


def _check_not_backwarded(out) -> None:
    """A step written for eager mode (``loss.backward(); opt.step()`` inside ``fn``) frees the
    graph before it can be read; say what ``cr.compile`` wants instead of the engine's
    'backward a second time'."""
    loss = out[0] if isinstance(out, (tuple, list)) and out else out
    ctx = getattr(loss, "_ctx", None)
    if ctx is not None and not ctx.parents:
        raise GraphError(
            "cr.compile: the function called loss.backward() itself; cr.compile runs the "
            "backward pass. Return the loss without calling backward() or optimizer.step(), "
            "and pass optimizer=opt (or use cr.compile_step(model, loss_fn, opt)) for a "
            "whole training step."
        )


def build_graph(recorder: Recorder, inputs: list, loss, outputs=()) -> Graph:
    """The graph of what ``recorder`` saw while computing ``loss`` from ``inputs``.

    ``outputs``: tensors computed on the way (the model's output) whose values each call of
    the generated code also returns; each must be the result of a recorded op.
    """
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        raise GraphError("cr.compile: the function must return a single-element loss tensor")
    if loss._ctx is None or not loss.requires_grad:
        raise GraphError("cr.compile: the loss does not depend on any parameter that requires grad")
    graph = Graph()
    graph.n_args = len(inputs)
    graph.arg_shapes = [t.array.shape for t in inputs]
    graph.arg_dtypes = [t.array.dtype for t in inputs]
    arg_index = {id(t): i for i, t in enumerate(inputs)}
    arg_arrays = {id(t.array): i for i, t in enumerate(inputs)}
    graph.sources = [(make, args) for make, args, _ in recorder.sources]
    graph.source_shapes = [out.shape for *_, out in recorder.sources]
    graph.source_dtypes = [out.dtype for *_, out in recorder.sources]
    out_index: dict = {}
    out_arrays: dict = {}  # id(op output array) → node: detach() shares the array, not the tensor
    leaf_index: dict = {}

    def ref_of(t, op_name):
        key = id(t)
        if key in out_index:
            return (VAL, out_index[key])
        if key in arg_index:
            return (ARG, arg_index[key])
        if t.requires_grad or t._is_parameter:  # frozen parameters too: read each call
            if key not in leaf_index:
                leaf_index[key] = len(graph.leaves)
                graph.leaves.append(t)
            return (LEAF, leaf_index[key])
        if id(t.array) in out_arrays:
            # an op's value read through detach() (or .data): the same node's value each call,
            # with no gradient (the reader's needs_grad says so); never a copy of this call's
            return (VAL, out_arrays[id(t.array)])
        array_ref = _array_ref(t.array, arg_arrays, recorder.source_ids)
        if array_ref is not None:
            return array_ref
        if t.array.ndim == 0 or id(t.array) in recorder.fixed_ids:  # the same every call
            graph.consts.append(t.array)
            return (CONST, len(graph.consts) - 1)
        raise GraphError(
            f"cr.compile: op {op_name} reads a tensor of shape {t.array.shape} that is not an "
            f"argument, a parameter or an op's output (an array made inside the function, such as "
            f"a converted copy of an argument or a random mask not drawn through "
            f"chainrule.autograd.compile_hooks.per_call). Pass it as an argument, or call the "
            f"function uncompiled."
        )

    for k, (op, tensors, params, result) in enumerate(recorder.calls):
        refusal = getattr(op, "compile_refusal", None)  # an op that says why it cannot be
        if refusal is not None:
            raise GraphError(f"cr.compile: {refusal}")
        refs = [ref_of(t, op.__name__) for t in tensors]
        plain, arrays = _split_options(op, params, arg_arrays, recorder)
        out_index[id(result)] = k
        out_arrays.setdefault(id(result.array), k)
        _check_no_hook(result, op)
        needs_grad = result._ctx.needs_grad if result._ctx is not None else None
        graph.nodes.append(
            Node(op, refs, plain, arrays, needs_grad, result.array.shape, result.array.dtype)
        )
    if id(loss) not in out_index:
        raise GraphError("cr.compile: the loss is not the output of an op in the function")
    for effect, args in recorder.effects:
        refs = [ref_of(a, "after_forward") if isinstance(a, Tensor) else ("x", a) for a in args]
        graph.effects.append((effect, refs))
    ctx_index = {id(result._ctx): out_index[id(result)] for *_, result in recorder.calls}
    graph.order = [ctx_index[id(fn)] for fn in engine.topological_order(loss._ctx)]
    graph.root = out_index[id(loss)]
    graph.outputs = [_output_index(t, out_index) for t in outputs]
    return graph


def _output_index(t, out_index: dict) -> int:
    """The node whose value is ``t``, a value the generated code returns besides the loss."""
    if not isinstance(t, Tensor) or id(t) not in out_index:
        raise GraphError(
            "cr.compile: the model's output is not the result of an op recorded in the step "
            "(a tensor made outside chainrule's ops), so the compiled step cannot return it"
        )
    return out_index[id(t)]


def _split_options(op, params: dict, arg_arrays: dict, recorder) -> tuple[dict, dict]:
    """An op's options: plain values (and arrays made by ``compile_hooks.fixed``) kept as
    they are, arrays as references to arguments or per-call random arrays (anything else may
    change between calls: refused)."""
    plain, arrays = {}, {}
    for name, value in params.items():
        if _plain(value, recorder.fixed_ids):
            plain[name] = value
            continue
        array_ref = None
        if isinstance(value, np.ndarray):
            array_ref = _array_ref(value, arg_arrays, recorder.source_ids)
        if array_ref is None:
            raise GraphError(
                f"cr.compile: op {op.__name__} gets option {name}= of type "
                f"{_kind_of(value)} that is neither a plain value (number, string, "
                f"tuple of them) nor one of the function's arguments, so it may change from "
                f"call to call (an index array made in forward, such as each sequence's last "
                f"step). Pass that array as an argument of the compiled function, or call it "
                f"uncompiled."
            )
        arrays[name] = array_ref
    return plain, arrays


def _check_no_hook(result, op) -> None:
    watch = result._ctx.retained if result._ctx is not None else None
    if watch is not None and watch.hooks:
        raise GraphError(
            f"cr.compile: the function registers a hook on the output of op {op.__name__}; "
            f"compiled steps run no hooks. Register hooks on parameters (those calls run "
            f"eagerly), or call the function uncompiled."
        )


def _array_ref(array, arg_arrays: dict, source_ids: dict):
    if id(array) in arg_arrays:
        return (ARG, arg_arrays[id(array)])
    if id(array) in source_ids:
        return (RAND, source_ids[id(array)])
    return None


def _kind_of(value) -> str:
    """``ndarray``, or for a tuple what it holds that is not plain: ``tuple holding ndarray``."""
    if isinstance(value, tuple):
        odd = sorted({type(v).__name__ for v in value if not _plain(v)})
        return f"tuple holding {', '.join(odd)}"
    return type(value).__name__


def _plain(value, fixed=None) -> bool:
    """A value fixed for the plan: plain, or an array from ``compile_hooks.fixed`` (in
    ``fixed``, by id)."""
    if isinstance(value, tuple):
        return all(_plain(v, fixed) for v in value)
    if isinstance(value, slice):  # basic indexing (x[:, t], split, unbind): fixed per shape
        return all(_plain(v) for v in (value.start, value.stop, value.step))
    if fixed and isinstance(value, np.ndarray):
        return id(value) in fixed
    return isinstance(value, _PLAIN)
