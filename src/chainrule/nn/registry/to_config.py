"""A model's architecture as a JSON-able dict (its layers and arguments, not its weights)."""

from __future__ import annotations

from chainrule.errors import ModelFormatError
from chainrule.nn.module import Module
from chainrule.nn.registry.checks import _NAME, SHARED
from chainrule.nn.registry.layers import CONTAINERS, LAYERS


def module_to_config(module: Module) -> dict:
    """A JSON-able description of ``module``'s architecture (not its weights).

    Raises:
        ModelFormatError: the model contains a layer that is not built into chainrule (e.g. your
            own ``Module`` subclass); save its ``state_dict()`` instead and rebuild the class in
            code before ``load_state_dict``.
    """
    return _to_config(module, "", {})


def _to_config(module: Module, path: str, seen: dict) -> dict:
    # A layer used at two places (its weights shared) is written in full at the first and as
    # {"type": "Shared", "path": <first dotted path>} at the others, so it loads shared again
    if id(module) in seen:
        return {"type": SHARED, "path": seen[id(module)]}
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
    entry = LAYERS.get(kind)
    if entry is None or entry[0] is not type(module):
        raise ModelFormatError(
            f"cannot describe {kind} as an architecture: only chainrule's built-in layers "
            f"({', '.join(sorted({*LAYERS, *CONTAINERS}))}) can be rebuilt from a file. For a "
            f"custom Module, save model.state_dict() instead and rebuild the class in code "
            f"before calling load_state_dict"
        )
    seen[id(module)] = path
    schema = entry[1]
    if hasattr(module, "_config"):
        args = module._config()
    else:
        args = {name: getattr(module, name) for name in schema}
    return {"type": kind, "args": args}
