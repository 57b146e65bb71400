"""Tensor hooks, as in PyTorch: ``register_hook`` and ``register_post_accumulate_grad_hook``.

* ``t.register_hook(fn)``: ``fn(grad)`` sees the gradient with respect to ``t`` once backward
  has it complete, and may return a tensor to use instead (to clip, scale or print it). On an
  op's output the hook runs before that op's backward; on a leaf, before the gradient is added
  to ``.grad``.
* ``leaf.register_post_accumulate_grad_hook(fn)``: ``fn(leaf)`` runs right after this
  backward pass has added the leaf's gradient to ``.grad``, while the rest of backward is still
  to come: the place for an optimizer step per parameter or a gradient's allreduce.

The engine pays nothing for hooks while none is registered. With some, a leaf's gradient may
arrive in parts (a weight read by two ops); the engine counts the parts each hooked leaf will
receive before walking the graph, sums them, and runs the hooks once, on the total, when the
last part has arrived: one call per backward pass, as in PyTorch.
"""

from __future__ import annotations

import itertools
import warnings
import weakref

import numpy as np

from chainrule.errors import DTypeError, GraphError, ShapeError

# Leaves with hooks: {id(tensor): LeafHooks}, an entry dropped when its tensor is. Keyed by id,
# not by tensor: a weak-key dictionary compares tensors with ==, which is elementwise. Empty for
# nearly every program, and the engine tests it once per backward call.
LEAF_HOOKS: dict = {}
_ids = itertools.count()


class RemovableHandle:
    """What ``register_*hook`` returns: ``handle.remove()`` takes the hook away again."""

    def __init__(self, hooks: dict, key: int):
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _add(hooks: dict, fn) -> RemovableHandle:
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
    key = next(_ids)
    hooks[key] = fn
    return RemovableHandle(hooks, key)


# chainrule.tensor sets this to Tensor when it loads (this module cannot import it: Tensor's
# module imports this one).
Tensor = None


def _run_grad_hooks(hooks: dict, grad: np.ndarray, where: str) -> np.ndarray:
    """Each hook sees the gradient as a tensor; a returned tensor (or array) replaces it."""
    for hook in list(hooks.values()):
        result = hook(Tensor._make(grad, False))
        if result is None:
            continue
        if isinstance(result, Tensor):
            _check_returned_dtype(hook, result.dtype, grad.dtype, where)
        array = result.array if isinstance(result, Tensor) else np.asarray(result)
        _check_returned_shape(array.shape, grad.shape, where)
        # A copy: the returned tensor may be shared (a parameter, a tensor the hook keeps), and
        # the gradient goes on to be accumulated into .grad or overwritten.
        grad = np.array(array, dtype=grad.dtype, copy=True)
    return grad


def run_tensor_hooks(hooks: dict, grad, where: str):
    """The hooks under ``autograd.grad(create_graph=True)``: each sees the gradient as a tensor
    in the graph, and a returned tensor replaces it, still in the graph (so a gradient penalty
    differentiates through what the hook did)."""
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is None:
            continue
        if isinstance(result, Tensor):
            _check_returned_dtype(hook, result.dtype, grad.dtype, where)
        else:  # an array: in the gradient's dtype, as backward() without create_graph casts it
            result = Tensor(np.asarray(result, dtype=grad.dtype))
        _check_returned_shape(result.shape, grad.shape, where)
        grad = result
    return grad


def _check_returned_dtype(hook, dtype, expected, where: str) -> None:
    if dtype != expected:
        name = getattr(hook, "__name__", type(hook).__name__)
        raise DTypeError(
            f"hook {name!r} on {where} has changed the type of value (was {expected}, got "
            f"{dtype}); a hook must return a gradient of the dtype it was given"
        )


def _check_returned_shape(shape: tuple, expected: tuple, where: str) -> None:
    if shape != expected:
        raise ShapeError(
            f"a hook on {where} returned a gradient of shape {shape} for a gradient of shape "
            f"{expected}; a hook must return None or a tensor of the same shape"
        )


class LeafHooks:
    """The hooks of one leaf: on its gradient (``pre``) and after accumulation (``post``)."""

    __slots__ = ("pre", "post", "ref")

    def __init__(self, tensor):
        self.pre: dict = {}
        self.post: dict = {}
        key, registry = id(tensor), LEAF_HOOKS  # the dict itself: module globals die at exit
        self.ref = weakref.ref(tensor, lambda _ref: registry.pop(key, None))


def _leaf_hooks(tensor) -> LeafHooks:
    hooks = LEAF_HOOKS.get(id(tensor))
    if hooks is None or hooks.ref() is not tensor:
        hooks = LEAF_HOOKS[id(tensor)] = LeafHooks(tensor)
    return hooks


class OutputWatch:
    """What an op's output asked of backward: its gradient kept (``retain_grad``) and hooks.

    The engine calls :meth:`see` with the op's complete output gradient before the op's own
    backward; hooks run first, and ``retain_grad`` keeps what they leave (as in PyTorch).
    """

    __slots__ = ("ref", "retain", "hooks")

    def __init__(self, tensor):
        self.ref = weakref.ref(tensor)
        self.retain = False
        self.hooks: dict = {}

    def see(self, grad: np.ndarray) -> np.ndarray:
        if self.hooks:
            grad = _run_grad_hooks(self.hooks, grad, "an op's output")
        if self.retain:
            kept = self.ref()
            if kept is not None:
                kept.grad_array = grad.copy() if kept.grad_array is None else kept.grad_array + grad
        return grad


