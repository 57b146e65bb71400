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
from chainrule.onnx.converters import CONVERTERS, REFUSED, Value, supported
from chainrule.onnx.errors import ExportError
from chainrule.onnx.inputs import ExampleCall, example_call
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
    for cls in type(module).__mro__:
        if cls in REFUSED:
            raise ExportError(f"cannot export {where}: {REFUSED[cls]}")
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


def convert_module(g: Graph, module, x, path: str = "", kwargs: dict | None = None):
    """Append ``module``'s nodes to ``g`` for input ``x``; returns the output Value (for a
    recurrent layer, a tuple of Values shaped as its output: ``(output, h_n)`` or
    ``(output, (h_n, c_n))``). For a layer of several inputs (attention, the Transformer
    layers) ``x`` is the tuple of its positional arguments and ``kwargs`` its keyword ones:
    Values where the graph has a tensor, plain Python (``None``, ``need_weights=False``)
    elsewhere."""
    from chainrule.autograd.grad_mode import no_grad

    where = f"layer {path!r} ({type(module).__name__})" if path else type(module).__name__
    args = x if isinstance(x, list) else [x]
    kwargs = kwargs or {}
    if _is_plain_sequential(module):
        if len(args) != 1 or kwargs:
            raise ExportError(f"cannot export {where}: a Sequential takes one input")
        return _convert_sequential(g, module, args[0], path, where)
    fn = _converter(module, path)
    takes_call = getattr(fn, "takes_call", False)
    if not takes_call and (len(args) != 1 or kwargs):
        raise ExportError(f"cannot export {where}: its converter takes one input")
    call = _bound_call(module, args, kwargs, where) if takes_call else None
    with no_grad():
        result = module(
            *[_array_of(a) for a in args], **{k: _array_of(v) for k, v in kwargs.items()}
        )
    if getattr(fn, "drops_none", False) and isinstance(result, tuple):  # weights=None
        result = tuple(part for part in result if part is not None)
        result = result[0] if len(result) == 1 else result
    out = _arrays(result)
    if out is None or (isinstance(out, tuple) and not getattr(fn, "returns_tuple", False)):
        raise ExportError(
            f"cannot export {where}: it returns a {type(result).__name__}, and a layer of an "
            f"exported model must return one tensor (e.g. MaxPool2d without return_indices)"
        )
    outer, g.scope = g.scope, path or type(module).__name__
    try:
        if takes_call:
            name = fn(g, module, call, out)
        else:
            name = fn(g, module, args[0], out)
    except ExportError:
        raise
    except ValueError as err:  # a setting the converter cannot express in ONNX
        raise ExportError(f"cannot export {where}: {err}") from None
    finally:
        g.scope = outer
    return _values(name, out)


def _convert_sequential(g: Graph, module, x, path: str, where: str):
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


def _array_of(value):
    return value.array if isinstance(value, Value) else value


def _bound_call(module, args: list, kwargs: dict, where: str) -> dict:
    """The forward's parameters, by name, with their defaults filled in."""
    import inspect

    signature = inspect.signature(module.forward)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as err:
        needed = [p.name for p in signature.parameters.values() if p.default is p.empty]
        raise ExportError(
            f"cannot export {where} with these inputs ({err}); give all of its arguments as a "
            f"tuple, as PyTorch's exporter takes them: cr.onnx.export(model, path, "
            f"({', '.join(needed)}))"
        ) from None
    bound.apply_defaults()
    return dict(bound.arguments)


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


