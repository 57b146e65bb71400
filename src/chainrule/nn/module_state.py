"""Module state: ``state_dict`` and ``load_state_dict``, PyTorch's names, order and errors.

``state_dict()`` gives NumPy views of the parameters and buffers, as PyTorch gives detached
tensors sharing their memory (``keep_vars=True``: the tensors themselves);
``load_state_dict`` copies values in place, after checking every name and shape.
"""

from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping

import numpy as np

from chainrule.autograd.hooks import RemovableHandle
from chainrule.errors import StateDictError
from chainrule.nn._module_args import key_hint, state_array


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns; prints as PyTorch's when nothing is amiss."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )

    __str__ = __repr__


_EXTRA_STATE = "_extra_state"  # PyTorch's key for what get_extra_state returns
_hook_ids = itertools.count()


class ModuleStateMethods:
    """The state half of :class:`~chainrule.nn.Module` (a base class of it)."""

    def get_extra_state(self):
        """State beyond parameters and buffers for :meth:`state_dict` to save (under the key
        ``"_extra_state"``): override it, and :meth:`set_extra_state` to load it back, as in
        PyTorch. Only called where a subclass overrides it."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called; "
            "override get_extra_state() in your module to return its extra state (as PyTorch)"
        )

    def set_extra_state(self, state) -> None:
        """Take back what :meth:`get_extra_state` returned (from ``load_state_dict``)."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called; "
            "override set_extra_state() in your module to load its extra state (as PyTorch)"
        )

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` reads this module's entries
        (``prefix`` is its dotted path and a dot); it may rename or convert entries of
        ``state_dict``, a copy of the caller's. The three lists are for PyTorch's signature:
        chainrule finds the missing and unexpected keys itself, after every hook ran.

        Returns:
            A handle: ``handle.remove()`` takes the hook away.
        """
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False):
        """PyTorch's private form: ``hook(state_dict, prefix, ...)`` without the module."""
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault("_load_state_dict_pre_hooks", OrderedDict())
        key = next(_hook_ids)
        hooks[key] = (hook, with_module)
        return RemovableHandle(hooks, key)

    def _state_entries(self, extra: bool = False) -> Iterator:
        """``(dotted name, tensor)`` for what state_dict saves: parameters, then buffers, of
        every module under every name it has (a layer used twice is saved twice, as PyTorch's
        state_dict does); with ``extra``, ``(name, module)`` after them for a module that
        overrides get_extra_state (its ``_extra_state``)."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            for key, param in module._parameters.items():
                if param is not None:
                    yield (f"{prefix}.{key}" if prefix else key), param
            for key, buffer in module._buffers.items():
                if buffer is not None and key not in module._non_persistent:
                    yield (f"{prefix}.{key}" if prefix else key), buffer
            if extra and _overrides(module, "get_extra_state"):
                yield (f"{prefix}.{_EXTRA_STATE}" if prefix else _EXTRA_STATE), module

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Name → NumPy array sharing memory with each parameter and persistent buffer.

        As PyTorch's entries (detached tensors on the same storage), the arrays follow later
        training and writing into one changes the model (an EMA's ``v[...] = ...``); keep a
        snapshot with ``copy.deepcopy(model.state_dict())``, as in PyTorch.

        The names and layouts are PyTorch's (``0.weight`` is ``(out, in)`` for a Linear), so
        ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})`` works.

        Args:
            destination: a dict to fill and return (PyTorch's; a new ``OrderedDict`` if None).
            prefix: put in front of every name, as is (``prefix="model."``).
            keep_vars: the Parameters and buffer tensors themselves instead of copies.
        """
        if args:  # PyTorch's deprecated positional form: destination, prefix, keep_vars
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead (as in PyTorch)",
                FutureWarning,
                stacklevel=2,
            )
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        destination = OrderedDict() if destination is None else destination
        for name, tensor in self._state_entries(extra=True):
            if isinstance(tensor, ModuleStateMethods):  # a module's get_extra_state()
                destination[prefix + name] = tensor.get_extra_state()
            else:
                destination[prefix + name] = tensor if keep_vars else tensor.array.view()
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Values may be NumPy arrays, chainrule tensors or other array-likes; each is cast to the
        dtype of the parameter it fills. Nothing is changed if any check fails.

        Args:
            state_dict: name → array, e.g. from :meth:`state_dict` or a PyTorch model.
            strict: require exactly the same names as this module has (a tensor with two
                names, a layer used twice, needs only one of them).
            assign: take each entry's dtype too, as PyTorch's ``assign=True`` keeps the state
                dict's tensor properties (the values are copied all the same; parameters keep
                their identity and ``requires_grad``).

        Returns:
            ``(missing_keys, unexpected_keys)`` as a named tuple.

        Raises:
            StateDictError (a ShapeError and a RuntimeError): an entry's shape differs from the
                parameter's (always checked).
            StateDictError (a ModelFormatError too): with ``strict=True``, names are missing or
                unexpected.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of name -> array, got "
                f"{type(state_dict).__name__}"
            )
        state_dict = _run_load_pre_hooks(self, state_dict, strict)
        own = OrderedDict(self._state_entries())
        # A batch norm's counter may be absent (older PyTorch checkpoints): PyTorch keeps the
        # current count and does not report it, and so does this
        # A layer used twice has two names for one tensor: one of them is enough (files
        # written before state_dict listed both names have only the first)
        filled = {id(tensor) for name, tensor in own.items() if name in state_dict}
        missing = [
            name
            for name, tensor in own.items()
            if name not in state_dict
            and id(tensor) not in filled
            and name.rpartition(".")[2] != "num_batches_tracked"
        ]
        extras = {  # the modules that load extra state, by its key
            name: module
            for name, module in self.named_modules(remove_duplicate=False)
            if _overrides(module, "set_extra_state")
        }
        extras = {(f"{n}." if n else "") + _EXTRA_STATE: m for n, m in extras.items()}
        missing += [name for name in extras if name not in state_dict]
        unexpected = _unexpected_keys(self, state_dict)
        updates = _checked_updates(own, state_dict)
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing keys {missing}")
            if unexpected:
                problems.append(f"unexpected keys {unexpected}")
            raise StateDictError(
                f"load_state_dict for {type(self).__name__}: {'; '.join(problems)}. The state "
                f"must come from the same architecture (strict=False loads the matching keys)."
                + key_hint(own, state_dict)
            )
        for target, array in updates:
            if assign:
                target.array = np.array(array, copy=True)
            else:
                target.array[...] = array.astype(target.array.dtype, copy=False)
        for name, module in extras.items():
            if name in state_dict:
                module.set_extra_state(state_dict[name])
        return _IncompatibleKeys(missing, unexpected)


def _overrides(module, method: str) -> bool:
    """Whether ``module``'s class defines its own ``method`` (get/set_extra_state)."""
    return getattr(type(module), method) is not getattr(ModuleStateMethods, method)


def _run_load_pre_hooks(root, state_dict: Mapping, strict: bool) -> Mapping:
    """``state_dict`` after every module's load pre-hooks ran on it (a copy, if any ran)."""
    hooked = [
        (prefix, module, hooks)
        for prefix, module in root.named_modules(remove_duplicate=False)
        if (hooks := module.__dict__.get("_load_state_dict_pre_hooks"))
    ]
    if not hooked:
        return state_dict
    state_dict = OrderedDict(state_dict)  # hooks rename entries: never in the caller's dict
    for prefix, module, hooks in hooked:
        for hook, with_module in list(hooks.values()):
            args = (state_dict, f"{prefix}." if prefix else "", {}, strict, [], [], [])
            if with_module:
                hook(module, *args)
            else:
                hook(*args)
    return state_dict


def _unexpected_keys(root, state_dict: Mapping) -> list:
    """The keys no parameter or buffer takes, found as PyTorch's load does (so listed in its
    order): module by module, a key is unexpected where its next part is neither one of the
    module's entries nor, with more parts after it, one of its children."""
    unexpected = []
    for path, module in root.named_modules(remove_duplicate=False):
        prefix = f"{path}." if path else ""
        local = {k for k, v in module._parameters.items() if v is not None}
        local |= {
            k
            for k, v in module._buffers.items()
            if v is not None and k not in module._non_persistent
        }
        if _overrides(module, "set_extra_state"):
            local.add(_EXTRA_STATE)
        for key in state_dict:
            if not key.startswith(prefix):
                continue
            head, dot, _ = key[len(prefix) :].partition(".")
            if (dot and head not in module._modules) or (not dot and head not in local):
                unexpected.append(key)
    return unexpected


def _checked_updates(own: OrderedDict, state_dict: Mapping) -> list:
    """``(tensor, array)`` for every name of ``own`` in ``state_dict``, each shape checked.

    Two names of one tensor (a layer used twice) must hold the same values: PyTorch's own
    state_dict entries are views, so replacing one of them there loads the new value, while
    copying both in turn here would let the last, stale one win."""
    updates = []
    by_tensor = {}
    for name, target in own.items():
        if name not in state_dict:
            continue
        array = state_array(state_dict[name], name)
        if array.shape != target.array.shape:
            raise StateDictError(
                f"load_state_dict: {name} has shape {tuple(array.shape)} in the file but "
                f"{tuple(target.array.shape)} in the model; the weights come from a different "
                f"architecture"
            )
        first = by_tensor.setdefault(id(target), (name, array))
        if first[0] != name and not np.array_equal(first[1], array, equal_nan=True):
            raise StateDictError(
                f"load_state_dict: {first[0]} and {name} name the same tensor (a shared layer) "
                f"but hold different values; give both names the same value, or drop one"
            )
        updates.append((target, array))
    return updates
