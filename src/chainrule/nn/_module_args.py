"""Argument parsing for Module methods: ``to()``'s PyTorch forms and state_dict entries."""

from __future__ import annotations

import numpy as np

from chainrule._device import DtypeName
from chainrule.errors import DTypeError
from chainrule.tensor import Tensor


def state_array(value, key: str) -> np.ndarray:
    """A state_dict entry as an array: our tensors, NumPy arrays, or anything array-like."""
    if isinstance(value, Tensor):
        return value.array
    if not isinstance(value, np.ndarray) and hasattr(value, "detach"):
        value = value.detach().cpu()  # e.g. a torch tensor that requires grad
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()  # NumPy has no bfloat16; widening to float32 is exact
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise DTypeError(
            f"load_state_dict: {key} is not an array ({type(value).__name__})"
        ) from err
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"load_state_dict: {key} has dtype {array.dtype}; expected numbers")
    return array


def key_hint(own, state_dict) -> str:
    """What to do when no key matches: a wrapper's prefix to strip, or a nested state dict."""
    names = [name for name in state_dict if isinstance(name, str)]
    for prefix in ("module.", "_orig_mod.", "model."):
        if names and all(n.startswith(prefix) for n in names):
            if any(n[len(prefix) :] in own for n in names):
                return (
                    f" Every key starts with {prefix!r} (the model was saved inside a "
                    f"wrapper: DataParallel, torch.compile, a LightningModule): strip it, "
                    f"{{k.removeprefix({prefix!r}): v for k, v in state.items()}}"
                )
    for key, value in state_dict.items():
        if hasattr(value, "keys") and any(name in own for name in value.keys()):
            return f" The weights are nested under {key!r} (a checkpoint): pass state[{key!r}]"
    return ""


_TO_KEYWORDS = ("device", "dtype", "non_blocking", "memory_format", "copy")


def _is_dtype(value) -> bool:
    """Whether a positional argument of ``Module.to`` is a dtype (else it is a device): PyTorch
    reads a string as a device, so ``"float64"`` is one (an invalid one); ``cr.float64`` is not."""
    if isinstance(value, str) and not isinstance(value, DtypeName):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def parse_to(args: tuple, kwargs: dict) -> tuple:
    """``(device, dtype)`` from ``Module.to``'s arguments, in PyTorch's forms."""
    for key in kwargs:
        if key not in _TO_KEYWORDS:
            raise TypeError(f"to() got an unexpected keyword argument {key!r}")
    device_, dtype = kwargs.get("device"), kwargs.get("dtype")
    if args:
        first, rest = args[0], args[1:]
        if isinstance(first, Tensor):  # to(tensor, non_blocking=False)
            device_, dtype, extra = "cpu", first.dtype, rest
        elif _is_dtype(first):  # to(dtype, non_blocking=False)
            dtype, extra = first, rest
        else:  # to(device, dtype=None, non_blocking=False)
            device_, extra = first, rest
            if extra and (extra[0] is None or _is_dtype(extra[0])):
                dtype, extra = extra[0], extra[1:]
        if len(extra) > 1 or (extra and not isinstance(extra[0], bool)):
            raise TypeError(
                f"to() got unexpected arguments {args!r}; expected to(device, dtype), to(dtype) "
                f"or to(tensor), with non_blocking= optional"
            )
    return device_, dtype