def _check_argument_order(path, example_input) -> None:
    """PyTorch's ``torch.onnx.export(model, args, f)`` puts the input before the file (and
    ``torch.onnx`` is this module under ``install_as_torch()``): say so, rather than fail on
    the file name read as an input."""
    paths = (str, os.PathLike)
    if isinstance(example_input, paths) and path is not None and not isinstance(path, paths):
        raise ExportError(
            "export takes (model, path, example_input), the file before the input; this call "
            "has PyTorch's order, torch.onnx.export(model, args, f). Write "
            "cr.onnx.export(model, f, args), with opset= for opset_version= (docs/onnx.md)"
        )


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
            and every dimension but the batch. Float inputs take the model's dtype; integer
            ids (Embedding) become int64. For a model of several inputs (attention, the
            Transformer layers), PyTorch's form: a tuple of its arguments, optionally ending
            with a dict of keyword ones; each array is a graph input named after its parameter.
        opset: the ai.onnx opset version, 13 to the newest the installed onnx knows.
        input_names: one name per graph input (default ``["input"]``, or the parameters).
        output_names: one name per output (default ``["output"]``; for a model that ends in a
            recurrent layer ``["output", "h_n"]``, or ``["output", "h_n", "c_n"]`` for an LSTM;
            ``["output", "weights"]`` for MultiheadAttention).
        dynamic_batch: the batch dimension (the first, or where an attention layer's layout
            has it) is the symbolic ``"batch"`` (any batch size).
        dynamic_axes: more free dimensions, as PyTorch's: ``{name: {axis: dim_name}}`` or
            ``{name: [axis, ...]}`` for the input or an output, e.g. ``{"input": {1:
            "sequence"}}`` for a batch-first recurrent model. The model is run with each free
            input axis one longer (axes of one name together), and output dims that grow with
            it get its name.
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
    _check_argument_order(path, example_input)
    opset = check_opset(opset)
    call = example_call(model, example_input, input_names)
    output_list = _user_output_names(call.names, output_names)
    extra = _string_metadata(metadata)
    named_axes = axes_of.check_dynamic_axes(dynamic_axes)
    batch_axes = _batch_axes(model, call) if dynamic_batch else [None] * len(call.arrays)
    _check_rows(call, batch_axes)
    g, inputs, outputs = _trace_in_eval_mode(
        model, call, opset, output_list, batch_axes, named_axes
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


def _check_rows(call: ExampleCall, batch_axes: list) -> None:
    for x, axis in zip(call.arrays, batch_axes):
        if axis is not None and x.ndim == 0:
            raise ExportError("example_input is a scalar; give a batch (first dimension = samples)")
        if x.ndim and x.shape[axis or 0] == 0:
            raise ExportError(
                f"example_input has no rows (shape {x.shape}); give at least one real sample, "
                f"e.g. X[:1]"
            )


def _top_converter(model):
    """The converter of ``model`` itself (None for a Sequential or an unknown layer)."""
    return next((CONVERTERS[cls] for cls in type(model).__mro__ if cls in CONVERTERS), None)


def _input_layer(model):
    """The layer that reads the input: ``model``, or a Sequential's first layer."""
    from chainrule import nn

    while isinstance(model, nn.Sequential) and len(model):
        model = model[0]
    return model


def batch_axis(model, ndim: int) -> int | None:
    """Where the batch goes in ``model``'s (first) input of ``ndim`` dimensions: 0, 1 for a
    sequence-first attention layer, None for an unbatched sequence."""
    layer = _input_layer(model)
    find = getattr(_top_converter(layer), "batch_axes", None)
    if find is None:
        return 0
    first = example_call(model, np.zeros((1,) * ndim), None).params[0]
    return find(layer, {first: np.zeros((1,) * ndim)}).get(first)


def _batch_axes(model, call: ExampleCall) -> list:
    """Each graph input's batch axis (None: it has none): axis 0, or where the model's
    converter says (sequence-first attention has its batch on axis 1)."""
    layer = _input_layer(model)
    find = getattr(_top_converter(layer), "batch_axes", None)
    if find is None:
        return [0] * len(call.arrays)
    axes = find(layer, dict(zip(call.params, call.arrays)))
    return [axes.get(param) for param in call.params]


def _user_output_names(input_names: list, output_names) -> list | None:
    """The user's output names, checked (None: the defaults)."""
    if output_names is None:
        return None
    outputs = [output_names] if isinstance(output_names, str) else list(output_names)
    if not outputs or not all(isinstance(n, str) and n for n in outputs):
        raise ExportError(f"output_names must be non-empty names, got {output_names!r}")
    if len(set(outputs)) != len(outputs):
        raise ExportError(f"output_names must differ from each other, got {outputs!r}")
    for name in input_names:
        if name in outputs:
            raise ExportError(f"input and output need different names, both are {name!r}")
    return outputs


def _string_metadata(metadata: dict | None) -> dict:
    """A copy of the user's ``metadata_props``, refusing any key or value that is not a str."""
    extra = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ExportError(f"metadata must map strings to strings, got {key!r}: {value!r}")
        extra[key] = value
    return extra


def _trace_in_eval_mode(model, call: ExampleCall, opset, output_names, batch_axes, named_axes):
    """Convert ``model`` layer by layer in eval mode, then put its training flag back.

    Returns the graph and its inputs' and outputs' value infos (names, dtypes, dims).
    """
    was_training = model.training
    model.eval()
    defaults = getattr(_top_converter(model), "output_names", _DEFAULT_OUTPUTS)
    requested = output_names

    def convert(arrays):
        return _convert_graph(model, call, arrays, opset, requested, defaults)

    try:
        g, outs = convert(call.arrays)
        converted = axes_of.graph_items(g)  # the layers' nodes, before the outputs' Identity
        output_names = _output_names(call.names, output_names, len(outs), defaults)
        for out, name in zip(outs, output_names):
            g.nodes.append(
                g.onnx.helper.make_node("Identity", [out.name], [name], name=g.name("output"))
            )
        shapes = dict(zip(call.names, (x.shape for x in call.arrays)))
        shapes |= {n: o.array.shape for n, o in zip(output_names, outs)}
        axes_of.check_names(named_axes, call.names, output_names, shapes)
        in_dims = [
            axes_of.input_dims(x, axis, named_axes.get(name, {}))
            for x, axis, name in zip(call.arrays, batch_axes, call.names)
        ]

        def run(arrays):
            args, kwargs = call.with_arrays(arrays)
            return [np.shape(leaf) for leaf in leaves(_arrays(_run(model, args, kwargs)))]

        out_dims = axes_of.output_dims(
            run,
            call.arrays,
            [out.array for out in outs],
            in_dims,
            [named_axes.get(name, {}) for name in output_names],
        )
        # a free axis other than the batch: the graph must not depend on its length
        axes_of.check_graph_unchanged(
            lambda arrays: convert(arrays)[0], converted, call.arrays, in_dims
        )
    finally:
        model.train(was_training)
    outputs = [
        _value_info(name, out.array, dims) for name, out, dims in zip(output_names, outs, out_dims)
    ]
    inputs = [_value_info(n, x, d) for n, x, d in zip(call.names, call.arrays, in_dims)]
    return g, inputs, outputs


def _convert_graph(model, call: ExampleCall, arrays: list, opset, output_names, defaults):
    """A graph of ``model``'s layers for the inputs ``arrays`` (graph names reserved), and its
    output Values."""
    g = Graph(opset)
    for name in call.names:
        g.reserve(name)
    for name in output_names or defaults:
        if name not in call.names:
            g.reserve(name)
    values = {id(x): Value(name, x) for x, name in zip(arrays, call.names)}
    args, kwargs = call.with_arrays(arrays)
    wrap = lambda a: values.get(id(a), a) if isinstance(a, np.ndarray) else a  # noqa: E731
    top = [wrap(a) for a in args] if call.several else wrap(args[0])
    outs = leaves(convert_module(g, model, top, "", {k: wrap(v) for k, v in kwargs.items()}))
    return g, outs


def _run(model, args: list, kwargs: dict):
    from chainrule.autograd.grad_mode import no_grad

    with no_grad(), np.errstate(all="ignore"):  # a longer mask may block a whole row
        result = model(*args, **kwargs)
    if isinstance(result, tuple):  # MultiheadAttention's weights=None is no output
        result = tuple(part for part in result if part is not None)
    return result


def _output_names(input_names: list, names: list | None, count: int, defaults) -> list:
    """One name per output: the user's (their count checked) or the defaults."""
    if names is None:
        names = list(defaults[:count]) + [f"output_{i}" for i in range(len(defaults), count)]
        for name in input_names:
            if name in names:
                raise ExportError(f"input and output need different names, both are {name!r}")
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
