"""Plain data with arrays in it (an optimizer's ``state_dict()``, a loop's state) as JSON: each
array is handed to the caller under a name (``optimizer/0``) and replaced by a reference to it,
and values JSON has no form for are wrapped in one-key objects (``{"__tuple__": [...]}``,
``{"__float__": "inf"}``, ``{"__items__": [[key, value], ...]}`` for non-string keys). Used by
checkpoints (arrays as tensors) and by the optimizer entry of model files (arrays inline)."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import ModelFormatError

_MARKERS = {"__tensor__", "__scalar__", "__float__", "__tuple__", "__items__"}


class _Encoder:
    def __init__(self, section: str, tensors: dict):
        self.section = section
        self.tensors = tensors
        self.count = 0

    def _store(self, array: np.ndarray) -> str:
        name = f"{self.section}/{self.count}"
        self.count += 1
        self.tensors[name] = array
        return name

    def encode(self, value, where: str):
        from chainrule.tensor import Tensor

        if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
            return {"__scalar__": self._store(np.asarray(value))}
        if isinstance(value, np.ndarray | Tensor):
            return {"__tensor__": self._store(np.asarray(getattr(value, "array", value)))}
        if value is None or isinstance(value, bool | str | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            plain = all(isinstance(k, str) for k in value) and not (
                len(value) == 1 and next(iter(value)) in _MARKERS
            )
            if plain:
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {
                "__items__": [
                    [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        raise TypeError(
            f"checkpoint {where} is a {type(value).__name__}; a checkpoint holds arrays, "
            "numbers, strings, None, and lists/tuples/dicts of them"
        )


def _decode(value, tensors: dict, source: str):
    if isinstance(value, list):
        return [_decode(v, tensors, source) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key in ("__tensor__", "__scalar__"):
            if not isinstance(inner, str) or inner not in tensors:
                raise ModelFormatError(f"{source}: checkpoint refers to missing tensor {inner!r}")
            array = np.array(tensors[inner], copy=True)
            return array if key == "__tensor__" else array[()]
        if key == "__float__":
            if inner not in ("inf", "-inf", "nan"):
                raise ModelFormatError(f"{source}: bad special float {inner!r} in checkpoint")
            return float(inner)
        if key == "__tuple__" and isinstance(inner, list):
            return tuple(_decode(v, tensors, source) for v in inner)
        if key == "__items__" and isinstance(inner, list):
            out = {}
            for pair in inner:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ModelFormatError(f"{source}: malformed dict entry in checkpoint")
                k = _decode(pair[0], tensors, source)
                if isinstance(k, list | dict | np.ndarray):
                    raise ModelFormatError(f"{source}: unhashable dict key in checkpoint")
                out[k] = _decode(pair[1], tensors, source)
            return out
    return {k: _decode(v, tensors, source) for k, v in value.items()}
