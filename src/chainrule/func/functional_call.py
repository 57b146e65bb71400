"""``functional_call``: run a module with other tensors in place of its parameters and buffers
(PyTorch's ``torch.func.functional_call``; ``nn.utils.stateless.functional_call`` is the
deprecated spelling).

The given tensors stand in for the module's own, by their ``state_dict`` names, for one call;
the module's parameters are put back afterwards, even if the call raises. Gradients flow to
the given tensors, so ``grad(lambda p, x: loss(functional_call(model, p, (x,))))`` gives the
gradient with respect to a ``params`` dict (meta-learning, per-example gradients).
"""

from __future__ import annotations

from chainrule.nn.module import Module
from chainrule.tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def _merge(dicts) -> dict:
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, (list, tuple)) or not all(isinstance(d, dict) for d in dicts):
        raise ValueError(
            f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but "
            f"got {type(dicts).__name__}"
        )
    merged: dict = {}
    for d in dicts:
        for key, value in d.items():
            if key in merged:
                raise ValueError(
                    f"{key} appeared in multiple dictionaries; behavior of functional call is "
                    f"ambiguous"
                )
            merged[key] = value
    return merged


def _untie(module: Module, values: dict) -> dict:
    """Give every name of a tied tensor the value given for one of them (PyTorch's
    ``tie_weights=True``); different values for two names of one tensor are refused."""
    names_of: dict = {}
    for name, tensor in module.named_parameters(remove_duplicate=False):
        names_of.setdefault(id(tensor), []).append(name)
    for name, tensor in module.named_buffers(remove_duplicate=False):
        names_of.setdefault(id(tensor), []).append(name)
    out = dict(values)
    for names in names_of.values():
        given = [n for n in names if n in values]
        if not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(names)}, which are tied. "
                f"Consider using tie_weights=False"
            )
        for n in names:
            out[n] = values[given[0]]
    return out


def _check_keys(module: Module, values: dict) -> None:
    expected = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    expected |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    missing = sorted(expected - set(values))
    unexpected = sorted(set(values) - expected)
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(
            f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(errors)
        )


def _swap(module: Module, name: str, value):
    """Put ``value`` at ``name`` (a dotted path); returns what was there (``_MISSING``: nothing,
    and ``value`` is then removed again by passing ``_MISSING``)."""
    prefix, _, attr = name.rpartition(".")
    owner = module.get_submodule(prefix) if prefix else module
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(
            f"functional_call: the value for {name!r} is a {type(value).__name__}, not a "
            f"tensor; pass cr.tensor(...) values"
        )
    for registry in (owner._parameters, owner._buffers):
        if attr in registry:
            old = registry[attr]
            if value is _MISSING:
                del registry[attr]
            else:
                registry[attr] = value
            return old
    old = owner.__dict__.get(attr, _MISSING)
    if value is _MISSING:
        owner.__dict__.pop(attr, None)
    else:
        object.__setattr__(owner, attr, value)
    return old


def functional_call(
    module: Module,
    parameter_and_buffer_dicts,
    args=None,
    kwargs=None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts`` (one dict
    of ``state_dict`` names, or a list/tuple of dicts) in place of its own, for this call.

    Args:
        tie_weights: a tensor the module holds under two names takes the value given for
            either name (two different values are refused).
        strict: the names must be exactly the module's parameters and buffers.
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an nn.Module, got {type(module).__name__}")
    values = _merge(parameter_and_buffer_dicts)
    if tie_weights:
        values = _untie(module, values)
    if strict:
        _check_keys(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    originals = []
    try:
        for name, value in values.items():
            originals.append((name, _swap(module, name, value)))
        return module(*args, **(kwargs or {}))
    finally:
        for name, old in reversed(originals):
            _swap(module, name, old)
