"""A model rebuilt from an architecture dict that may come from an untrusted file: everything is
checked against the layer schemas and the limits before any layer is made."""

from __future__ import annotations

from collections.abc import Iterable

from chainrule.nn.module import Module
from chainrule.nn.registry.checks import (
    _NAME,
    MAX_DEPTH,
    MAX_MODULES,
    MAX_PARAMETERS,
    SHARED,
    Nested,
    _fail,
    _show,
)
from chainrule.nn.registry.custom import CUSTOM, build_custom, check_custom
from chainrule.nn.registry.layers import CONTAINERS, LAYERS, REQUIRED, parameter_count


def module_from_config(
    config: dict, *, max_parameters: int = MAX_PARAMETERS, import_from: Iterable[str] = ()
) -> Module:
    """Rebuild a module from :func:`module_to_config`'s dict, checking everything first.

    Args:
        config: the architecture dict (untrusted: e.g. from a file's metadata).
        max_parameters: refuse configs whose layers would hold more numbers than this (a loader
            passes the number of values stored in the file, which a real model never exceeds).
        import_from: module names (or packages) the loader may import to find a class that
            ``@nn.register`` registered where the file was saved; no other module is imported.

    Raises:
        ModelFormatError: unknown layer type, unknown or invalid argument, bad nesting, or a
            model larger than the limits; nothing is built.
    """
    if isinstance(import_from, str):
        import_from = [import_from]
    counts = {"modules": 0, "parameters": 0, "paths": set(), "import_from": tuple(import_from)}
    plan = _check(config, "root", 0, counts, "")
    _within(counts["parameters"], max_parameters)
    model = _build(plan, {}, "")
    if counts.get("custom"):  # a registered class's size is known only once it is built
        _within(sum(p.array.size for p in model.parameters()), max_parameters)
    return model


def _within(count: int, max_parameters: int) -> None:
    if count > max_parameters:
        raise _fail(
            "root",
            f"the layers would hold {count:,} parameters, more than the limit of "
            f"{max_parameters:,}",
        )


def _check(config, where: str, depth: int, counts: dict, path: str):
    plan = _check_one(config, where, depth, counts, path)
    counts["paths"].add(path)  # complete now: later layers may share it, its children not
    return plan


