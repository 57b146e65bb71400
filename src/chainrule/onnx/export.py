"""``chainrule.onnx.export``: a chainrule model as an ONNX graph, checked by ``onnx.checker``."""

from __future__ import annotations

import json
import os

import numpy as np

from chainrule.onnx import (
    converters_extra,  # noqa: F401 - registers PReLU, Mish, ...
    recurrent,  # noqa: F401 - registers the RNN, LSTM and GRU converters
)
from chainrule.onnx import dynamic_axes as axes_of
from chainrule.onnx._graph import Graph, require_onnx
from chainrule.onnx.converters import CONVERTERS, Value, supported
from chainrule.onnx.errors import ExportError
from chainrule.tensor import Tensor

MIN_OPSET = 13  # Softmax/LogSoftmax along one axis, Split/Squeeze axes as inputs


def check_opset(opset) -> int:
    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise ExportError(f"opset must be an integer, got {opset!r}")
    if not MIN_OPSET <= opset <= newest:
        raise ExportError(
            f"opset {opset} is not supported: chainrule exports opsets {MIN_OPSET} to {newest} "
            f"(the installed onnx {onnx.__version__} knows up to {newest})"
        )
    return int(opset)


def _converter(module, path: str):
    from chainrule import nn

    where = f"layer {path!r} ({type(module).__name__})" if path else type(module).__name__
    for cls in type(module).__mro__:
        if cls in CONVERTERS:
            if type(module).forward is not cls.forward:
                raise ExportError(
                    f"cannot export {where}: it overrides {cls.__name__}.forward, and chainrule "
                    f"cannot translate arbitrary Python to ONNX. Register a converter with "
                    f"chainrule.onnx.register_converter({type(module).__name__})"
                )
            return CONVERTERS[cls]
    if isinstance(module, nn.ModuleList):
        raise ExportError(
            f"cannot export {where}: a ModuleList has no forward(); export the module that "
            f"uses it, built as nn.Sequential"
        )
    # a layer of chainrule's own simply has no converter yet; a user's forward is arbitrary
    why = (
        "no ONNX operator mapping is written for this chainrule layer yet"
        if type(module).__module__.startswith("chainrule.")
        else "a custom forward() cannot be translated"
    )
    raise ExportError(
        f"cannot export {where}: chainrule has no ONNX converter for it ({why}). "
        f"Build the model from supported layers ({', '.join(supported())}) "
        f"in nn.Sequential, or register a converter with "
        f"chainrule.onnx.register_converter({type(module).__name__})"
    )


def _is_plain_sequential(module) -> bool:
    from chainrule import nn

    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def convert_module(g: Graph, module, x: Value, path: str = ""):
    """Append ``module``'s nodes to ``g`` for input ``x``; returns the output Value (for a
    recurrent layer, a tuple of Values shaped as its output: ``(output, h_n)`` or
    ``(output, (h_n, c_n))``)."""
    from chainrule.autograd.grad_mode import no_grad

    where = f"layer {path!r} ({type(module).__name__})" if path else type(module).__name__
    if _is_plain_sequential(module):
        children = [(key, child) for key, child in module._modules.items() if child is not None]
        for i, (key, child) in enumerate(children):
            if isinstance(x, tuple):
                raise ExportError(
                    f"cannot export {where}: layer {children[i - 1][0]!r} returns a tuple "
                    f"(output, h_n), which a Sequential cannot pass to the next layer; wrap the "
                    f"two in a Module that picks what it needs and register a converter for it "
                    f"(docs/onnx.md)"
                )
            x = convert_module(g, child, x, f"{path}.{key}" if path else key)
        return x
    fn = _converter(module, path)
    with no_grad():
        result = module(x.array)
    out = _arrays(result)
    if out is None or (isinstance(out, tuple) and not getattr(fn, "returns_tuple", False)):
        raise ExportError(
            f"cannot export {where}: it returns a {type(result).__name__}, and a layer of an "
            f"exported model must return one tensor (e.g. MaxPool2d without return_indices)"
        )
    outer, g.scope = g.scope, path or type(module).__name__
    try:
        name = fn(g, module, x, out)
    except ExportError:
        raise
    except ValueError as err:  # a setting the converter cannot express in ONNX
        raise ExportError(f"cannot export {where}: {err}") from None
    finally:
        g.scope = outer
    return _values(name, out)


def _arrays(result):
    """A layer's output as arrays, nested as its tuples are; None where it is not tensors."""
    if isinstance(result, tuple):
        parts = [_arrays(part) for part in result]
        return None if any(part is None for part in parts) else tuple(parts)
    if isinstance(result, (Tensor, np.ndarray)):
        return np.asarray(result.array if isinstance(result, Tensor) else result)
    return None


def _values(names, arrays):
    """Values pairing a converter's output names with the arrays, nested alike."""
    if isinstance(arrays, tuple):
        return tuple(_values(name, array) for name, array in zip(names, arrays, strict=True))
    return Value(names, arrays)


