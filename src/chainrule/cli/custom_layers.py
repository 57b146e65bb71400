"""``--import MODULE``: the user's own layer classes (``@nn.register``) for the commands that load
a saved model, as ``cr.load(path, import_from=[...])`` takes them from Python."""

from __future__ import annotations

import importlib
import os
import re
import sys

from chainrule.cli.errors import CLIError

_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def add_import_argument(parser) -> None:
    parser.add_argument(
        "--import",
        dest="import_from",
        action="append",
        default=[],
        metavar="MODULE",
        help="a Python module (or package) defining layer classes registered with @nn.register "
        "that the model file names; imported from the current folder or PYTHONPATH before "
        "loading; repeatable",
    )


def import_modules(names: list[str]) -> list[str]:
    """Import each module named by ``--import`` now, so a typo or a broken module is reported
    as such (rather than as an unknown class); the current folder is searched first, as
    ``python -m chainrule`` searches it."""
    if not names:
        return []
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        if name.endswith(".py") or not _MODULE_NAME.fullmatch(name):
            stem = os.path.splitext(os.path.basename(name))[0]
            hint = f" (for the file {name}: --import {stem}, run from its folder)"
            raise CLIError(
                f"--import {name!r}: expected a module name such as mylayers or "
                f"mypkg.layers{hint if name.endswith('.py') else ''}"
            )
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise CLIError(
                f"--import {name}: cannot import it ({err}); run from the folder that holds "
                f"{name.replace('.', '/')}.py, or add that folder to PYTHONPATH"
            ) from None
        except Exception as err:  # noqa: BLE001 - the user's module failed while importing
            raise CLIError(
                f"--import {name}: importing it failed: {type(err).__name__}: {err}"
            ) from err
    return names


def load(path: str, import_from: list[str]):
    """``cr.load(path)`` with the ``--import`` modules; a class the file names that no module
    registered is a one-line error saying which ``--import`` is missing."""
    import chainrule as cr

    names = import_modules(import_from)
    try:
        return cr.load(path, import_from=names)
    except cr.ModelFormatError as err:
        raise _unknown_class(err, path, names) or err from None


def _unknown_class(err, path: str, names: list[str]) -> CLIError | None:
    class_path = getattr(err, "unknown_class", None)
    if class_path is None:
        return None
    module = class_path.partition(":")[0]
    if any(module == m or module.startswith(m + ".") for m in names):
        return CLIError(
            f"{path}: names the layer class {class_path}, but --import {module} registered no "
            f"such class with @nn.register (was it renamed or moved?)"
        )
    return CLIError(
        f"{path}: names the layer class {class_path}, registered with @nn.register where the "
        f"model was saved; pass --import {module} (run from the folder that holds it, or add "
        f"that folder to PYTHONPATH)"
    )
