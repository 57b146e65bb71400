"""Module forward hooks, as PyTorch's: ``register_forward_pre_hook`` and
``register_forward_hook``.

* ``module.register_forward_pre_hook(fn)``: ``fn(module, args)`` runs before ``forward`` and
  may return new positional arguments (a value that is not a tuple is wrapped in one); with
  ``with_kwargs=True`` it is ``fn(module, args, kwargs)`` and returns ``None`` or
  ``(args, kwargs)``.
* ``module.register_forward_hook(fn)``: ``fn(module, args, output)`` runs after ``forward``
  (``fn(module, args, kwargs, output)`` with ``with_kwargs=True``) and may return a new output;
  ``always_call=True`` runs it even when ``forward`` or another hook raised.

Hooks run when the module is called, ``module(x)``, not by ``module.forward(x)``. Both
registrations take ``prepend=True`` to run before the hooks already there, and return a handle
whose ``remove()`` takes the hook away (or use it in a ``with`` block). A module without hooks
pays one attribute test per call.

Backward hooks on modules (``register_full_backward_hook``, ``register_backward_hook``) are not
supported: reading them raises :class:`~chainrule.errors.NotSupportedError`.
"""

from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict

from chainrule.autograd.hooks import RemovableHandle
from chainrule.errors import NotSupportedError

_ids = itertools.count()


class _Hooks:
    """One module's forward hooks: ``{id: (fn, with_kwargs, always_call)}``, in call order."""

    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre: OrderedDict = OrderedDict()
        self.post: OrderedDict = OrderedDict()


def _add(hooks: OrderedDict, entry: tuple, prepend: bool) -> RemovableHandle:
    if not callable(entry[0]):
        raise TypeError(f"a hook must be callable, got {type(entry[0]).__name__}")
    key = next(_ids)
    hooks[key] = entry
    if prepend:
        hooks.move_to_end(key, last=False)
    return RemovableHandle(hooks, key)


class ModuleHookMethods:
    """The hook half of :class:`~chainrule.nn.Module` (a base class of it)."""

    # Set on an instance by its first registration; the class's None keeps __call__'s check to
    # one attribute read for every module that never had a hook.
    _module_hooks: _Hooks | None = None

    def _hooks(self) -> _Hooks:
        hooks = self.__dict__.get("_module_hooks")
        if hooks is None:
            hooks = _Hooks()
            object.__setattr__(self, "_module_hooks", hooks)
        return hooks

    def register_forward_pre_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Run ``hook(module, args)`` before each call's ``forward``; a returned value replaces
        the positional arguments (a single value that is not a tuple is wrapped in one).

        Args:
            hook: the function; with ``with_kwargs=True`` it is ``hook(module, args, kwargs)``
                and returns ``None`` or ``(args, kwargs)``.
            prepend: run it before the pre-hooks already registered.
            with_kwargs: also pass (and let it replace) the keyword arguments.

        Returns:
            A handle: ``handle.remove()`` (or leaving its ``with`` block) takes the hook away.

        Example:
            >>> import chainrule as cr
            >>> layer = cr.nn.Identity()
            >>> handle = layer.register_forward_pre_hook(lambda m, args: args[0] * 2)
            >>> layer(cr.ones(2)).tolist()
            [2.0, 2.0]
            >>> handle.remove()
        """
        return _add(self._hooks().pre, (hook, bool(with_kwargs), False), prepend)

    def register_forward_hook(
        self,
        hook,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Run ``hook(module, args, output)`` after each call's ``forward``; a returned value
        replaces the output (what the caller, and later hooks, see).

        Args:
            hook: the function; ``hook(module, args, kwargs, output)`` with ``with_kwargs=True``.
            prepend: run it before the forward hooks already registered.
            with_kwargs: also pass the keyword arguments.
            always_call: run it even if ``forward`` or a hook raised (its own error is then
                turned into a warning, and the first error goes on).

        Returns:
            A handle: ``handle.remove()`` (or leaving its ``with`` block) takes the hook away.

        Example:
            >>> import chainrule as cr
            >>> layer = cr.nn.Linear(3, 2)
            >>> shapes = []
            >>> with layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape)):
            ...     _ = layer(cr.ones(4, 3))
            >>> shapes
            [(4, 2)]
        """
        return _add(self._hooks().post, (hook, bool(with_kwargs), bool(always_call)), prepend)

    def _call_with_hooks(self, hooks: _Hooks, args: tuple, kwargs: dict):
        """``__call__`` when the module has (or had) hooks: PyTorch's order of events."""
        result = None
        ran = set()  # always_call hooks that already ran
        try:
            for hook, with_kwargs, _ in list(hooks.pre.values()):
                if with_kwargs:
                    replaced = hook(self, args, kwargs)
                    if replaced is not None:
                        if not (isinstance(replaced, tuple) and len(replaced) == 2):
                            raise RuntimeError(
                                f"forward pre-hook must return None or a tuple of (new_args, "
                                f"new_kwargs), but got {replaced}."
                            )
                        args, kwargs = replaced
                else:
                    replaced = hook(self, args)
                    if replaced is not None:
                        args = replaced if isinstance(replaced, tuple) else (replaced,)
            result = self.forward(*args, **kwargs)
            for key, (hook, with_kwargs, always_call) in list(hooks.post.items()):
                if always_call:
                    ran.add(key)
                if with_kwargs:
                    replaced = hook(self, args, kwargs, result)
                else:
                    replaced = hook(self, args, result)
                if replaced is not None:
                    result = replaced
            return result
        except Exception:
            for key, (hook, with_kwargs, always_call) in list(hooks.post.items()):
                if not always_call or key in ran:
                    continue
                try:
                    replaced = (
                        hook(self, args, kwargs, result)
                        if with_kwargs
                        else hook(self, args, result)
                    )
                    if replaced is not None:
                        result = replaced
                except Exception as err:  # noqa: BLE001 - PyTorch silences it, with a warning
                    warnings.warn(
                        f"forward hook with always_call=True raised an exception that was "
                        f"silenced as another error was raised in forward: {err}",
                        stacklevel=2,
                    )
            raise


_BACKWARD = (
    "Tensor.register_hook(fn) on the module's output (from a forward hook) or inputs; fn "
    "gets that tensor's gradient"
)
_NOT_SUPPORTED = {
    "register_full_backward_hook": _BACKWARD,
    "register_full_backward_pre_hook": _BACKWARD,
    "register_backward_hook": _BACKWARD,
}


def unsupported_method(name: str) -> NotSupportedError | None:
    """The error for a PyTorch Module method chainrule lacks (``Module.__getattr__`` raises it:
    an AttributeError, so ``hasattr`` is False), or ``None``."""
    hint = _NOT_SUPPORTED.get(name)
    if hint is None:
        return None
    return NotSupportedError(
        f"torch.nn.Module.{name} is not supported by chainrule; nearest: {hint} (docs/pytorch.md)"
    )
