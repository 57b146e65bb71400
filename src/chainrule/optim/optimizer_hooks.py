"""The hook half of :class:`~chainrule.optim.Optimizer`: PyTorch's ``register_step_pre_hook``,
``register_step_post_hook`` and the four ``state_dict`` / ``load_state_dict`` hooks.

An optimizer without hooks runs exactly as before: the step hooks are installed on the
instance by the first registration (an instance attribute ``step`` that calls the class's), so
the training-loop call pays nothing until someone asks for a hook.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable

from chainrule.autograd.hooks import RemovableHandle

_KINDS = ("step_pre", "step_post", "state_dict_pre", "state_dict_post", "load_pre", "load_post")


def _hooks(optimizer, kind: str) -> OrderedDict:
    """The optimizer's hooks of one kind, made on first use (old pickles have none)."""
    table = optimizer.__dict__.get("_optimizer_hooks")
    if table is None:
        table = optimizer.__dict__["_optimizer_hooks"] = {k: OrderedDict() for k in _KINDS}
    return table[kind]


_ids = itertools.count()


def _add(hooks: OrderedDict, hook, prepend: bool) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    key = next(_ids)
    hooks[key] = hook
    if prepend:
        hooks.move_to_end(key, last=False)
    return RemovableHandle(hooks, key)


def _registered(optimizer, kind: str) -> list:
    table = optimizer.__dict__.get("_optimizer_hooks")
    return list(table[kind].values()) if table else []


class _HookedStep:
    """``optimizer.step`` once a step hook is registered: the pre hooks, the class's step, the
    post hooks, called as PyTorch calls them (``hook(optimizer, args, kwargs)``, where ``args``
    starts with the optimizer). An object, not a closure, so ``copy.deepcopy`` and pickle of
    the optimizer give a step bound to the copy."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def __call__(self, *args, **kwargs):
        optimizer = self.optimizer
        args = (optimizer, *args)
        for hook in _registered(optimizer, "step_pre"):
            result = hook(optimizer, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"a step pre hook must return None or a tuple (new_args, new_kwargs), "
                        f"got {result!r}"
                    )
                args, kwargs = result
        out = type(optimizer).step(*args, **kwargs)
        for hook in _registered(optimizer, "step_post"):
            hook(optimizer, args, kwargs)
        return out


def run_state_dict_pre_hooks(optimizer) -> None:
    for hook in _registered(optimizer, "state_dict_pre"):
        hook(optimizer)


def run_state_dict_post_hooks(optimizer, state_dict: dict) -> dict:
    for hook in _registered(optimizer, "state_dict_post"):
        result = hook(optimizer, state_dict)
        if result is not None:
            state_dict = result
    return state_dict


def run_load_pre_hooks(optimizer, state_dict: dict) -> dict:
    for hook in _registered(optimizer, "load_pre"):
        result = hook(optimizer, state_dict)
        if result is not None:
            state_dict = result
    return state_dict


def run_load_post_hooks(optimizer) -> None:
    for hook in _registered(optimizer, "load_post"):
        hook(optimizer)


class OptimizerHookMethods:
    """PyTorch's optimizer hooks; each ``register_*`` returns a handle whose ``remove()``
    takes the hook away again."""

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before every ``step``; it may return
        ``(new_args, new_kwargs)`` to change the call (``args[0]`` is the optimizer)."""
        if not isinstance(self.__dict__.get("step"), _HookedStep):
            self.step = _HookedStep(self)
        return _add(_hooks(self, "step_pre"), hook, False)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after every ``step``."""
        if not isinstance(self.__dict__.get("step"), _HookedStep):
            self.step = _HookedStep(self)
        return _add(_hooks(self, "step_post"), hook, False)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` before :meth:`state_dict` builds the dict."""
        return _add(_hooks(self, "state_dict_pre"), hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)`` after; a returned dict replaces the result."""
        return _add(_hooks(self, "state_dict_post"), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)`` before :meth:`load_state_dict` reads the dict (a
        shallow copy of the one given); a returned dict is loaded instead."""
        return _add(_hooks(self, "load_pre"), hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` after :meth:`load_state_dict` has loaded the state."""
        return _add(_hooks(self, "load_post"), hook, prepend)