# True once any op's output has been watched (retain_grad() or a hook on a non-leaf) in this
# process: until then backward() skips reading each op's ``retained``.
OUTPUTS_WATCHED = [False]


def watch_of(tensor) -> OutputWatch:
    """The :class:`OutputWatch` of a non-leaf tensor's op, made on first use."""
    fn = tensor._ctx
    watch = fn.retained
    if watch is None:
        OUTPUTS_WATCHED[0] = True
        watch = fn.retained = OutputWatch(tensor)
    return watch


def retain_grad(tensor):
    """``Tensor.retain_grad``: an op's output keeps its gradient in ``.grad`` after backward."""
    if not tensor.requires_grad:
        raise GraphError("can't retain_grad on Tensor that has requires_grad=False")
    if tensor._ctx is not None:
        watch_of(tensor).retain = True
    return tensor


def retains_grad(tensor) -> bool:
    """``Tensor.retains_grad``: True for an op's output after ``retain_grad()``."""
    watch = tensor._ctx.retained if tensor._ctx is not None else None
    return watch is not None and watch.retain and watch.ref() is tensor


def warn_non_leaf_grad(tensor) -> None:
    """PyTorch's warning for ``.grad`` of an op's output that does not keep its gradient."""
    if not retains_grad(tensor):
        warnings.warn(
            "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
            ".grad attribute won't be populated during autograd.backward(). If you indeed want "
            "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
            "non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access "
            "the leaf Tensor instead.",
            UserWarning,
            stacklevel=3,
        )


def hooks_of(leaf) -> LeafHooks | None:
    """The leaf's hooks, or ``None``."""
    hooks = LEAF_HOOKS.get(id(leaf))
    return hooks if hooks is not None and hooks.ref() is leaf else None


def _check_requires_grad(tensor, what: str) -> None:
    if not tensor.requires_grad:
        raise GraphError(
            f"cannot register {what} on a tensor that does not require grad; make it with "
            f"requires_grad=True (or call .requires_grad_()) first"
        )


def register_hook(tensor, fn) -> RemovableHandle:
    """``Tensor.register_hook`` (see the module docstring)."""
    _check_requires_grad(tensor, "a hook")
    if tensor._ctx is not None:
        return _add(watch_of(tensor).hooks, fn)
    return _add(_leaf_hooks(tensor).pre, fn)


def register_post_accumulate_grad_hook(tensor, fn) -> RemovableHandle:
    """``Tensor.register_post_accumulate_grad_hook`` (see the module docstring)."""
    if tensor._ctx is not None:
        raise GraphError(
            "post-accumulate-grad hooks can only be registered on leaves (tensors made by you, "
            "such as parameters), not on an op's output; use register_hook there"
        )
    _check_requires_grad(tensor, "a post-accumulate-grad hook")
    return _add(_leaf_hooks(tensor).post, fn)


class _Pending:
    """One hooked leaf during one backward pass: parts still to come and their sum so far."""

    __slots__ = ("hooks", "left", "total")

    def __init__(self, hooks: LeafHooks):
        self.hooks = hooks
        self.left = 0
        self.total = None


def plan(order: list) -> dict | None:
    """``{leaf: _Pending}`` for the hooked leaves the ops in ``order`` hand gradients to."""
    pending: dict = {}
    for fn in order:
        needs_grad = fn.needs_grad
        for i, parent in enumerate(fn.parents):
            if needs_grad[i] and parent._ctx is None:
                entry = pending.get(parent)
                if entry is None:
                    hooks = hooks_of(parent)
                    if hooks is None or not (hooks.pre or hooks.post):
                        continue
                    entry = pending[parent] = _Pending(hooks)
                entry.left += 1
    return pending or None


def skipped(fn, pending: dict, finish) -> None:
    """An op whose output did not influence the root hands nothing to its hooked leaves."""
    needs_grad = fn.needs_grad
    for i, parent in enumerate(fn.parents):
        if needs_grad[i] and parent in pending:
            arrive(parent, None, None, pending, finish)


def arrive(leaf, grad, upstream, pending: dict, finish) -> None:
    """One part of a hooked leaf's gradient (``None``: a part that turned out to be absent)."""
    entry = pending[leaf]
    entry.left -= 1
    if grad is not None:
        if entry.total is None:
            # Never keep an array the leaf does not own (the upstream gradient, a view).
            own = grad is not upstream and grad.base is None
            entry.total = grad if own else grad.copy()
        else:
            entry.total = entry.total + grad
    if entry.left == 0:
        del pending[leaf]
        if entry.total is not None:
            finish(leaf, entry.hooks, entry.total)


def finish_leaf(leaf, hooks: LeafHooks, grad: np.ndarray, accumulate, sink=None) -> None:
    """Run the leaf's gradient hooks on its whole gradient, accumulate it, then the
    post-accumulate hooks (not for ``autograd.grad``, which accumulates nothing)."""
    if hooks.pre:
        grad = _run_grad_hooks(hooks.pre, grad, "a leaf")
    if sink is not None:
        sink.leaf(leaf, grad)
        return
    accumulate(leaf, grad, None)
    run_post_hooks(leaf, hooks)


def run_post_hooks(leaf, hooks: LeafHooks) -> None:
    """The leaf's post-accumulate-grad hooks, in order; each must return None (PyTorch's)."""
    for hook in list(hooks.post.values()):
        if hook(leaf) is not None:
            raise GraphError(
                "Tensor post accumulate grad hooks should return None. (A post-accumulate-grad "
                "hook acts on tensor.grad itself; return nothing from it.)"
            )
