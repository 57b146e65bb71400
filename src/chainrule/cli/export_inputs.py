"""``chainrule export``'s example input: zeros of the ``--input-shape`` samples (one per input of
the model's forward, the batch axis added where the model reads it), or found from the first
layer; a model it cannot size is an error that shows the flags for that layer."""

from __future__ import annotations

import inspect

import numpy as np

from chainrule.cli.errors import CLIError


def example_input(model, path: str, shapes: list[str] | None):
    """One zero sample per model input (an array, or a tuple for several inputs)."""
    from chainrule import nn

    names = _required_inputs(model)
    if shapes:
        if len(shapes) < len(names):
            raise CLIError(
                f"{path}: {type(model).__name__} takes {len(names)} inputs ({', '.join(names)}); "
                f"give one --input-shape for each, in that order ({_hint(model)})"
            )
        arrays = tuple(_zeros(model, shape) for shape in shapes)
        return arrays[0] if len(arrays) == 1 else arrays
    first = next((m for m in model.modules() if not isinstance(m, nn.Sequential)), None)
    if isinstance(first, nn.Linear):
        return np.zeros((1, first.in_features), first.weight.array.dtype)
    if isinstance(first, nn.Embedding):
        return np.zeros((1, 1), np.int64)
    raise CLIError(
        f"{path}: cannot tell the input shape of a model starting with "
        f"{type(first).__name__}; give the shape of one sample (of each input), e.g. "
        f"{_hint(first)}"
    )


def _zeros(model, text: str) -> np.ndarray:
    try:
        dims = tuple(int(d) for d in text.replace(" ", "").split(",") if d)
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise CLIError(f"--input-shape must be positive integers like 1,28,28, got {text!r}")
    from chainrule.onnx.export import batch_axis

    dtype = next((p.array.dtype for p in model.parameters()), np.dtype(np.float32))
    axis = batch_axis(model, len(dims) + 1) or 0  # a sequence-first Transformer: axis 1
    if len(dims) == 2 and sequence_first_recurrent(model):
        axis = 1  # (sequence, features): the batch goes between, as the layer reads it
    return np.zeros((*dims[:axis], 1, *dims[axis:]), dtype)


def sequence_first_recurrent(model) -> bool:
    """Whether ``model`` reads its input with an RNN/LSTM/GRU of ``batch_first=False`` first."""
    from chainrule import nn

    layer = model
    while isinstance(layer, nn.Sequential):
        layer = next(iter(layer.children()), None)
    return isinstance(layer, nn.RNNBase) and not layer.batch_first


def _required_inputs(model) -> list[str]:
    """The forward's parameters without a default: the inputs the model needs."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds and p.default is p.empty]


def _hint(layer) -> str:
    """The --input-shape flags of one sample for a model starting with ``layer``."""
    from chainrule import nn

    if isinstance(layer, nn.RNNBase):
        sizes = [f"20,{layer.input_size}"]  # (sequence length, features)
    elif isinstance(layer, nn.Bilinear):
        sizes = [str(layer.in1_features), str(layer.in2_features)]
    elif getattr(layer, "in_channels", None) is not None:
        sizes = [",".join([str(layer.in_channels), *["16"] * len(layer.kernel_size)])]
    else:
        attention = next((m for m in layer.modules() if isinstance(m, nn.MultiheadAttention)), None)
        width = "28,28" if attention is None else f"10,{attention.embed_dim}"
        sizes = [width] * max(1, len(_required_inputs(layer)))
    return " ".join(f"--input-shape {size}" for size in sizes)
