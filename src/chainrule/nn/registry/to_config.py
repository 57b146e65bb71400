"""A model's architecture as a JSON-able dict (its layers and arguments, not its weights)."""

from __future__ import annotations

from chainrule.errors import ModelFormatError
from chainrule.nn.module import Module
from chainrule.nn.registry.checks import _NAME, SHARED
from chainrule.nn.registry.custom import class_path, custom_config
from chainrule.nn.registry.layers import CONTAINERS, LAYERS
from chainrule.nn.registry.schema_attention import DESCRIBE, NESTING


class _Inside(str):
    """In ``seen``: a layer that is part of a layer written by its arguments (its path there
    cannot be named by a shared reference, since the file rebuilds it rather than lists it)."""


def module_to_config(module: Module) -> dict:
    """A JSON-able description of ``module``'s architecture (not its weights).

    Raises:
        ModelFormatError: the model contains a layer that is neither built into chainrule nor
            registered with ``@nn.register`` (e.g. your own ``Module`` subclass); register it,
            or save its ``state_dict()`` and rebuild the class in code before
            ``load_state_dict``.
    """
    return _to_config(module, "", {})


def _to_config(module: Module, path: str, seen: dict) -> dict:
    # A layer used at two places (its weights shared) is written in full at the first and as
    # {"type": "Shared", "path": <first dotted path>} at the others, so it loads shared again
    if id(module) in seen:
        if isinstance(seen[id(module)], _Inside):
            raise ModelFormatError(
                f"cannot save the layer at {path!r}: it is also part of the layer at "
                f"{seen[id(module)]!r}, which the file rebuilds from its arguments, so the "
                f"sharing cannot be written; save model.state_dict() instead"
            )
        return {"type": SHARED, "path": seen[id(module)]}
    _refuse_reparametrized(module, path)
    kind = type(module).__name__
    if CONTAINERS.get(kind) is type(module):
        children = list(module._modules.items())
        config = {
            "type": kind,
            "children": [
                _to_config(m, f"{path}.{name}" if path else name, seen) for name, m in children
            ],
        }
        seen[id(module)] = path
        names = [name for name, _ in children]
        if names != [str(i) for i in range(len(names))]:
            bad = [n for n in names if not _NAME.fullmatch(n)]
            if bad:
                raise ModelFormatError(
                    f"cannot save child names {bad}: use letters, digits and _ (up to 64 "
                    f"characters) so the file can be read back"
                )
            config["names"] = names
        return config
    custom = custom_config(module)
    if custom is not None:  # its constructor builds its parts: none may be written elsewhere
        _inside_only(module, kind, path, seen)
        return custom
    entry = LAYERS.get(kind)
    if entry is None or entry[0] is not type(module):
        raise ModelFormatError(
            f"cannot describe {kind} ({class_path(type(module))}) as an architecture: only "
            f"chainrule's built-in layers ({', '.join(sorted({*LAYERS, *CONTAINERS}))}) and "
            f"classes registered with @nn.register can be rebuilt from a file. Register your "
            f"class (@cr.nn.register above 'class {kind}', which records its import path and "
            f"constructor arguments), or save model.state_dict() and rebuild the class in code "
            f"before calling load_state_dict"
        )
    seen[id(module)] = path
    schema = entry[1]
    if kind in DESCRIBE:
        return {"type": kind, "args": _describe(module, kind, path, seen)}
    if hasattr(module, "_config"):
        args = module._config()
    else:
        args = {name: getattr(module, name) for name in schema}
    return {"type": kind, "args": args}


def _refuse_reparametrized(module: Module, path: str) -> None:
    """A weight_norm or spectral_norm hook (or a parametrization) is no layer argument: a file
    would rebuild the plain layer, whose parameters differ from the saved ones (weight_g, ...)."""
    if "_parametrized_from" in type(module).__dict__:  # nn.utils.parametrize swapped its class
        raise ModelFormatError(
            f"cannot save {type(module).__name__} at {path or 'the root'!r}: a file's "
            f"architecture cannot hold its parametrizations ({', '.join(module.parametrizations)})"
            f". For inference, call nn.utils.parametrize.remove_parametrizations(layer, name) "
            f"first (same outputs); to train on, save model.state_dict() and register the "
            f"parametrizations on the rebuilt model before load_state_dict"
        )
    hooks = module.__dict__.get("_module_hooks")
    for hook, _, _ in hooks.pre.values() if hooks is not None else ():
        kind = getattr(hook, "reparametrization", None)
        if kind is not None:
            raise ModelFormatError(
                f"cannot save {type(module).__name__} at {path or 'the root'!r} with {kind} on "
                f"{hook.name!r}: a file's architecture cannot hold it. For inference, call "
                f"nn.utils.remove_{kind}(layer) first (same outputs); to train on, save "
                f"model.state_dict() and apply nn.utils.{kind} to the rebuilt model before "
                f"load_state_dict"
            )


def _check_unseen(module: Module, kind: str, path: str, seen: dict) -> None:
    for name, part in module.named_modules(prefix=path):
        if part is not module and id(part) in seen:
            raise ModelFormatError(
                f"cannot save {kind} at {path!r}: its part {name!r} is also used at "
                f"{seen[id(part)]!r}, and the file rebuilds the parts from the arguments"
            )


def _inside_only(module: Module, kind: str, path: str, seen: dict) -> None:
    """A layer rebuilt from its constructor's arguments: its parts are its own."""
    _check_unseen(module, kind, path, seen)
    seen[id(module)] = path
    for part in module.modules():
        if part is not module:
            seen.setdefault(id(part), _Inside(path))


def _describe(module: Module, kind: str, path: str, seen: dict) -> dict:
    """The arguments of a layer that holds other layers, read by its schema's describer."""
    inside = _Inside(path)
    if kind not in NESTING:  # its parts are not written: none may have been seen before
        _check_unseen(module, kind, path, seen)

    def child(part: Module, attr: str, shareable: bool = True) -> dict:
        config = _to_config(part, f"{path}.{attr}" if path else attr, seen)
        if not shareable:  # a deep copy the loader makes anew: nothing may refer to it
            for sub in part.modules():
                seen[id(sub)] = inside
        return config

    args = DESCRIBE[kind](module, child)
    for part in module.modules():
        if part is not module:
            seen.setdefault(id(part), inside)
    return args
