"""Training checkpoints: a model file plus optimizer, scheduler and loop state, written atomically.

A checkpoint is a chainrule model file (``cr.load`` reads its model part, PyTorch its weights)
with extra entries: every array found in the optimizer's, the scheduler's and the loop's state
is stored as a tensor named ``optimizer/0``, ``scheduler/3``, ``state/1``... (the ``/`` keeps
them apart from parameter names), and the rest of each state is JSON in the
``chainrule.checkpoint`` metadata entry, with the arrays replaced by references. Resuming gives
back the same values and types: arrays keep dtype and bits, NumPy scalars stay NumPy scalars,
tuples stay tuples, integer dict keys stay integers, and ``inf``/``nan`` survive.
"""

from __future__ import annotations

import copy
import json
import os

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io import model as model_io
from chainrule.io.state_json import _decode, _Encoder
from chainrule.optim.optimizer import SavedByAnotherOptimizer

KEY_CHECKPOINT = "chainrule.checkpoint"
_SECTIONS = ("optimizer", "scheduler", "state")
MAX_STATE_DEPTH = 160  # JSON levels, counting the wrappers for tuples and dicts


def save_checkpoint(
    path: str | os.PathLike, model, optimizer=None, scheduler=None, state: dict | None = None
) -> None:
    """Write model weights, optimizer/scheduler ``state_dict()`` and ``state`` atomically.

    Args:
        path: the checkpoint file; the previous one stays intact until the new one is on disk.
        model: the module being trained.
        optimizer, scheduler: anything with ``state_dict()`` (chainrule's optimizers and
            schedulers); may be ``None``.
        state: the loop's own state (epoch, batch, generator state, history...): arrays,
            numbers, strings, None, lists, tuples and dicts.
    """
    tensors = dict(model.state_dict())
    parts = {}
    for section, value in zip(_SECTIONS, (optimizer, scheduler, state)):
        if section != "state" and value is not None:
            value = value.state_dict()
        parts[section] = (
            None if value is None else _Encoder(section, tensors).encode(value, section)
        )
    meta = model_io.header_metadata(model, getattr(model, "metadata", None), "checkpoint")
    meta[KEY_CHECKPOINT] = json.dumps(parts, separators=(",", ":"), allow_nan=False)
    model_io.check_savable(meta[KEY_CHECKPOINT], KEY_CHECKPOINT, MAX_STATE_DEPTH)
    fmt.write(path, tensors, meta)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict]:
    """``(model_state, parts)`` of a checkpoint without applying it; parts has the sections."""
    source = os.fspath(path)

    def check(entries: dict, meta: dict) -> None:  # before the tensor data is read
        kind = model_io.check_header(meta, source)
        if kind != "checkpoint" or KEY_CHECKPOINT not in meta:
            raise ModelFormatError(f"{source}: a model file, not a checkpoint (no training state)")

    tf = fmt.read(source, require_checksum=True, check=check)
    raw = fmt.parse_json(
        tf.metadata[KEY_CHECKPOINT],
        source=source,
        what="checkpoint state",
        max_depth=MAX_STATE_DEPTH,
        max_int_digits=model_io.MAX_INT_DIGITS,  # generator states hold 128-bit integers
    )
    if not isinstance(raw, dict) or set(raw) != set(_SECTIONS):
        raise ModelFormatError(f"{source}: checkpoint state must have sections {_SECTIONS}")
    try:
        parts = {k: None if v is None else _decode(v, tf.tensors, source) for k, v in raw.items()}
    except RecursionError:
        raise ModelFormatError(f"{source}: checkpoint state nests too deeply") from None
    except ModelFormatError:
        raise
    except Exception as exc:  # e.g. a dict key that cannot be one: still one documented error
        raise ModelFormatError(f"{source}: malformed checkpoint state ({exc!r})") from None
    return model_io.model_tensors(tf.tensors), parts


def load_checkpoint(path: str | os.PathLike, model, optimizer=None, scheduler=None) -> dict:
    """Restore a checkpoint into ``model`` (and ``optimizer``/``scheduler``); returns ``state``.

    All or nothing: if any part does not fit, the model's weights are put back as they were
    and :class:`~chainrule.errors.ModelFormatError` names the file and the part.
    """
    source = os.fspath(path)
    weights, parts = read_checkpoint(source)
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None and parts[name] is None:
            raise ModelFormatError(f"{source}: the checkpoint holds no {name} state")
    before = copy.deepcopy(model.state_dict())  # a snapshot: entries are live views
    try:
        model_io.fill(model, weights, source)
        for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
            if obj is not None:
                try:
                    obj.load_state_dict(parts[name])
                except (KeyError, SavedByAnotherOptimizer) as exc:  # a bare key says nothing
                    key = repr(exc.key) if isinstance(exc, SavedByAnotherOptimizer) else exc
                    raise ModelFormatError(
                        f"{source}: {name} state does not fit {type(obj).__name__}: the saved "
                        f"state has no {key} entry, so it comes from another {name} type; "
                        f"create the {name} the checkpoint was saved with"
                    ) from None
                except Exception as exc:
                    raise ModelFormatError(
                        f"{source}: {name} state does not fit {type(obj).__name__} ({exc})"
                    ) from None
    except BaseException:
        model.load_state_dict(before, strict=True)
        raise
    state = parts["state"]
    return {} if state is None else state