def leaves(value) -> list:
    """The Values (or arrays) of a possibly nested tuple, in order."""
    if isinstance(value, tuple):
        return [leaf for part in value for leaf in leaves(part)]
    return [value]


def _names(names, default: str, what: str) -> str:
    if names is None:
        return default
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if len(names) != 1 or not isinstance(names[0], str) or not names[0]:
        raise ExportError(f"{what} must be one non-empty name for this model, got {names!r}")
    return names[0]


def _example_array(model, example_input) -> np.ndarray:
    array = example_input.array if isinstance(example_input, Tensor) else np.asarray(example_input)
    if array.dtype.kind == "f":
        dtype = next((p.array.dtype for p in model.parameters() if p.array.dtype.kind == "f"), None)
        return array.astype(dtype or array.dtype, copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)  # ids (Embedding): ONNX's usual int64
    if array.dtype.kind == "b":
        raise ExportError("example_input is boolean; give the model's real input (floats or ids)")
    raise ExportError(f"example_input must hold numbers, got dtype {array.dtype}")


def _model_proto(g: Graph, inputs, outputs, metadata: dict, doc: str):
    onnx = require_onnx()
    helper = onnx.helper
    opsets = [helper.make_opsetid("", g.opset)]
    if g.ml_domain:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset(g.opset)))
    graph = helper.make_graph(g.nodes, "chainrule", inputs, outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule")
    import chainrule

    model.producer_version = chainrule.__version__
    model.ir_version = helper.find_min_ir_version_for(opsets)
    model.doc_string = doc
    helper.set_model_props(model, {"chainrule.version": chainrule.__version__, **metadata})
    onnx.checker.check_model(model, full_check=True)
    return model


def ml_opset(opset: int) -> int:
    """The ai.onnx.ml version released together with ai.onnx ``opset``."""
    onnx = require_onnx()
    for _release, _ir, main, ml, *_ in onnx.helper.VERSION_TABLE:
        if main >= opset:
            return ml
    return onnx.helper.VERSION_TABLE[-1][3]


def _value_info(name: str, array: np.ndarray, batch_dims):
    onnx = require_onnx()
    shape = [dim if dim is None or isinstance(dim, str) else int(dim) for dim in batch_dims]
    elem = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def export(
    model,
    path: str | os.PathLike | None,
    example_input,
    opset: int = 17,
    input_names=None,
    output_names=None,
    *,
    dynamic_batch: bool = True,
    dynamic_axes: dict | None = None,
    metadata: dict | None = None,
):
    """Write ``model`` as an ONNX file that ONNX Runtime (or any ONNX runtime) can run.

    The model is walked layer by layer (``nn.Sequential`` and the layer types listed by
    :func:`chainrule.onnx.supported`) and run once on ``example_input`` in evaluation mode:
    Dropout becomes the identity and BatchNorm uses its running statistics, as in
    ``model.eval()``. The model's mode is restored afterwards. The graph is checked with
    ``onnx.checker.check_model(full_check=True)`` before it is written.

    Args:
        model: an ``nn.Module`` built from supported layers.
        path: the ``.onnx`` file to write (``None``: only return the ModelProto).
        example_input: one batch of real input (array or Tensor); it fixes the input's dtype
            and every dimension but the first. Float inputs take the model's dtype; integer
            ids (Embedding) become int64.
        opset: the ai.onnx opset version, 13 to the newest the installed onnx knows.
        input_names: one name (default ``["input"]``).
        output_names: one name per output (default ``["output"]``; for a model that ends in a
            recurrent layer ``["output", "h_n"]``, or ``["output", "h_n", "c_n"]`` for an LSTM).
        dynamic_batch: the first dimension is the symbolic ``"batch"`` (any batch size).
        dynamic_axes: more free dimensions, as PyTorch's: ``{name: {axis: dim_name}}`` or
            ``{name: [axis, ...]}`` for the input or an output, e.g. ``{"input": {1:
            "sequence"}}`` for a batch-first recurrent model. The model is run with each free
            input axis one longer, and output dims that grow with it get its name.
        metadata: extra ``metadata_props`` (str → str); ``chainrule.version`` is always set.

    Returns:
        the ``onnx.ModelProto``.

    Raises:
        ExportError: an unsupported layer (named with its dotted path), a bad opset or name, a
            ``dynamic_axes`` entry naming no input or output, an axis it lacks, or an input
            axis the model cannot run at another length.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
        >>> proto = cr.onnx.export(model, None, np.zeros((2, 4), np.float32))
        >>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
        (['input'], ['output'])
    """
    from chainrule.nn.module import Module

    if not isinstance(model, Module):
        raise ExportError(f"export needs an nn.Module, got {type(model).__name__}")
    opset = check_opset(opset)
    input_name, output_list = _input_output_names(input_names, output_names)
    extra = _string_metadata(metadata)
    named_axes = axes_of.check_dynamic_axes(dynamic_axes)
    x = _example_array(model, example_input)
    if dynamic_batch and x.ndim == 0:
        raise ExportError("example_input is a scalar; give a batch (first dimension = samples)")
    if x.ndim and x.shape[0] == 0:
        raise ExportError(
            f"example_input has no rows (shape {x.shape}); give at least one real sample, "
            f"e.g. X[:1]"
        )
    g, inputs, outputs = _trace_in_eval_mode(
        model, x, opset, input_name, output_list, dynamic_batch, named_axes
    )
    arch = _architecture(model)
    if arch is not None:
        extra.setdefault("chainrule.architecture", arch)
    doc = f"exported by chainrule from {type(model).__name__}"
    proto = _model_proto(g, inputs, outputs, extra, doc)
    if path is not None:
        save_proto(proto, path)
    return proto


_DEFAULT_OUTPUTS = ("output", "h_n", "c_n")  # one tensor, or a recurrent layer's tuple


def _input_output_names(input_names, output_names) -> tuple[str, list | None]:
    """The graph's one input name and the user's output names (None: the defaults)."""
    input_name = _names(input_names, "input", "input_names")
    if output_names is None:
        return input_name, None
    outputs = [output_names] if isinstance(output_names, str) else list(output_names)
    if not outputs or not all(isinstance(n, str) and n for n in outputs):
        raise ExportError(f"output_names must be non-empty names, got {output_names!r}")
    if len(set(outputs)) != len(outputs):
        raise ExportError(f"output_names must differ from each other, got {outputs!r}")
    if input_name in outputs:
        raise ExportError(f"input and output need different names, both are {input_name!r}")
    return input_name, outputs


def _string_metadata(metadata: dict | None) -> dict:
    """A copy of the user's ``metadata_props``, refusing any key or value that is not a str."""
    extra = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ExportError(f"metadata must map strings to strings, got {key!r}: {value!r}")
        extra[key] = value
    return extra


def _trace_in_eval_mode(model, x, opset, input_name, output_names, dynamic_batch, named_axes):
    """Convert ``model`` layer by layer in eval mode, then put its training flag back.

    Returns the graph and its input's and outputs' value infos (names, dtypes, dims).
    """
    was_training = model.training
    model.eval()
    try:
        g = Graph(opset)
        g.reserve(input_name)
        for name in output_names or _DEFAULT_OUTPUTS:
            if name != input_name:
                g.reserve(name)
        outs = leaves(convert_module(g, model, Value(input_name, x)))
        output_names = _output_names(input_name, output_names, len(outs))
        for out, name in zip(outs, output_names):
            g.nodes.append(
                g.onnx.helper.make_node("Identity", [out.name], [name], name=g.name("output"))
            )
        shapes = {input_name: x.shape} | {n: o.array.shape for n, o in zip(output_names, outs)}
        axes_of.check_names(named_axes, input_name, output_names, shapes)
        in_dims = axes_of.input_dims(x, dynamic_batch, named_axes.get(input_name, {}))
        out_dims = axes_of.output_dims(
            lambda longer: [np.shape(leaf) for leaf in leaves(_arrays(_run(model, longer)))],
            x,
            [out.array for out in outs],
            in_dims,
            [named_axes.get(name, {}) for name in output_names],
        )
    finally:
        model.train(was_training)
    outputs = [
        _value_info(name, out.array, dims) for name, out, dims in zip(output_names, outs, out_dims)
    ]
    return g, [_value_info(input_name, x, in_dims)], outputs


def _run(model, x: np.ndarray):
    from chainrule.autograd.grad_mode import no_grad

    with no_grad():
        return model(x)


def _output_names(input_name: str, names: list | None, count: int) -> list:
    """One name per output: the user's (their count checked) or the defaults."""
    if names is None:
        names = list(_DEFAULT_OUTPUTS[:count]) + [f"output_{i}" for i in range(3, count)]
        if input_name in names:
            raise ExportError(f"input and output need different names, both are {input_name!r}")
    elif len(names) != count:
        raise ExportError(
            f"the model has {count} output(s) but output_names lists {len(names)}: {names!r}; "
            f"give one name per output (a recurrent layer returns output and h_n, an LSTM "
            f"output, h_n and c_n)"
        )
    return names


def _architecture(model) -> str | None:
    try:
        from chainrule.nn.registry import module_to_config

        return json.dumps(module_to_config(model), separators=(",", ":"))
    except Exception:  # a model outside the save registry still exports; the record is extra
        return None


def save_proto(proto, path) -> None:
    """Write ``proto`` to ``path`` atomically (a half-written model file is never left)."""
    from chainrule.io.atomic import atomic_write

    atomic_write(os.fspath(path), proto.SerializeToString())
