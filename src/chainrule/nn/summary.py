"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerRow:
    """One line of the table: a layer's dotted name, type, output shape and parameters."""

    name: str
    type: str
    depth: int
    # None: not known (no input given); a None dim: the batch. A layer returning a tuple (an
    # RNN's (output, h_n), an LSTM's (output, (h_n, c_n))) has a list of shapes, nested alike
    output_shape: tuple | list | None
    params: int
    trainable: int


@dataclass
class ModelSummary:
    """What :func:`summary` computed; ``str()`` gives the table.

    Attributes:
        rows: one :class:`LayerRow` per layer, in the order of ``named_modules()``.
        total_params, trainable_params, non_trainable_params: counts (shared parameters once).
        total_bytes, trainable_bytes: their memory.
        input_shape, output_shape: the model's, with ``None`` for the batch dimension (for a
            model of several inputs or a tuple of outputs, a list of their shapes).
    """

    model_name: str
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_bytes: int = 0
    trainable_bytes: int = 0
    input_shape: tuple | list | None = None
    output_shape: tuple | list | None = None

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        header = ("Layer (type)", "Output Shape", "Param #")
        cells = [
            (
                "  " * row.depth + f"{row.name} ({row.type})",
                "?" if row.output_shape is None else _shape(row.output_shape),
                f"{row.params:,}",
            )
            for row in self.rows
        ]
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(3)]
        widths = [max(widths[0], 28), max(widths[1], 20), max(widths[2], 10)]
        width = sum(widths) + 4

        def line(c):
            return f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]:>{widths[2]}}"

        out = [f'Model: "{self.model_name}"', "─" * width, line(header), "═" * width]
        out += [line(c) for c in cells] or ["(no layers)"]
        out.append("═" * width)
        frozen = self.total_bytes - self.trainable_bytes
        out += [
            f"Total params: {self.total_params:,} ({_bytes(self.total_bytes)})",
            f"Trainable params: {self.trainable_params:,} ({_bytes(self.trainable_bytes)})",
            f"Non-trainable params: {self.non_trainable_params:,} ({_bytes(frozen)})",
        ]
        if self.input_shape is None:
            out.append("Output shapes: pass input_size=(...) or example_input=... to see them")
        out.append("─" * width)
        return "\n".join(out)

    __repr__ = __str__


def _shape(shape) -> str:
    if isinstance(shape, list):  # a tuple of outputs: each one's shape, Keras's [(...), (...)]
        return "[" + ", ".join(_shape(part) for part in shape) + "]"
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _example(model, input_size, example_input, dtype) -> tuple:
    """The batch to run, one array per model input: the example itself, or zeros of shape
    (2, *input_size). Several inputs (Bilinear, Transformer) are a tuple or list of arrays, or
    of sample shapes, as torchinfo takes them."""
    from chainrule.tensor import Tensor

    if input_size is not None and example_input is not None:
        raise ValueError("summary: give input_size or example_input, not both")
    if example_input is not None:
        several = isinstance(example_input, (tuple, list)) and _inputs_taken(model) > 1
        if several and all(isinstance(x, (Tensor, np.ndarray)) for x in example_input):
            return tuple(x.array if isinstance(x, Tensor) else x for x in example_input)
        return (
            example_input.array if isinstance(example_input, Tensor) else np.asarray(example_input),
        )
    if isinstance(input_size, (tuple, list)) and input_size:
        if all(isinstance(size, (tuple, list)) for size in input_size):
            return tuple(x for size in input_size for x in _example(model, size, None, dtype))
    if isinstance(input_size, int):
        input_size = (input_size,)
    try:
        size = tuple(int(d) for d in input_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"summary: input_size must be the shape of one sample, e.g. (3,) or (1, 28, 28), or "
            f"a list of them for a model of several inputs; got {input_size!r}"
        ) from None
    if any(d < 1 for d in size):
        raise ValueError(f"summary: input_size dimensions must be positive, got {size}")
    return (_zeros_or_ids(model, size, dtype),)


def _zeros_or_ids(model, size: tuple, dtype) -> np.ndarray:
    """The batch made for ``input_size``: zeros of the parameters' dtype, or integer ids when
    the first leaf layer is an ``nn.Embedding`` (as ``cr.fit`` keeps them): id 1 where 0 is
    the padding id, so a model that takes its lengths from the padding sees whole sequences."""
    first = model
    while getattr(first, "_modules", None):
        first = next(iter(first._modules.values()))
    looks_up_ids = hasattr(first, "num_embeddings")  # an Embedding (importing it is a circle)
    if dtype is None and looks_up_ids:
        token = 1 if getattr(first, "padding_idx", None) == 0 and first.num_embeddings > 1 else 0
        return np.full((2, *size), token, dtype=np.int64)
    if dtype is None:
        dtype = next((p.array.dtype for p in model.parameters()), np.dtype(np.float32))
    return np.zeros((2, *size), dtype=dtype)


