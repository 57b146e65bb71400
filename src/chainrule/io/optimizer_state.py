"""The training optimizer inside a model file: its type, hyperparameters and state.

``cr.save(model, path, optimizer=opt)`` adds one metadata entry, ``chainrule.optimizer``: JSON
with the optimizer's class (one of ``chainrule.optim``'s), each group's parameters by their
``state_dict()`` names and hyperparameters, and its state (step counts, momentum buffers,
Adam's moments) with every array written inline as base64 of its little-endian bytes. The
file's tensors stay exactly the model's weights, so PyTorch's ``load_file`` +
``load_state_dict`` and older chainrule versions read the file as before; a file without the
entry (every file saved before it existed) simply has no optimizer.

The state goes in only where it fits the header (a model file's header is at most 8 MiB): a
larger state is left out, the hyperparameters kept, and the entry says how many values were
left out. :func:`load_optimizer` rebuilds the optimizer from the allow-list below; nothing in
the entry is ever run.
"""

from __future__ import annotations

import base64
import inspect
import json
import os

import numpy as np

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io.state_json import _decode, _Encoder
from chainrule.optim.optimizer import parameter_names_by_group

KEY_OPTIMIZER = "chainrule.optimizer"
MAX_ENTRY_BYTES = 4 * 1024 * 1024  # half the header limit: weights' names and metadata keep room
MAX_DEPTH = 32


def _classes() -> dict:
    """The optimizers a file may name: chainrule.optim's own, by class name."""
    from chainrule import optim

    return {cls.__name__: cls for cls in (
        optim.SGD, optim.Adam, optim.AdamW, optim.NAdam, optim.RAdam, optim.Adamax,
        optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Adafactor, optim.Rprop, optim.ASGD,
        optim.LBFGS,
    )}  # fmt: skip


def _inline(arrays: dict) -> dict:
    """``name -> {"dtype", "shape", "data"}``: each array's little-endian bytes in base64."""
    out = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        dtype = fmt.dtype_name(array.dtype)
        data = np.ascontiguousarray(array, dtype=fmt.DTYPES[dtype]).tobytes()
        out[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data": base64.b64encode(data).decode("ascii"),
        }
    return out


def encode(optimizer, model, budget: int = MAX_ENTRY_BYTES) -> str:
    """The ``chainrule.optimizer`` entry for ``optimizer`` over ``model``'s parameters.

    Raises:
        TypeError: ``optimizer`` is not one of chainrule.optim's optimizers.
        ValueError: it updates a tensor that is not a parameter of ``model``.
    """
    name = type(optimizer).__name__
    if _classes().get(name) is not type(optimizer):
        raise TypeError(
            f"cr.save(optimizer=...) takes one of chainrule.optim's optimizers "
            f"({', '.join(_classes())}), got {name}"
        )
    groups = parameter_names_by_group(optimizer, model, "cr.save(optimizer=...)", "saved")
    saved = optimizer.state_dict()
    hyper_arrays: dict = {}
    hyper = [{k: v for k, v in g.items() if k != "params"} for g in saved["param_groups"]]
    entry = {
        "type": name,
        "params": groups,
        "param_groups": _Encoder("group", hyper_arrays).encode(hyper, "param_groups"),
        "state": None,
        "arrays": _inline(hyper_arrays),
    }
    state_arrays: dict = {}
    state = _Encoder("state", state_arrays).encode(saved["state"], "state")
    full = {**entry, "state": state, "arrays": {**entry["arrays"], **_inline(state_arrays)}}
    text = json.dumps(full, separators=(",", ":"), allow_nan=False)
    if len(text) <= budget:
        return text
    values = sum(np.asarray(a).size for a in state_arrays.values())
    entry["state_left_out"] = values  # too large for the header: hyperparameters only
    return json.dumps(entry, separators=(",", ":"), allow_nan=False)


def read_entry(path: str | os.PathLike) -> dict | None:
    """The file's optimizer entry, parsed (None where the file has none). The checksum is
    verified first."""
    source = os.fspath(path)
    tf = fmt.read(source, require_checksum=True)
    text = tf.metadata.get(KEY_OPTIMIZER)
    if text is None:
        return None
    entry = fmt.parse_json(
        text, source=source, what=f"metadata {KEY_OPTIMIZER!r}", max_depth=MAX_DEPTH
    )
    keys = {"type", "params", "param_groups", "state", "arrays"}
    if not isinstance(entry, dict) or not keys <= entry.keys():
        raise ModelFormatError(f"{source}: {KEY_OPTIMIZER} must hold {', '.join(sorted(keys))}")
    return entry


