"""The schema of the metadata ``chainrule train`` saves with a model, checked before use.

A model file's checksum proves the file is unchanged since it was written, not that whoever
wrote it wrote sensible metadata. ``chainrule predict``, ``evaluate`` and ``info`` read the
entries below; :func:`check_training_metadata` checks every one of them (type, allowed values,
agreement between them) and rebuilds the preprocessing, so a bad entry is one
:class:`~chainrule.errors.ModelFormatError` naming the file and the entry, never a crash deep
inside the command.
"""

from __future__ import annotations

from chainrule.errors import ModelFormatError
from chainrule.nn.registry.custom import CUSTOM
from chainrule.registry import LOSSES as _LOSS_ENTRIES

TASKS = ("binary", "multiclass", "regression")
LOSSES = tuple(_LOSS_ENTRIES)
MAX_LIST = 100_000  # columns, features or classes


def _bad(source: str, key: str, problem: str) -> ModelFormatError:
    return ModelFormatError(
        f"{source}: metadata entry {key!r} {problem}; the file was not written by "
        f"'chainrule train' (or was edited): train the model again"
    )


def _scalar_label(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _string_list(meta: dict, key: str, source: str, required: bool) -> list | None:
    value = meta.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise _bad(source, key, f"must be a list of names, got {type(value).__name__}")
    if not all(isinstance(v, str) for v in value):
        raise _bad(source, key, "must hold only strings")
    return value


def check_training_metadata(meta, source: str, *, need_preprocessing: bool = True):
    """Check the metadata ``chainrule train`` writes; returns the rebuilt Preprocessor (an
    ImagePreprocessor for a folder of images; ``None`` when ``need_preprocessing`` is false and
    the file has none).

    Raises:
        ModelFormatError: an entry has the wrong type or an unknown value, naming it.
    """
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{source}: the model's metadata is not a JSON object")
    task = meta.get("task")
    if task is not None and task not in TASKS:
        raise _bad(source, "task", f"is {task!r}, not one of {', '.join(TASKS)}")
    loss = meta.get("loss")
    if loss is not None and loss not in LOSSES:
        raise _bad(source, "loss", f"is {loss!r}, not one of {', '.join(LOSSES)}")
    target = meta.get("target")
    if (target is not None or task is not None) and not isinstance(target, str):
        raise _bad(source, "target", f"must be a column name, got {type(target).__name__}")
    _string_list(meta, "features", source, required=False)
    _string_list(meta, "columns", source, required=False)
    classes = meta.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not 2 <= len(classes) <= MAX_LIST:
            raise _bad(source, "classes", "must be a list of at least two class labels")
        if not all(_scalar_label(c) for c in classes):
            raise _bad(source, "classes", "must hold only strings or numbers")
        if len({str(c) for c in classes}) != len(classes):
            raise _bad(source, "classes", "holds the same class twice")
    if task in ("binary", "multiclass") and classes is None:
        raise _bad(source, "classes", f"is missing for a {task} model")
    if task == "binary" and len(classes) != 2:
        raise _bad(source, "classes", f"has {len(classes)} labels for a binary model")
    for key in ("training", "reproducibility"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise _bad(source, key, f"must be a JSON object, got {type(meta[key]).__name__}")
    if "preprocessing" not in meta:
        if need_preprocessing:
            raise ModelFormatError(
                f"{source}: this model file has no preprocessing metadata (it was not saved by "
                f"'chainrule train'); use it from Python with cr.load()"
            )
        return None
    from chainrule.data import Preprocessor
    from chainrule.data.image_preprocessing import ImagePreprocessor, is_image_preprocessing

    state = meta["preprocessing"]
    if is_image_preprocessing(state):  # a model trained on a folder of images
        if classes is None:
            raise _bad(source, "classes", "is missing for a model of images")
        try:
            pre = ImagePreprocessor.from_dict(state)
        except Exception as exc:  # the contract: one ModelFormatError
            raise _bad(source, "preprocessing", f"is not valid ({exc})") from None
        if not pre.fitted:
            raise _bad(source, "preprocessing", "was never fitted")
        return pre
    try:
        return Preprocessor.from_dict(state)
    except Exception as exc:  # the contract: one ModelFormatError
        raise _bad(source, "preprocessing", f"is not valid ({exc})") from None


def check_architecture(config, source: str, depth: int = 0) -> None:
    """The shape of an architecture entry as ``info`` prints it: ``{"type": str, "args": {},
    "children": [...]}`` all the way down (the layers themselves are checked by building)."""
    if depth > 64:
        raise ModelFormatError(f"{source}: the architecture nests more than 64 levels deep")
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ModelFormatError(f"{source}: an architecture entry is not a {{'type': ...}} object")
    if config["type"] == CUSTOM:  # a class of the user's: positional args, then kwargs
        if not isinstance(config.get("args", []), list):
            raise ModelFormatError(f"{source}: the 'args' of {CUSTOM!r} is not a list")
    elif not isinstance(config.get("args", {}), dict):
        raise ModelFormatError(f"{source}: the 'args' of {config['type']!r} is not an object")
    children = config.get("children", [])
    if not isinstance(children, list):
        raise ModelFormatError(f"{source}: the 'children' of {config['type']!r} is not a list")
    for child in children:
        check_architecture(child, source, depth + 1)
