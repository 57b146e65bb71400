"""Save and load whole models: weights plus architecture in one safetensors file, never pickle.

The weights are stored under the model's ``state_dict()`` names (PyTorch's names and layouts),
so ``safetensors.torch.load_file`` + ``load_state_dict`` moves them into the same
``torch.nn`` architecture. The architecture, the user's metadata and the versions go into the
header's ``__metadata__`` as JSON strings; loading rebuilds the model only from the layer
allow-list in :mod:`chainrule.nn.registry`, so a file can describe a model but never run code.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable

import numpy as np

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io import frozen, tied

FORMAT_VERSION = "1"
KEY_KIND = "chainrule.format"
KEY_FORMAT_VERSION = "chainrule.format_version"
KEY_VERSION = "chainrule.version"
KEY_NUMPY = "chainrule.numpy_version"
KEY_BLAS = "chainrule.blas"
KEY_ARCHITECTURE = "chainrule.architecture"
KEY_METADATA = "chainrule.metadata"
KEY_PARAMETERS = "chainrule.parameter_count"
MAX_CONFIG_DEPTH = 160  # JSON levels: two per nested container, the registry allows 64
MAX_INT_DIGITS = 1000  # integers in the JSON entries (the header's own are capped at 20)


def _blas() -> str:
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '?')}".strip()
    except Exception:  # the build info is informative only
        return "unknown"


def _plain_json(value, where: str):
    """``value`` as JSON types (NumPy scalars/arrays become numbers/lists); TypeError if not."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(
                f"metadata{where} is {float(value)}; JSON has no NaN/inf, store it as a string"
            )
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _plain_json(value.tolist(), where)
    if isinstance(value, list | tuple):
        return [_plain_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise TypeError(f"metadata{where} has key {key!r}; keys must be strings (JSON)")
            out[key] = _plain_json(v, f"{where}[{key!r}]")
        return out
    raise TypeError(
        f"metadata{where} is a {type(value).__name__}; use JSON types "
        "(dict, list, str, int, float, bool, None)"
    )


def header_metadata(model, metadata, kind: str, optimizer=None) -> dict[str, str]:
    """The ``__metadata__`` strings chainrule writes for ``model`` (architecture, versions,
    and ``optimizer``'s type, hyperparameters and state where one is given)."""
    import chainrule
    from chainrule.nn.registry import module_to_config

    clash = _metadata_clash(model)
    if clash:
        raise ValueError(
            f"cannot save: the model's {clash} is named 'metadata', the attribute cr.load uses "
            f"for the saved metadata dict; rename it (e.g. Sequential(OrderedDict(meta=...)))"
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    user = _plain_json(metadata or {}, "")
    config = module_to_config(model)
    entries = {
        KEY_ARCHITECTURE: json.dumps(config, separators=(",", ":"), allow_nan=False),
        KEY_METADATA: json.dumps(user, separators=(",", ":"), ensure_ascii=False),
    }
    for key, text in entries.items():
        check_savable(text, key)
    if optimizer is not None:
        from chainrule.io import optimizer_state

        # the state goes in where it fits beside the rest of the header (the 8 MiB limit)
        room = fmt.MAX_HEADER_BYTES // 2 - sum(map(len, entries.values()))
        room -= 256 * len(model.state_dict())  # each tensor's entry in the header
        budget = min(optimizer_state.MAX_ENTRY_BYTES, max(room, 0))
        text = optimizer_state.encode(optimizer, model, budget)
        check_savable(text, optimizer_state.KEY_OPTIMIZER, optimizer_state.MAX_DEPTH)
        entries[optimizer_state.KEY_OPTIMIZER] = text
    return {
        KEY_KIND: kind,
        KEY_FORMAT_VERSION: FORMAT_VERSION,
        KEY_VERSION: chainrule.__version__,
        KEY_NUMPY: np.__version__,
        KEY_BLAS: _blas(),
        KEY_PARAMETERS: str(sum(p.array.size for p in model.parameters())),
        **entries,
        **tied.entry(model),
        **frozen.entry(model),
    }


def _metadata_clash(model) -> str | None:
    """What of ``model`` is registered under the name ``metadata`` (``None``: nothing)."""
    for registry, what in (("_modules", "child module"), ("_parameters", "parameter"),
                           ("_buffers", "buffer")):  # fmt: skip
        if "metadata" in (getattr(model, registry, None) or {}):
            return what
    return None


def check_savable(text: str, key: str, max_depth: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse at save time what the loader would refuse (too deep, too large numbers)."""
    try:
        fmt.parse_json(text, source="<saving>", what=f"metadata {key!r}", max_depth=max_depth,
                       max_int_digits=MAX_INT_DIGITS)  # fmt: skip
    except ModelFormatError as exc:
        raise ValueError(
            f"cannot save: {exc}; a file written this way could not be loaded"
        ) from None


def save(model, path: str | os.PathLike, *, metadata: dict | None = None, optimizer=None) -> None:
    """Save ``model`` (weights, architecture, ``metadata``) to one safetensors file, atomically.

    Args:
        model: a module built from chainrule layers (see :mod:`chainrule.nn.registry`).
        path: the file to write, conventionally ``*.safetensors``; an existing file is
            replaced only once the new one is completely on disk.
        metadata: JSON-able dict kept with the model (labels, preprocessing, notes); it comes
            back unchanged as ``cr.load(path).metadata`` (tuples come back as lists).
        optimizer: the ``chainrule.optim`` optimizer that trains ``model``: its type,
            hyperparameters and state (step counts, momentum, Adam's moments) are kept in the
            header, so ``chainrule.io.load_optimizer`` can rebuild it and ``chainrule explain``
            shows its next step. The file's tensors stay the model's weights alone.

    Example:
        >>> import os, tempfile, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.save(model, path, metadata={"classes": ["no", "yes"]})
        >>> cr.load(path).metadata
        {'classes': ['no', 'yes']}
    """
    fmt.write(path, model.state_dict(), header_metadata(model, metadata, "model", optimizer))


def _parse_json(meta: dict, key: str, source: str, max_depth: int = MAX_CONFIG_DEPTH):
    if key not in meta:
        raise ModelFormatError(f"{source}: metadata entry {key!r} is missing")
    return fmt.parse_json(
        meta[key],
        source=source,
        what=f"metadata {key!r}",
        max_depth=max_depth,
        max_int_digits=MAX_INT_DIGITS,
    )


def check_header(meta: dict, source: str) -> str:
    """Validate chainrule's own metadata entries; returns the file kind."""
    kind = meta.get(KEY_KIND)
    if kind not in ("model", "checkpoint"):
        raise ModelFormatError(
            f"{source}: not a chainrule model file ({KEY_KIND} is {kind!r}); plain tensor "
            "files can be read with chainrule.io.read()"
        )
    version = meta.get(KEY_FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{source}: format version {version!r} is not supported by this chainrule "
            f"(reads version {FORMAT_VERSION}); upgrade chainrule to read it"
        )
    return kind


def build(meta: dict, source: str, stored_values: int, import_from: Iterable[str] = ()):
    """The module described by the file's architecture, built from the layer allow-list.

    ``stored_values`` (the number of values the file holds) caps the model's size, so a small
    hostile file cannot make the loader allocate a huge model before the weights are checked.
    ``import_from`` names the modules a class registered with ``@nn.register`` may be imported
    from.
    """
    from chainrule.nn.registry import module_from_config

    config = _parse_json(meta, KEY_ARCHITECTURE, source)
    try:
        model = module_from_config(config, max_parameters=stored_values, import_from=import_from)
    except ModelFormatError as exc:
        err = ModelFormatError(f"{source}: {exc}")
        err.__dict__.update(exc.__dict__)  # unknown_class: the command line's --import hint
        raise err from None
    except RecursionError:
        raise ModelFormatError(f"{source}: the architecture nests too deeply") from None
    except Exception as exc:  # bad arguments and the like: still the file's fault
        raise ModelFormatError(f"{source}: cannot build the architecture ({exc!r})") from None
    clash = _metadata_clash(model)
    if clash:
        raise ModelFormatError(
            f"{source}: the architecture has a {clash} named 'metadata', which clashes with "
            f"model.metadata; chainrule refuses to save such a model, so the file was not "
            f"written by it"
        )
    return model


def model_tensors(tensors: dict) -> dict:
    """The entries that belong to the model (checkpoint extras have a '/' in their name)."""
    return {name: array for name, array in tensors.items() if "/" not in name}


def fill(model, tensors: dict, source: str) -> None:
    """Load ``tensors`` into ``model`` strictly, keeping each array's dtype exactly."""
    try:
        model.load_state_dict(tensors, strict=True)
    except Exception as exc:
        raise ModelFormatError(f"{source}: weights do not fit the architecture ({exc})") from None
    named = dict(model.named_parameters())
    named.update(model.named_buffers())
    for name, array in tensors.items():
        target = named.get(name)
        if target is None or target.array.dtype == array.dtype:
            continue
        if array.dtype.kind == "f" and array.dtype.itemsize < np.asarray(target.array).itemsize:
            # float16 weights: load_state_dict has widened them to the architecture's float32,
            # exactly (every float16 value is a float32 value), so the model computes as usual.
            continue
        if target.array.dtype.kind != array.dtype.kind:
            raise ModelFormatError(
                f"{source}: tensor {name!r} is {array.dtype} in the file but the architecture "
                f"makes it {target.array.dtype}"
            )
        target.array = np.array(array, copy=True)  # keep the file's precision, bit for bit


def load(path: str | os.PathLike, *, import_from: Iterable[str] = ()):
    """Load a model saved by :func:`save` (or a checkpoint's model part).

    Nothing in the file is executed: the architecture is rebuilt from the layer allow-list
    and the classes registered with ``@nn.register``, the weights are plain numbers checked
    against a SHA-256 checksum. The model is returned in eval mode (call ``.train()`` to keep
    training); ``model.metadata`` is the saved dict.

    Args:
        path: the file.
        import_from: modules (or packages) that may be imported to find a registered class the
            file names, e.g. ``["mypkg.models"]``; by default nothing is imported, and a class
            must have been registered (its module imported) before ``load``.

    Raises:
        ModelFormatError: the file is missing, corrupted, not a chainrule model, or names a
            layer outside the allow-list. Nothing is loaded in that case.
    """
    source = os.fspath(path)
    seen = {}

    def check(entries: dict, meta: dict) -> None:  # before the tensor data is read
        seen["kind"] = check_header(meta, source)
        seen["user"] = user_metadata(meta, source)
        _parse_json(meta, KEY_ARCHITECTURE, source)

    tf = fmt.read(source, require_checksum=True, check=check)
    kind, user = seen["kind"], seen["user"]
    weights = model_tensors(tf.tensors) if kind == "checkpoint" else tf.tensors
    model = build(tf.metadata, source, sum(a.size for a in weights.values()), import_from)
    fill(model, weights, source)
    tied.retie(model, tf.metadata, source)
    frozen.refreeze(model, tf.metadata, source)
    model.eval()
    model.metadata = user
    return model


def user_metadata(meta: dict, source: str) -> dict:
    """The user's metadata dict from the header, checked to be a JSON object."""
    user = _parse_json(meta, KEY_METADATA, source)
    if not isinstance(user, dict):
        raise ModelFormatError(f"{source}: user metadata is not a JSON object")
    return user


def read_metadata(path: str | os.PathLike, *, import_from: Iterable[str] = ()) -> dict:
    """What a model file says about itself, without building the model.

    Returns:
        dict with ``architecture`` (the layer config), ``metadata`` (the user's dict),
        ``chainrule_version``, ``numpy_version``, ``blas``, ``format_version``, ``kind``
        (``"model"`` or ``"checkpoint"``), ``parameter_count`` and ``tensors``
        (name -> ``{"dtype", "shape"}``). The checksum is verified.
    """
    source = os.fspath(path)
    tf = fmt.read(source, require_checksum=True, check=lambda _, meta: check_header(meta, source))
    meta = tf.metadata
    kind = check_header(meta, source)
    text = meta.get(KEY_PARAMETERS, "")
    if not (isinstance(text, str) and text.isdigit() and len(text) <= 20):
        raise ModelFormatError(f"{source}: {KEY_PARAMETERS} is not a whole number")
    count = int(text)
    weights = model_tensors(tf.tensors)
    # validates the layers (import_from: as for load)
    model = build(meta, source, sum(a.size for a in weights.values()), import_from)
    fill(model, weights, source)
    return {
        "architecture": _parse_json(meta, KEY_ARCHITECTURE, source),
        "metadata": user_metadata(meta, source),
        "chainrule_version": meta.get(KEY_VERSION),
        "numpy_version": meta.get(KEY_NUMPY),
        "blas": meta.get(KEY_BLAS),
        "format_version": meta.get(KEY_FORMAT_VERSION),
        "kind": kind,
        "parameter_count": count,
        "tensors": {
            name: {"dtype": fmt.dtype_name(a.dtype), "shape": list(a.shape)}
            for name, a in model_tensors(tf.tensors).items()
        },
    }
