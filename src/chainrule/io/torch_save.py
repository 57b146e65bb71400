"""``torch.save`` / ``torch.load`` for what people save: state dicts and dicts of them with
numbers, in one safetensors file plus a JSON description. Never pickle; loading runs no code.

File layout: an ordinary safetensors file (see :mod:`chainrule.io.format`) whose tensors are
the arrays found in the object, named by their path (``model/0.weight``), and whose metadata
key ``chainrule.torch_save`` holds the object's structure as JSON: dicts (with their key
types), lists, tuples, numbers, strings, ``None``, and references to the stored arrays.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.tensor import Tensor

STRUCTURE_KEY = "chainrule.torch_save"
FORMAT_VERSION = 1
MAX_DEPTH = 32  # nesting allowed in a saved object (a checkpoint needs about 6)
# Python's own limit on parsing an int from text: saved ints are the user's values, not sizes,
# and a generator state or a 128-bit seed (np.random.SeedSequence().entropy) has 39 digits
MAX_INT_DIGITS = 4300


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, obj, path: str, depth: int):
        if depth > MAX_DEPTH:
            raise ValueError(f"save: the object nests deeper than {MAX_DEPTH} levels at {path}")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, (Tensor, np.ndarray)):
            key = path or "value"
            while key in self.arrays:
                key += "_"
            # np.asarray, not np.ascontiguousarray: that makes a 0-d tensor (a BatchNorm's
            # num_batches_tracked, a saved loss) 1-d, and load_state_dict then refuses it
            self.arrays[key] = np.asarray(obj, order="C")
            return {"__tensor__" if isinstance(obj, Tensor) else "__ndarray__": key}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(
                        f"save: dict keys must be str or int, got {type(k).__name__} at {path}"
                    )
                items.append([k, self.encode(v, f"{path}/{k}" if path else str(k), depth + 1)])
            kind = "__odict__" if isinstance(obj, OrderedDict) else "__dict__"
            return {kind: items}
        if isinstance(obj, (list, tuple)):
            values = [self.encode(v, f"{path}/{i}", depth + 1) for i, v in enumerate(obj)]
            return {"__tuple__": values} if isinstance(obj, tuple) else values
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = "; save its state_dict() instead (or cr.save(model, path) for a whole model)"
        raise TypeError(
            f"save: cannot store a {type(obj).__name__} at {path or 'the top level'} without "
            f"pickle{hint}. Storable: tensors, arrays, numbers, str, None, dict, list, tuple"
        )


def _decode(node, arrays: dict, source: str):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, source) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        ((kind, value),) = node.items()
        if kind in ("__tensor__", "__ndarray__"):
            if value not in arrays:
                raise ModelFormatError(f"{source}: refers to a missing tensor {value!r}")
            array = arrays[value]
            return Tensor._make(array, False) if kind == "__tensor__" else array
        if kind == "__float__" and value in ("nan", "inf", "-inf"):
            return float(value)
        if kind == "__tuple__" and isinstance(value, list):
            return tuple(_decode(v, arrays, source) for v in value)
        if kind in ("__dict__", "__odict__") and isinstance(value, list):
            out = OrderedDict() if kind == "__odict__" else {}
            for pair in value:
                if not (
                    isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                ):
                    raise ModelFormatError(f"{source}: malformed dict entry in the structure")
                out[pair[0]] = _decode(pair[1], arrays, source)
            return out
    raise ModelFormatError(f"{source}: unknown entry in the saved structure: {str(node)[:80]}")


def save(obj, f, *, metadata: dict | None = None, optimizer=None, **_ignored) -> None:
    """Save a state dict, or a dict/list of them with numbers, as ``torch.save`` does.

    ``obj`` may nest dicts (str or int keys), lists and tuples of tensors, NumPy arrays,
    numbers, strings and ``None``: ``{"model": model.state_dict(), "optimizer":
    opt.state_dict(), "epoch": 3}``. A chainrule :class:`~chainrule.nn.Module` is saved whole
    (architecture and weights) by :func:`chainrule.io.model.save`, as ``cr.save`` always did,
    with the optimizer that trains it where ``optimizer=`` is given.

    Args:
        obj: what to save.
        f: a path (written atomically) or a binary file object.

    Raises:
        TypeError: something in ``obj`` could only be stored with pickle (a class instance);
            the message names where it is.

    Example:
        >>> import os, tempfile, chainrule as cr
        >>> model = cr.nn.Linear(2, 1)
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
        >>> cr.save({"model": model.state_dict(), "epoch": 3}, path)
        >>> sorted(cr.load(path)), cr.load(path)["epoch"]
        (['epoch', 'model'], 3)
    """
    from chainrule.nn.module import Module

    if isinstance(obj, Module):
        from chainrule.io import model as model_io

        return model_io.save(obj, f, metadata=metadata, optimizer=optimizer)
    if optimizer is not None:
        raise TypeError(
            "cr.save(optimizer=...) goes with a whole model (cr.save(model, path, "
            "optimizer=opt)); with a dict, put opt.state_dict() in it instead"
        )
    encoder = _Encoder()
    structure = encoder.encode(obj, "", 0)
    meta = {STRUCTURE_KEY: json.dumps({"version": FORMAT_VERSION, "object": structure})}
    if hasattr(f, "write"):
        f.write(fmt.dumps(encoder.arrays, meta))
    else:
        fmt.write(f, encoder.arrays, meta)
    return None


def load(f, map_location=None, weights_only=None, *, import_from=(), **_ignored):
    """Load what :func:`save` wrote (``torch.load``'s signature; no code runs, ever).

    ``map_location`` may be ``None`` or the CPU; ``weights_only`` is accepted (loading is
    always weights-only here). A whole-model file written by ``cr.save(model, path)`` comes
    back as the model, as ``cr.load`` always did; ``import_from`` names the modules that may
    be imported to find its classes registered with ``@nn.register`` (see
    :func:`chainrule.io.model.load`).

    Raises:
        ModelFormatError: the file is missing, damaged, or is not a chainrule file (a file
            written by PyTorch's own ``torch.save`` is a pickle, which chainrule never reads:
            export tensors with ``safetensors.torch.save_file`` instead).
        NotImplementedError: ``map_location`` names a GPU.
    """
    from chainrule.nn.module import Module
    from chainrule.torch_compat import check_device

    if isinstance(map_location, Module):  # a model is callable: it would pass as a location
        raise TypeError(
            f"cr.load(f, map_location) got a model ({type(map_location).__name__}) as its "
            f"second argument; cr.load returns what was saved (the whole model, for a file "
            f"from cr.save(model, path)). To copy saved weights into your model: "
            f"model.load_state_dict(cr.load(path).state_dict()) for a model file, "
            f"model.load_state_dict(cr.load(path)) for a saved state_dict, or "
            f"cr.io.load_checkpoint(path, model) for a checkpoint"
        )
    if (
        map_location is not None
        and not callable(map_location)
        and not isinstance(map_location, dict)
    ):
        check_device(map_location)
    if hasattr(f, "read"):
        source = str(getattr(f, "name", "<file object>"))
        data = f.read()
        try:
            tf = fmt.loads(data, source=source)
        except ModelFormatError as err:
            if _looks_pickled(bytes(data[:9])):
                raise ModelFormatError(_pickle_message(source)) from err
            raise
    else:
        source = os.fspath(f)

        def check(entries: dict, meta: dict) -> None:  # from the header, before the data
            if STRUCTURE_KEY not in meta:
                raise _NotSaveFile(source)

        try:
            tf = fmt.read(source, check=check)
        except _NotSaveFile:
            from chainrule.io import model as model_io

            # a model file (or one it refuses, with its reason)
            return model_io.load(source, import_from=import_from)
        except ModelFormatError as err:
            if _looks_pickled(_head(source)):
                raise ModelFormatError(_pickle_message(source)) from err
            raise
    if STRUCTURE_KEY not in tf.metadata:
        from chainrule.io import model as model_io

        if hasattr(f, "read"):
            raise ModelFormatError(f"{source}: not a file written by chainrule.save(obj, f)")
        return model_io.load(source, import_from=import_from)
    parsed = fmt.parse_json(
        tf.metadata[STRUCTURE_KEY],
        source=source,
        what="saved structure",
        max_depth=2 * MAX_DEPTH,
        max_int_digits=MAX_INT_DIGITS,
    )
    if not isinstance(parsed, dict) or parsed.get("version") != FORMAT_VERSION:
        raise ModelFormatError(f"{source}: unknown saved-structure version")
    return _decode(parsed.get("object"), tf.tensors, source)


class _NotSaveFile(ModelFormatError):
    """Raised from the header check: the file holds no saved structure (a model file, say)."""


def _pickle_message(source: str) -> str:
    return (
        f"{source}: this is a pickle file (PyTorch's torch.save format); chainrule never "
        f"unpickles, since that can run code. In PyTorch, save the tensors with "
        f"safetensors.torch.save_file(state_dict, path); build the same model in chainrule "
        f"and load them with model.load_state_dict(chainrule.io.read(path).tensors)"
    )


def _head(source: str) -> bytes:
    """The first nine bytes of a regular file (a FIFO or device is never opened: it may
    block)."""
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            return b""
        with open(source, "rb") as handle:
            return handle.read(9)
    except OSError:
        return b""


def _looks_pickled(head: bytes) -> bool:
    """PyTorch's zip archive, or a raw pickle (protocol 2 to 5), from a file's first bytes.

    A safetensors file starts with its header's length (8 bytes, little-endian) and then the
    header's ``{``: lengths such as 0x380 begin with the bytes of a pickle's ``0x80 0x03`` (or
    a zip's ``PK``), so a damaged chainrule file with that ``{`` in place is not a pickle."""
    if len(head) >= 9 and head[8:9] == b"{":
        return False
    return head[:2] == b"PK" or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


__all__ = ["load", "save"]