def _check_one(config, where: str, depth: int, counts: dict, path: str):
    if depth > MAX_DEPTH:
        raise _fail(where, f"containers are nested more than {MAX_DEPTH} deep")
    counts["modules"] += 1
    if counts["modules"] > MAX_MODULES:
        raise _fail(where, f"more than {MAX_MODULES:,} modules")
    if not isinstance(config, dict):
        raise _fail(where, f"expected an object with a 'type', got {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str):
        raise _fail(where, f"'type' must be a layer name, got {_show(kind)}")
    where = f"{where} ({kind:.40})"
    if kind == SHARED:
        target = config.get("path")
        if set(config) != {"type", "path"} or not isinstance(target, str):
            raise _fail(where, "a shared layer is {'type': 'Shared', 'path': '<dotted path>'}")
        if target not in counts["paths"]:
            raise _fail(
                where,
                f"path {_show(target)} names no layer written before this one (a shared layer "
                f"refers back to an earlier, complete one)",
            )
        return SHARED, target, None
    if kind in CONTAINERS:
        return _check_container(config, kind, where, depth, counts, path)
    if kind == CUSTOM:
        counts["custom"] = True
        return check_custom(config, where, counts["import_from"])
    if kind not in LAYERS:
        allowed = ", ".join(sorted({*LAYERS, *CONTAINERS}))
        raise _fail(where, f"unknown layer type {_show(kind)}; allowed: {allowed}")
    extra = set(config) - {"type", "args"}
    if extra:
        raise _fail(where, f"unknown keys {sorted(map(str, extra))!r:.200}")
    args = config.get("args", {})
    if not isinstance(args, dict):
        raise _fail(where, f"'args' must be an object, got {type(args).__name__}")
    schema = LAYERS[kind][1]
    unknown = set(args) - set(schema)
    if unknown:
        raise _fail(
            where,
            f"unknown arguments {sorted(map(str, unknown))!r:.200}; {kind} takes {sorted(schema)}",
        )
    missing = [name for name in REQUIRED.get(kind, ()) if name not in args]
    if missing:
        raise _fail(where, f"missing required arguments {missing}")
    clean = {
        name: schema[name](value, f"{where}.{name}")
        for name, value in args.items()
        if not isinstance(schema[name], Nested)
    }
    counts["parameters"] += parameter_count(kind, clean)
    for name, spec in schema.items():
        if isinstance(spec, Nested):
            value = args.get(name)
            clean[name] = _check_nested(value, spec, clean, f"{where}.{name}", depth, counts, path)
    return kind, clean, None


class _NestedPlan:
    """A checked layer config that is another layer's argument, built before that layer."""

    def __init__(self, plan, attr: str, copied: bool):
        self.plan, self.attr, self.copied = plan, attr, copied


def _check_nested(value, spec: Nested, clean: dict, where: str, depth: int, counts: dict, path):
    copies = clean.get(spec.repeat, 1) if spec.repeat else 1
    if value is None:
        if (copies == 0) if spec.repeat else spec.optional:
            return None
        raise _fail(where, "a layer config is required here")
    if spec.repeat and copies == 0:
        raise _fail(where, f"expected null: {spec.repeat} is 0, so no layer is copied")
    kind = value.get("type") if isinstance(value, dict) else None
    if spec.kinds is not None and kind not in spec.kinds:  # before its own checks: a clearer error
        raise _fail(where, f"expected a {' or '.join(spec.kinds)}, got {_show(kind)}")
    before = counts["parameters"], counts["modules"], set(counts["paths"])
    child_path = f"{path}.{spec.attr}" if path else spec.attr
    plan = _check(value, where, depth + 1, counts, child_path)
    if spec.repeat:  # the layer given is only a template: the copies are what gets built
        counts["parameters"] += (copies - 1) * (counts["parameters"] - before[0])
        counts["modules"] += (copies - 1) * (counts["modules"] - before[1])
        counts["paths"] = before[2]
        if counts["modules"] > MAX_MODULES:
            raise _fail(where, f"more than {MAX_MODULES:,} modules")
    return _NestedPlan(plan, spec.attr, copied=bool(spec.repeat))


def _check_container(config: dict, kind: str, where: str, depth: int, counts: dict, path: str):
    extra = set(config) - {"type", "children", "names"}
    if extra:
        raise _fail(where, f"unknown keys {sorted(map(str, extra))!r:.200}")
    children = config.get("children", [])
    if not isinstance(children, list):
        raise _fail(where, f"'children' must be a list, got {type(children).__name__}")
    names = config.get("names")
    if names is None:
        names = [str(i) for i in range(len(children))]
    elif kind != "Sequential":
        raise _fail(where, "only Sequential children may have custom names")
    elif (
        not isinstance(names, list)
        or len(names) != len(children)
        or not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names)
        or len(set(names)) != len(names)
    ):
        raise _fail(
            where,
            "'names' must list one unique name (letters, digits, _; up to 64) per child",
        )
    plans = [
        _check(child, f"{where}.{name}", depth + 1, counts, f"{path}.{name}" if path else name)
        for name, child in zip(names, children)
    ]
    return kind, names, plans


def _build(plan, built: dict, path: str) -> Module:
    kind, args_or_names, children = plan
    if kind == SHARED:
        return built[args_or_names]
    if kind == CUSTOM:
        module = build_custom(args_or_names)
    elif children is not None:
        container = CONTAINERS[kind]()
        for name, child in zip(args_or_names, children):
            container.add_module(name, _build(child, built, f"{path}.{name}" if path else name))
        module = container
    else:
        args = {
            name: _build_nested(value, built, path) if isinstance(value, _NestedPlan) else value
            for name, value in args_or_names.items()
        }
        try:
            module = LAYERS[kind][0](**args)
        except (TypeError, ValueError) as err:  # a missing required argument, a bad combination
            raise _fail(kind, str(err)) from None
    built[path] = module
    return module


def _build_nested(nested: _NestedPlan, built: dict, path: str) -> Module:
    if nested.copied:  # the layer deep-copies it: the template is not part of the model
        return _build(nested.plan, {}, "")
    return _build(nested.plan, built, f"{path}.{nested.attr}" if path else nested.attr)
