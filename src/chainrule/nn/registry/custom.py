"""Your own ``Module`` subclasses in a saved architecture: ``@nn.register`` opts a class in.

A registered class is written to a file as its import path and the arguments its constructor
was called with::

    {"type": "Custom", "class": "mypkg.models:Net", "args": [8], "kwargs": {"hidden": 16}}

and rebuilt on load as ``Net(8, hidden=16)`` (the weights then come from the file). Loading
builds only classes registered with ``@nn.register`` in the loading process, never calls
anything else the file names, and imports a module only when the caller allows that module by
name (``cr.load(path, import_from=["mypkg"])``); see docs/file-format.md for the trust model.
"""

from __future__ import annotations

import functools
import importlib
import math
import re

import numpy as np

from chainrule.errors import ModelFormatError
from chainrule.nn.registry.checks import _fail, _show

CUSTOM = "Custom"
# "package.module:Outer.Inner": dotted identifiers on both sides, nothing else
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
REGISTERED: dict[str, type] = {}  # "module:qualname" -> class


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register(cls: type) -> type:
    """Let ``cr.save`` write a model holding ``cls`` with its architecture, and ``cr.load``
    rebuild it: the class is recorded by its import path, each instance by the arguments its
    constructor was called with (JSON values: numbers, strings, booleans, None, lists and
    dicts; tuples come back as lists).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> @nn.register
        ... class TwoLayer(nn.Module):
        ...     def __init__(self, n_in, hidden=8):
        ...         super().__init__()
        ...         self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
        ...         self.head = nn.Linear(hidden, 1)
        ...     def forward(self, x):
        ...         return self.head(self.body(x))
        >>> config = nn.registry.module_to_config(TwoLayer(3, hidden=4))
        >>> config["args"], config["kwargs"]
        ([3], {'hidden': 4})
    """
    from chainrule.nn.module import Module

    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"nn.register takes an nn.Module subclass, got {cls!r}")
    if "<locals>" in cls.__qualname__:
        raise TypeError(
            f"nn.register: {cls.__qualname__} is defined inside a function, so no other "
            f"process can find it by name; define it at the top level of a module"
        )
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if type(self) is cls:  # a subclass's own call is its own (and it registers itself)
            object.__setattr__(self, "_constructor_call", (args, kwargs))

    cls.__init__ = __init__
    REGISTERED[class_path(cls)] = cls  # a class defined again (a notebook cell rerun) wins
    return cls


def custom_config(module) -> dict | None:
    """``{"type": "Custom", ...}`` for a registered class's instance; None for other classes."""
    cls = type(module)
    path = class_path(cls)
    if REGISTERED.get(path) is not cls:
        return None
    call = module.__dict__.get("_constructor_call")
    if call is None:
        raise ModelFormatError(
            f"cannot save {cls.__qualname__}: this instance was not made by calling the class "
            f"(a copy made without __init__?), so its constructor arguments are unknown"
        )
    args, kwargs = call
    where = f"{cls.__qualname__}("
    return {
        "type": CUSTOM,
        "class": path,
        "args": [_json(a, f"{where}argument {i})") for i, a in enumerate(args)],
        "kwargs": {k: _json(v, f"{where}{k}=)") for k, v in kwargs.items()},
    }


def _json(value, where: str):
    """``value`` as JSON types, or a ModelFormatError naming the constructor argument."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json(v, where) for k, v in value.items()}
    raise ModelFormatError(
        f"cannot save the constructor call of {where}: it is {_show(value)}, and a file holds "
        f"only JSON values (numbers, strings, booleans, None, lists, dicts with string keys); "
        f"build it inside __init__ from such values, or save model.state_dict() instead"
    )


def check_custom(config: dict, where: str, import_from) -> tuple:
    """The plan to build a ``Custom`` entry: its class (registered, maybe imported now)."""
    extra = set(config) - {"type", "class", "args", "kwargs"}
    if extra:
        raise _fail(where, f"unknown keys {sorted(map(str, extra))!r:.200}")
    path, args, kwargs = config.get("class"), config.get("args", []), config.get("kwargs", {})
    parts = path.split(":") if isinstance(path, str) else []
    if len(parts) != 2 or not all(_PATH.fullmatch(p) for p in parts):
        raise _fail(where, f"'class' must be 'module:ClassName', got {_show(path)}")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise _fail(where, "'args' must be a list and 'kwargs' an object")
    return CUSTOM, (_resolve(path, parts[0], import_from), args, kwargs), None


def _resolve(path: str, module_name: str, import_from) -> type:
    cls = REGISTERED.get(path)
    if cls is not None:
        return cls
    if module_name == "__main__":  # defined in the script that saved it: no import finds it
        raise ModelFormatError(
            f"the file names the class {path}, defined in the script that saved it; define and "
            f"register the same class in this script before loading, or move it to a module "
            f"(then files name that module)"
        )
    allowed = any(module_name == m or module_name.startswith(m + ".") for m in import_from)
    if not allowed:
        raise _unknown(
            path,
            f"the file names the class {path}, registered with @nn.register where it was saved, "
            f"but not registered in this process: import {module_name} before loading, or let "
            f"the loader import it with cr.load(path, import_from=[{module_name!r}]) (it never "
            f"imports a module you have not named)",
        )
    try:
        importlib.import_module(module_name)
    except ImportError as err:
        raise ModelFormatError(
            f"the file names the class {path}, but its module cannot be imported ({err}); put "
            f"{module_name} on the Python path (PYTHONPATH, or install its package)"
        ) from None
    cls = REGISTERED.get(path)
    if cls is None:
        raise _unknown(
            path,
            f"the file names the class {path}, but importing {module_name} registered no such "
            f"class with @nn.register; only registered classes are built from a file",
        )
    return cls


def _unknown(path: str, message: str) -> ModelFormatError:
    """The error for a class no module registered, naming it in ``unknown_class`` (the
    command line turns that into its ``--import`` hint)."""
    err = ModelFormatError(message)
    err.unknown_class = path
    return err


def build_custom(plan: tuple):
    cls, args, kwargs = plan
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError) as err:  # arguments the class no longer takes
        raise ModelFormatError(
            f"model config: cannot build {class_path(cls)} from the file's arguments "
            f"({err}); was the class changed since the file was saved?"
        ) from None
