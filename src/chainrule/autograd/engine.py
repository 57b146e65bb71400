"""Reverse-mode differentiation: walk the graph from the output back to the leaves."""

from __future__ import annotations

from sys import getrefcount

import numpy as np
from numpy import ndarray

from chainrule.autograd import grad_face
from chainrule.autograd import hooks as _hooks
from chainrule.autograd.inplace import _CLOCK, check_saved_inputs
from chainrule.errors import GraphError

_GRAPH_GRADS = grad_face.GRAPH_GRADS


def sum_to_shape(grad, shape: tuple):
    """Undo NumPy broadcasting: sum ``grad`` over the axes that broadcasting stretched.
    ``grad`` is an array, or a tensor (its sums then recorded in the graph: ``create_graph``
    passes and node hooks).

    A gradient flowing into an input that was broadcast from ``shape`` has the broadcast shape;
    each stretched axis received the same input element many times, so its gradients add up.

    Example:
        >>> sum_to_shape(np.ones((4, 3)), (3,)).tolist()
        [4.0, 4.0, 4.0]
        >>> sum_to_shape(np.ones((4, 3)), (4, 1)).tolist()
        [[3.0], [3.0], [3.0], [3.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        grad = grad.reshape(shape)
    return grad


# References to the incoming gradient while the engine hands it to an op: fn.grad_out, the
# loop's `grad`, and getrefcount's own argument. One more means someone else can see it.
_ENGINE_REFS = 3
# Below this many elements NumPy's out= costs more than the fresh array it saves (float32
# ReLU mask product: 16 elements 1.15 against 0.97 µs, 4,096: 2.9 against 3.4 µs)
_REUSE_MIN = 4096
# References to an op at its release when nothing outside this loop holds it: `fn` and
# getrefcount's argument.
_OP_REFS = 2

_FREED_MESSAGE = (  # PyTorch's words
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def topological_order(root) -> list:
    """Ops reachable from ``root``, each after every op that consumes its output.

    Iterative depth-first search (no recursion limit), parents visited in input order, so the
    order, and with it the summation order of gradients, is the same on every run.
    """
    # A chain (each op reads at most one other op's output, as in a plain MLP and its loss) is
    # its own order: walk it without the search's marks and stack, half the time. The search
    # below gives the same order for a chain; at the first op that reads two, it takes over.
    order = []
    fn = root
    while True:
        if not fn.parents:  # released by an earlier backward (Function.freed)
            raise GraphError(_FREED_MESSAGE)
        order.append(fn)
        after = _next_in_chain(fn)
        if after is _READS_TWO:
            return _depth_first_order(root)
        if after is None:
            return order
        fn = after


_READS_TWO = object()  # _next_in_chain's answer for an op that reads two ops' outputs


def _next_in_chain(fn):
    """The one op whose output ``fn`` reads (None: it reads none; ``_READS_TWO``: several)."""
    after = None
    for parent in fn.parents:
        ctx = parent._ctx
        if ctx is not None and ctx is not after:
            if after is not None:
                return _READS_TWO
            after = ctx
    return after


def _depth_first_order(root) -> list:
    """:func:`topological_order` for any graph (see there)."""
    # Fresh tokens per call, so stale marks from earlier walks never match. An op is "open"
    # while its parents are being walked and "done" once it is in the order. The stack holds
    # bare ops: popping an open op means all its parents are done (the graph has no cycles).
    open_mark, done_mark = object(), object()
    order = []
    stack = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        fn = pop()
        mark = fn._mark
        if mark is open_mark:
            fn._mark = done_mark
            emit(fn)
            continue
        if mark is done_mark:
            continue
        if not fn.parents:  # released by an earlier backward (Function.freed)
            raise GraphError(_FREED_MESSAGE)
        fn._mark = open_mark
        push(fn)
        for parent in reversed(fn.parents):
            ctx = parent._ctx
            if ctx is not None and ctx._mark is not done_mark:
                push(ctx)
    order.reverse()
    return order


def _accumulate_leaf(tensor, grad: np.ndarray, upstream: np.ndarray) -> None:
    if tensor.grad_array is None:
        # A leaf owns its .grad: never alias the upstream array or a view of another array.
        if grad is upstream or grad.base is not None:
            grad = grad.copy()
        elif grad.dtype != tensor.array.dtype:
            grad = grad.astype(tensor.array.dtype)
        tensor.grad_array = grad
    elif _GRAPH_GRADS[0] and grad_face.has_graph(tensor):
        # .grad is a tensor in the graph (backward(create_graph=True)): add out of place, as
        # PyTorch, so the graph that read it keeps its values
        grad_face.add_to_grad(tensor, grad)
    else:
        tensor.grad_array += grad


def _seed(root, grad) -> np.ndarray:
    """∂root/∂root: ones for a one-element root, else the given ``grad`` checked."""
    if not root.requires_grad:
        raise GraphError(
            "backward() called on a tensor that does not require grad: it was made without "
            "requires_grad=True inputs, or under no_grad()"
        )
    data = root.array
    if grad is None:
        if data.size != 1:
            raise GraphError(
                f"backward() without a gradient needs a single-element output, got shape "
                f"{data.shape}; reduce it first (e.g. loss.mean()) or pass grad= of that shape"
            )
        if data.ndim == 0:
            grad = np.array(1, data.dtype)  # a quarter of np.empty_like on a NumPy scalar
        else:
            grad = np.empty_like(data)  # with fill(1): half the time of np.ones_like
            grad.fill(1)
    else:
        grad = np.asarray(getattr(grad, "array", grad), dtype=data.dtype)
        if grad.shape != data.shape:
            from chainrule.errors import ShapeError

            raise ShapeError(
                f"backward(grad) got a gradient of shape {grad.shape} for an output of shape "
                f"{data.shape}; they must match"
            )
    return grad


def _backward_of_leaf(root, grad: np.ndarray, sink) -> None:
    """backward() called on a leaf: its gradient is the seed."""
    hooks = _hooks.hooks_of(root) if _hooks.LEAF_HOOKS else None
    if hooks is not None:
        _hooks.finish_leaf(root, hooks, grad.copy(), _accumulate_leaf, sink)
    elif sink is not None:
        sink.leaf(root, grad)
    else:
        _accumulate_leaf(root, grad, None)


def backward(root, grad=None, retain_graph: bool = False, sink=None) -> None:  # one loop, long:
    # a helper call per op would cost more than the rest of a small op's hand-off.
    """Fill ``.grad`` of every leaf that ``root`` depends on (see Tensor.backward).

    With a ``sink`` (see :func:`chainrule.autograd.grad`), gradients go to the sink instead:
    ``sink.op(fn, grad)`` sees each op's output gradient and ``sink.leaf(tensor, grad)`` each
    leaf's, and no ``.grad`` is touched.
    """
    grad = _seed(root, grad)
    root_fn = root._ctx
    if root_fn is None:
        _backward_of_leaf(root, grad, sink)
        return
    # Leaves with hooks get their gradient's parts summed, then hooks run once (autograd.hooks):
    # that needs every op up front. Otherwise the walk starts down the chain from the root and
    # finds the order as it goes (see below).
    rest = pending = None
    if _hooks.LEAF_HOOKS:
        rest = topological_order(root_fn)
        pending = _hooks.plan(rest)
    if pending is not None:

        def finish(leaf, leaf_hooks, total):
            _hooks.finish_leaf(leaf, leaf_hooks, total, _accumulate_leaf, sink)

    # While each op reads at most one other op's output (an MLP, its loss), the ops form a
    # chain and each one's gradient is complete once its one consumer is done: walk it op by
    # op, the next op found among the parents already read to hand gradients back. The first
    # op that reads two switches to the depth-first order of what is left (``rest``), which
    # is the order topological_order would give. Same order, one pass instead of two.
    root_fn.grad_out = grad
    clock = _CLOCK[0]  # in-place writes so far: an op recorded before a later one is checked
    watched = _hooks.OUTPUTS_WATCHED[0]  # any retain_grad() or non-leaf hook yet
    retained = None
    fn = root_fn
    position = 0
    if rest is not None:
        fn = rest[0]
    while fn is not None:
        parents = fn.parents
        if not parents:  # released by an earlier backward (Function.freed)
            raise GraphError(_FREED_MESSAGE)
        grad = fn.grad_out
        following = None  # the one op whose output this op read, while the walk is a chain
        if grad is None:  # the op's output did not influence root
            if pending is not None:
                _hooks.skipped(fn, pending, finish)
            if rest is None:
                following = _next_in_chain(fn)
                if following is _READS_TWO:
                    rest = _depth_first_order(fn)
            if not retain_graph:
                fn.release()
        else:
            if clock and fn.epoch != clock:  # (no in-place write ever: nothing to check)
                check_saved_inputs(fn)
                parents = fn.parents  # an input written since: the version it read (inplace)
            if watched:
                retained = fn.retained  # hooks and retain_grad() of the op's output
                if retained is not None:
                    grad = retained.see(grad)
            if sink is not None:
                sink.op(fn, grad)
            # An index into the op's results and flags, not zip() over three sequences: the zip
            # object and its tuples cost more than the rest of a small op's hand-off.
            kind = type(fn)  # class flags read from the class: no instance-dict miss
            if kind.backward_writes_over_grad and type(grad) is ndarray and grad.size >= _REUSE_MIN:
                # Where nobody else holds this gradient (no hook kept it, no retain_grad(), no
                # caller's seed, no view of it), the op writes its gradient over it, as
                # hand-written NumPy does (`grad *= a > 0`), instead of into a fresh array.
                grads_in = grad_in = None  # the previous op's results, not holders to count
                if grad.base is None and getrefcount(grad) == _ENGINE_REFS:
                    grads_in = fn.backward_in_place(grad)
                else:
                    grads_in = fn.backward(grad)
            else:
                grads_in = fn.backward(grad)
            needs_grad = fn.needs_grad
            exact = kind.grads_match_inputs
            i = 0
            for parent in parents:
                ctx = parent._ctx
                # _next_in_chain, inlined into the hand-off loop that reads the parents anyway
                if ctx is not None and rest is None and ctx is not following:
                    if following is None:
                        following = ctx
                    else:
                        rest = _depth_first_order(fn)
                grad_in = grads_in[i]
                if grad_in is not None and needs_grad[i]:
                    if not exact and grad_in.shape != parent.array.shape:
                        grad_in = sum_to_shape(grad_in, parent.array.shape)
                    if ctx is not None:
                        if ctx.grad_out is None:
                            ctx.grad_out = grad_in
                        else:
                            ctx.grad_out = ctx.grad_out + grad_in
                    elif pending is not None and parent in pending:
                        _hooks.arrive(parent, grad_in, grad, pending, finish)
                    elif sink is not None:
                        sink.leaf(parent, grad_in)
                    elif (
                        parent.grad_array is None
                        and grad_in.base is None
                        and grad_in is not grad
                        and grad_in.dtype == parent.array.dtype
                    ):
                        parent.grad_array = grad_in  # _accumulate_leaf's common case, sooner
                    else:
                        _accumulate_leaf(parent, grad_in, grad)
                elif pending is not None and needs_grad[i] and parent in pending:
                    _hooks.arrive(parent, None, None, pending, finish)  # a part that never came
                i += 1
            if retain_graph:
                fn.grad_out = None
            elif fn.saves_tensors:
                if getrefcount(fn) > _OP_REFS:
                    # Function.release, inlined: free saved arrays, links to inputs, grad_out.
                    fn.__dict__.clear()
                    if retained is not None:
                        fn.retained = retained
                # else nobody but this loop holds the op (its output tensor is gone): it and
                # all it saved are freed when `fn` moves on, without the dict's clearing
            else:  # kept for another backward(), as PyTorch keeps a node that saved nothing
                fn.release()
        if rest is None:
            fn = following
        else:
            position += 1
            fn = rest[position] if position < len(rest) else None


def retain(tensor) -> None:
    """Make ``tensor`` (an op's output) keep its gradient after backward."""
    _hooks.watch_of(tensor).retain = True
