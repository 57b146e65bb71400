"""Module hooks, as PyTorch's: forward pre-hooks, forward hooks, backward pre-hooks and full
backward hooks.

* ``module.register_forward_pre_hook(fn)``: ``fn(module, args)`` runs before ``forward`` and
  may return new positional arguments (a value that is not a tuple is wrapped in one); with
  ``with_kwargs=True`` it is ``fn(module, args, kwargs)`` and returns ``None`` or
  ``(args, kwargs)``.
* ``module.register_forward_hook(fn)``: ``fn(module, args, output)`` runs after ``forward``
  (``fn(module, args, kwargs, output)`` with ``with_kwargs=True``) and may return a new output;
  ``always_call=True`` runs it even when ``forward`` or another hook raised.
* ``module.register_full_backward_pre_hook(fn)``: in the backward pass, ``fn(module,
  grad_output)`` runs when the gradients of the call's outputs are known, before the module's
  own ops use them, and may return a tuple to use instead.
* ``module.register_full_backward_hook(fn)``: ``fn(module, grad_input, grad_output)`` runs once
  the gradients of the call's positional inputs are known too, and may return a tuple to pass
  to the inputs instead. Both tuples line up with the positional arguments and the outputs,
  with ``None`` where there is no tensor (see ``module_backward_hooks`` for how).

Hooks run when the module is called, ``module(x)``, not by ``module.forward(x)``. Every
registration takes ``prepend=True`` to run before the hooks of its kind already there, and
returns a handle whose ``remove()`` takes the hook away (or use it in a ``with`` block). A module
that never had a hook pays one attribute test per call; backward hooks cost two identity ops
per call, and only on modules that have them.

The deprecated ``register_backward_hook`` (PyTorch's non-full form) is not supported: reading it
raises :class:`~chainrule.errors.NotSupportedError` naming ``register_full_backward_hook``.
"""

from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict

from chainrule.autograd.hooks import RemovableHandle
from chainrule.errors import NotSupportedError
from chainrule.nn.module_backward_hooks import BackwardHook

_ids = itertools.count()


class _Hooks:
    """One module's hooks, each ``{id: entry}`` in call order: forward pre-hooks and forward
    hooks (entries ``(fn, with_kwargs, always_call)``), backward pre-hooks and full backward
    hooks (entries ``fn``)."""

    __slots__ = ("pre", "post", "backward_pre", "backward")

    def __init__(self):
        self.pre: OrderedDict = OrderedDict()
        self.post: OrderedDict = OrderedDict()
        self.backward_pre: OrderedDict = OrderedDict()
        self.backward: OrderedDict = OrderedDict()


def _add(hooks: OrderedDict, entry, prepend: bool) -> RemovableHandle:
    fn = entry[0] if isinstance(entry, tuple) else entry
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
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

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_output)`` when the gradients of a call's outputs are known,
        before any op inside the module uses them; a returned tuple replaces ``grad_output``.

        ``grad_output`` has one entry per output (a single output is a tuple of one): its
        gradient, or ``None`` for an output that got none or is not a tensor. Hooks are taken
        as registered when the module is called: removing one later still lets it run for
        the calls already made.

        Args:
            hook: the function; it should not change its arguments in place.
            prepend: run it before the backward pre-hooks already registered.

        Returns:
            A handle: ``handle.remove()`` (or leaving its ``with`` block) takes the hook away.

        Example:
            >>> import chainrule as cr
            >>> layer = cr.nn.Identity()
            >>> _ = layer.register_full_backward_pre_hook(lambda m, grad_out: (grad_out[0] * 2,))
            >>> x = cr.ones(2, requires_grad=True)
            >>> layer(x).sum().backward()
            >>> x.grad.tolist()
            [2.0, 2.0]
        """
        return _add(self._hooks().backward_pre, hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_input, grad_output)`` once the gradients of a call's inputs
        are known; a returned tuple replaces ``grad_input`` (what the inputs receive).

        ``grad_input`` has one entry per positional argument (keyword arguments are left out):
        the gradient for a tensor (zeros where none reached it or it needs none), ``None`` for
        other values. ``grad_output`` is as the pre-hook's. If no input needs a gradient, the
        hook runs (with a warning, as PyTorch's) once the outputs' gradients are known, with
        ``grad_input`` all ``None``, and must return ``None``. It runs once per backward pass
        through each call; not when no output needs a gradient.

        Args:
            hook: the function; it should not change its arguments in place.
            prepend: run it before the full backward hooks already registered.

        Returns:
            A handle: ``handle.remove()`` (or leaving its ``with`` block) takes the hook away.

        Example:
            >>> import chainrule as cr
            >>> layer = cr.nn.Linear(3, 2)
            >>> seen = []
            >>> def hook(module, grad_input, grad_output):
            ...     seen.append((grad_input[0].shape, grad_output[0].shape))
            >>> with layer.register_full_backward_hook(hook):
            ...     layer(cr.ones(4, 3, requires_grad=True)).sum().backward()
            >>> seen
            [((4, 3), (4, 2))]
        """
        return _add(self._hooks().backward, hook, prepend)

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
            call = None  # this call's backward hooks, as registered now (PyTorch's snapshot)
            if hooks.backward or hooks.backward_pre:
                call = BackwardHook(
                    self, list(hooks.backward.values()), list(hooks.backward_pre.values())
                )
                args = call.setup_inputs(args)
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
            if call is not None:
                result = call.setup_outputs(result)
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


_NOT_SUPPORTED = {
    "register_backward_hook": (
        "Module.register_full_backward_hook(hook), the form PyTorch recommends; the deprecated "
        "one's grad_input is the last op's, not the module's inputs'"
    ),
    # Module.to takes float32 and float64 only; these must not fall through to a plain
    # AttributeError that reads like a typo
    "half": "Module.float() or Module.double(); chainrule's layers compute in float32/float64",
    "bfloat16": "Module.float(); NumPy has no bfloat16",
    "type": "Module.to(dtype), e.g. model.to(cr.float64)",
    "cuda": "leave it out: chainrule computes with NumPy on the CPU (Module.to('cpu') is a no-op)",
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
