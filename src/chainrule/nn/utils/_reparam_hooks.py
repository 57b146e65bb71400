"""What the hook-based reparametrizations (weight_norm, spectral_norm) share: finding their
forward pre-hook on a module, and checking the parameter they take over."""

from __future__ import annotations

from chainrule.nn.module import Module, Parameter


def pre_hooks(module) -> dict:
    """``{key: (hook, with_kwargs, always_call)}``: the module's forward pre-hooks, in order."""
    hooks = module.__dict__.get("_module_hooks")
    return hooks.pre if hooks is not None else {}


def find_hook(module, kind: type, name: str):
    """The key of the pre-hook of class ``kind`` for parameter ``name``, or None."""
    for key, (hook, _, _) in pre_hooks(module).items():
        if isinstance(hook, kind) and hook.name == name:
            return key
    return None


def taken_parameter(module, name: str, fn_name: str, missing: type = AttributeError) -> Parameter:
    """The parameter ``name`` of ``module`` that ``fn_name`` reparametrizes, checked; a name
    that is no parameter raises ``missing`` (PyTorch's type: it differs between the two)."""
    if not isinstance(module, Module):
        raise TypeError(f"{fn_name}: expected an nn.Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"{fn_name}: name must be a str, got {type(name).__name__}")
    weight = module._parameters.get(name)
    if weight is None:
        if name in module._parameters:  # PyTorch's message for, say, a disabled bias
            raise ValueError(f"`{fn_name}` cannot be applied as parameter `{name}` is None")
        raise missing(
            f"{type(module).__name__!r} object has no parameter {name!r} to apply {fn_name} to; "
            f"its parameters are {list(module._parameters)}"
        )
    lazy = getattr(module, "has_uninitialized_params", None)
    if lazy is not None and lazy():  # a Lazy* layer before its first call
        raise ValueError(
            f"The module passed to `{fn_name}` can't have uninitialized parameters. Make sure "
            f"to run the dummy forward before applying {fn_name}"
        )
    return weight
