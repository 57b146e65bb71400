"""Small values as bytes for the object collectives: JSON, with arrays as base64, so that
nothing a rank receives runs code when it is read back (unlike pickle)."""

from __future__ import annotations

import base64
import json

import numpy as np

__all__ = ["from_bytes", "to_bytes"]


def _encode(value):
    if isinstance(value, np.ndarray):
        array = np.asarray(value, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        return {
            "__array__": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"chainrule.distributed sends numbers, strings, arrays and lists/tuples/dicts of them, "
        f"not {type(value).__name__}"
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            raw = base64.b64decode(value["data"])
            return (
                np.frombuffer(raw, dtype=np.dtype(value["__array__"]))
                .reshape(value["shape"])
                .copy()
            )
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {_decode(k): _decode(v) for k, v in value["__dict__"]}
    return value


def to_bytes(value) -> np.ndarray:
    text = json.dumps(_encode(value), separators=(",", ":"))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def from_bytes(data: np.ndarray):
    return _decode(json.loads(data.tobytes().decode("utf-8")))