def _arrays(raw, source: str) -> dict:
    """The inline arrays, each checked: an allowed dtype, a shape, exactly its bytes."""
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{source}: the optimizer's arrays must be a JSON object")
    out = {}
    for name, item in raw.items():
        ok = isinstance(item, dict) and set(item) == {"dtype", "shape", "data"}
        shape = item.get("shape") if ok else None
        ok = ok and item["dtype"] in fmt.DTYPES and isinstance(item["data"], str)
        ok = ok and isinstance(shape, list) and len(shape) <= fmt.MAX_NDIM
        ok = ok and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        if not ok:
            raise ModelFormatError(f"{source}: optimizer array {name!r} is malformed")
        dtype = fmt.DTYPES[item["dtype"]]
        try:
            data = base64.b64decode(item["data"], validate=True)
        except ValueError:
            raise ModelFormatError(f"{source}: optimizer array {name!r} is not base64") from None
        if len(data) != int(np.prod(shape, dtype=object)) * dtype.itemsize:
            raise ModelFormatError(
                f"{source}: optimizer array {name!r} holds {len(data)} bytes, not the "
                f"{item['dtype']} {shape} it declares"
            )
        out[name] = np.frombuffer(data, dtype=dtype).reshape(shape)
    return out


def build(entry: dict, model, source: str):
    """The optimizer ``entry`` describes, over ``model``'s parameters, with its saved
    hyperparameters and state (none where the entry left it out)."""
    cls = _classes().get(entry["type"]) if isinstance(entry["type"], str) else None
    if cls is None:
        raise ModelFormatError(
            f"{source}: the saved optimizer {entry['type']!r} is not one of chainrule.optim's "
            f"({', '.join(_classes())})"
        )
    named = dict(model.named_parameters())
    groups, seen = entry["params"], set()
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise ModelFormatError(f"{source}: the optimizer's params must be lists of names")
    for name in (n for g in groups for n in g):
        if not isinstance(name, str) or name not in named or name in seen:
            raise ModelFormatError(
                f"{source}: the saved optimizer updates {name!r}, which is not a parameter of "
                f"the model in the file (or is named twice)"
            )
        seen.add(name)
    tensors = _arrays(entry["arrays"], source)
    try:
        hyper = _decode(entry["param_groups"], tensors, source)
        state = {} if entry["state"] is None else _decode(entry["state"], tensors, source)
        if not isinstance(hyper, list) or len(hyper) != len(groups):
            raise ValueError("one set of hyperparameters per parameter group is needed")
        # the first group's settings as the constructor's, so ``defaults`` (what a group added
        # later gets) are the saved run's, not the class's (lr 0.001 for an Adam at 0.01)
        accepted = inspect.signature(cls.__init__).parameters
        settings = {k: v for k, v in hyper[0].items() if k in accepted and k != "params"}
        if "initial_lr" in hyper[0] and "lr" in settings:  # a scheduler's start: torch's lr
            settings["lr"] = hyper[0]["initial_lr"]
        optimizer = cls([{"params": [named[n] for n in g]} for g in groups], **settings)
        index = iter(range(len(seen)))
        saved_groups = [{**h, "params": [next(index) for _ in g]} for h, g in zip(hyper, groups)]
        optimizer.load_state_dict({"state": state, "param_groups": saved_groups})
    except ModelFormatError:
        raise
    except Exception as exc:  # a state that does not fit: still the file's fault
        raise ModelFormatError(
            f"{source}: the saved optimizer state does not fit ({exc})"
        ) from None
    return optimizer


def load_optimizer(path: str | os.PathLike, model):
    """The optimizer a model file keeps (``cr.save(..., optimizer=opt)``, ``chainrule train``),
    rebuilt over ``model``'s parameters with its hyperparameters and state; None where the
    file keeps none (every file saved before this entry existed).

    Where the state was too large for the file, the optimizer comes back with its
    hyperparameters and no state, as if it had taken no step yet.

    Example:
        >>> import os, tempfile, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 1))
        >>> opt = cr.optim.Adam(model.parameters(), lr=0.01)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.save(model, path, optimizer=opt)
        >>> model = cr.load(path)
        >>> cr.io.load_optimizer(path, model).param_groups[0]["lr"]
        0.01
    """
    source = os.fspath(path)
    entry = read_entry(source)
    return None if entry is None else build(entry, model, source)