def _inputs_taken(model) -> int:
    """How many inputs ``model``'s forward needs (a list of arrays for a model of one input is
    its batch, as before: several samples)."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is p.empty for p in params)


def _output_shape(out):
    """A tensor's shape, or for a tuple or list of outputs a list of their shapes (nested)."""
    if isinstance(out, (tuple, list)):
        return [_output_shape(part) for part in out]
    return tuple(getattr(out, "shape", ()))


def _recorder(forward, key: int, shapes: dict):
    """``forward`` that also notes its output's shape under ``key``."""

    def recording(*args, **kwargs):
        out = forward(*args, **kwargs)
        shapes[key] = _output_shape(out)
        return out

    return recording


def _record_shapes(model, xs: tuple) -> tuple[dict, tuple]:
    """Run ``model`` on the inputs ``xs`` (eval mode, no graph); each module's last output
    shape by id."""
    from chainrule.autograd.grad_mode import no_grad

    shapes: dict[int, tuple] = {}
    patched = []  # (module, the instance's own forward if it had one)
    for _, module in model.named_modules():
        if module is model:
            continue
        recording = _recorder(module.forward, id(module), shapes)
        patched.append((module, module.__dict__.get("forward")))
        object.__setattr__(module, "forward", recording)  # an instance attribute, removed below
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(*xs)
    finally:
        for module, own in patched:
            object.__delattr__(module, "forward")
            if own is not None:
                object.__setattr__(module, "forward", own)
        model.train(was_training)
    return shapes, _output_shape(out)


def summary(model, input_size=None, *, example_input=None, dtype=None) -> ModelSummary:
    """Keras's ``model.summary()`` table: each layer's output shape and parameter count.

    Output shapes need an input: ``input_size`` is the shape of ONE sample (Keras's
    ``input_shape``, without the batch), or ``example_input`` a real batch (needed for integer
    ids, e.g. an Embedding). The model runs twice, in evaluation mode and without a graph, on
    batches of two sizes; dimensions that follow the batch are shown as ``None``, as Keras
    does. Without an input the table still lists every layer and its parameters.

    Parameters are counted as PyTorch counts them: learnable tensors only (BatchNorm's running
    statistics are buffers, not parameters, unlike Keras's non-trainable weights); frozen
    parameters (``requires_grad=False``) are the non-trainable ones. A parameter shared by two
    layers is counted once in the totals.

    Args:
        model: an ``nn.Module``.
        input_size: shape of one sample, e.g. ``(4,)`` or ``4``; for a model of several
            inputs (``Bilinear``, ``Transformer``) a list of them, ``[(3,), (4,)]``.
        example_input: a batch of real input (array or Tensor), instead of ``input_size``;
            for a model of several inputs a tuple or list of them.
        dtype: dtype of the zeros made for ``input_size`` (default: the parameters', or
            int64 ids when the first layer is an ``nn.Embedding``).

    Returns:
        a :class:`ModelSummary`; ``print()`` it for the table.
    """
    rows = []
    shapes, in_shape, out_shape = {}, None, None
    if input_size is not None or example_input is not None:
        xs = _example(model, input_size, example_input, dtype)
        if any(x.ndim == 0 for x in xs):
            raise ValueError("summary: the input needs a batch dimension")
        shapes, final = _record_shapes(model, xs)
        more = tuple(np.concatenate([x, x[:1]]) for x in xs)  # one more sample
        other, other_final = _record_shapes(model, more)
        batch = xs[0].shape[0]
        for key, shape in shapes.items():
            shapes[key] = _batch_dims(shape, other.get(key), batch)
        in_shapes = [(None, *x.shape[1:]) for x in xs]
        in_shape = in_shapes[0] if len(xs) == 1 else in_shapes
        out_shape = _batch_dims(final, other_final, batch)
        shapes[id(model)] = out_shape
    for name, module in model.named_modules():
        if module is model and module._modules and not module._parameters:
            continue  # the container itself: its layers are the rows
        own = list(module.parameters(recurse=False))
        total = sum(p.array.size for p in own)
        trainable = sum(p.array.size for p in own if p.requires_grad)
        depth = name.count(".") if name else 0
        rows.append(
            LayerRow(name or "(model)", type(module).__name__, depth, shapes.get(id(module)),
                     total, trainable)
        )  # fmt: skip
    params = list(model.parameters())  # each shared parameter once
    result = ModelSummary(type(model).__name__, rows, input_shape=in_shape, output_shape=out_shape)
    result.total_params = sum(p.array.size for p in params)
    result.trainable_params = sum(p.array.size for p in params if p.requires_grad)
    result.total_bytes = sum(p.array.nbytes for p in params)
    result.trainable_bytes = sum(p.array.nbytes for p in params if p.requires_grad)
    return result


def _batch_dims(shape, other, batch: int):
    """``shape`` with ``None`` where it followed the batch size (``other``: one sample more)."""
    if isinstance(shape, list):
        if not isinstance(other, list) or len(other) != len(shape):
            return shape
        return [_batch_dims(part, more, batch) for part, more in zip(shape, other)]
    if not isinstance(other, tuple) or len(other) != len(shape):
        return shape
    return tuple(None if (a, b) == (batch, batch + 1) else a for a, b in zip(shape, other))
