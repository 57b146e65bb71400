"""``export``'s example input: one array (the graph's one input), or PyTorch's tuple of the
model's arguments (``(src, tgt)``, ``(x, x, x, {"key_padding_mask": mask})``), each array of
which becomes a graph input named after the ``forward`` parameter it fills.

An array passed twice (self-attention's ``(x, x, x)``) is one graph input. Values that are not
arrays (``need_weights=False``, ``is_causal=True``, ``None``) are fixed at export time.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from chainrule.onnx.errors import ExportError
from chainrule.tensor import Tensor


@dataclass
class ExampleCall:
    """The model's call: positional and keyword arguments, arrays where the graph has inputs."""

    args: list
    kwargs: dict
    arrays: list = field(default_factory=list)  # the distinct arrays, one per graph input
    names: list = field(default_factory=list)  # their graph input names
    params: list = field(default_factory=list)  # the forward parameter each one fills
    several: bool = False  # given as a tuple of arguments (names default to the parameters)

    def with_arrays(self, arrays: list) -> tuple[list, dict]:
        """The arguments with each graph input's array replaced by ``arrays`` (same order)."""
        swap = {id(old): new for old, new in zip(self.arrays, arrays, strict=True)}

        def pick(value):
            return swap.get(id(value), value) if isinstance(value, np.ndarray) else value

        return [pick(a) for a in self.args], {k: pick(v) for k, v in self.kwargs.items()}


def is_argument_tuple(example_input) -> bool:
    """PyTorch's form: a tuple of the model's arguments (arrays, Tensors, None, a last dict)."""
    return isinstance(example_input, tuple) and any(
        isinstance(item, (np.ndarray, Tensor, dict)) for item in example_input
    )


def model_dtype(model):
    return next((p.array.dtype for p in model.parameters() if p.array.dtype.kind == "f"), None)


def example_array(model, example_input, allow_bool: bool = False) -> np.ndarray:
    array = example_input.array if isinstance(example_input, Tensor) else np.asarray(example_input)
    if array.dtype.kind == "f":
        return array.astype(model_dtype(model) or array.dtype, copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)  # ids (Embedding): ONNX's usual int64
    if array.dtype.kind == "b":
        if allow_bool:  # a mask beside the model's real input
            return array
        raise ExportError("example_input is boolean; give the model's real input (floats or ids)")
    raise ExportError(f"example_input must hold numbers, got dtype {array.dtype}")


def example_call(model, example_input, input_names) -> ExampleCall:
    """The call to export, its graph inputs and their names (``input_names`` or the defaults)."""
    if not is_argument_tuple(example_input):
        x = example_array(model, example_input)
        call = ExampleCall([x], {}, [x], ["input"], [_first_parameter(model)])
        return _named(call, input_names)
    items = list(example_input)
    kwargs = dict(items.pop()) if items and isinstance(items[-1], dict) else {}
    seen: dict[int, np.ndarray] = {}

    def convert(value):
        if isinstance(value, (np.ndarray, Tensor)):
            key = id(value)
            if key not in seen:
                seen[key] = example_array(model, value, allow_bool=bool(seen))
            return seen[key]
        return value

    call = ExampleCall(
        [convert(a) for a in items], {k: convert(v) for k, v in kwargs.items()}, several=True
    )
    if not seen:
        raise ExportError("example_input holds no array; give the model's input as an array")
    bound = _bind(model, call)
    for name, value in bound.items():
        if isinstance(value, np.ndarray) and all(value is not a for a in call.arrays):
            call.arrays.append(value)
            call.params.append(name)
    call.names = list(call.params)
    return _named(call, input_names)


def _first_parameter(model) -> str | None:
    try:
        return next(iter(inspect.signature(model.forward).parameters), None)
    except (TypeError, ValueError):
        return None


def _bind(model, call: ExampleCall) -> dict:
    """The forward's parameter for each argument (in the forward's order)."""
    try:
        signature = inspect.signature(model.forward)
        bound = signature.bind(*call.args, **call.kwargs)
    except (TypeError, ValueError) as err:
        raise ExportError(
            f"example_input does not fit {type(model).__name__}.forward: {err}; give a tuple of "
            f"its arguments, optionally ending with a dict of keyword arguments"
        ) from None
    return dict(bound.arguments)


def _named(call: ExampleCall, input_names) -> ExampleCall:
    if input_names is None:
        return call
    names = [input_names] if isinstance(input_names, str) else list(input_names)
    if len(names) != len(call.arrays) or not all(isinstance(n, str) and n for n in names):
        what = ", ".join(repr(p) for p in call.params) if call.several else "the input"
        raise ExportError(
            f"input_names must be {len(call.arrays)} name(s), one non-empty name per graph "
            f"input ({what}), got {input_names!r}"
        )
    if len(set(names)) != len(names):
        raise ExportError(f"input_names must differ from each other, got {names!r}")
    call.names = names
    return call
