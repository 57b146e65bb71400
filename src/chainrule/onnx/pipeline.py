"""A model trained by ``chainrule train`` as ONE ONNX graph: raw columns in, labels out.

The graph repeats what ``chainrule predict`` does with the preprocessing saved in the model
file: missing numeric cells get their fill value, categorical columns are one-hot encoded with
the training categories, numeric features are standardised with the training mean and standard
deviation (in float64, as the CLI does), the network runs, and its outputs become class
probabilities and label names (or the regression values).
"""

from __future__ import annotations

import json
import os

import numpy as np

from chainrule.data.image_preprocessing import is_image_preprocessing
from chainrule.onnx._classifier import _head, _network_in_eval_mode, _task_loss_classes
from chainrule.onnx._graph import Graph
from chainrule.onnx.converters import Value
from chainrule.onnx.export import (
    ExportError,
    _model_proto,
    _value_info,
    check_opset,
    save_proto,
)

#: Cells read as missing (the CSV reader's set, in the spellings a file usually has).
MISSING_SPELLINGS = (
    "",
    "na",
    "NA",
    "n/a",
    "N/A",
    "nan",
    "NaN",
    "NAN",
    "null",
    "NULL",
    "Null",
    "none",
    "None",
    "NONE",
    "?",
    "-",
    "--",
    "\\N",
    "#N/A",
    "#NA",
    "<NA>",
    # spreadsheet error values (chainrule.data.sheet_errors), as Excel writes them
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
)
#: The yes/no words a boolean column of two of them also reads (``Y`` for ``yes``).
ANSWERS = {
    **dict.fromkeys(("true", "yes", "y", "t", "1"), 1.0),
    **dict.fromkeys(("false", "no", "n", "f", "0"), 0.0),
}


def _string_input(name: str):
    from chainrule.onnx._graph import require_onnx

    onnx = require_onnx()
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.STRING, ["batch", 1])


def _numeric(g: Graph, name: str, col: dict) -> str:
    if col.get("fill") is None:
        return name
    fill = g.scalar(col["fill"], np.float64, "fill")
    return g.add("Where", [g.add("IsNaN", [name]), fill, name])


def _categorical(g: Graph, name: str, col: dict) -> str:
    categories = list(col["categories"])
    keys, values = list(categories), list(range(len(categories)))
    if col.get("fill") is not None:  # a missing cell is the fill category
        fill = categories.index(col["fill"])
        extra = [s for s in MISSING_SPELLINGS if s not in categories]
        keys += extra
        values += [fill] * len(extra)
    depth = len(categories)
    # an unknown category gets index `depth`, equal to no column: a row of zeros
    codes = g.add(
        "LabelEncoder",
        [name],
        domain="ai.onnx.ml",
        keys_strings=keys,
        values_int64s=values,
        default_int64=depth,
    )
    columns = g.const(np.arange(depth, dtype=np.int64).reshape(1, depth), "categories")
    hot = g.add("Equal", [codes, columns])  # (batch, 1) against (1, depth): the one-hot block
    return g.add("Cast", [hot], to=int(g.onnx.TensorProto.DOUBLE))


def _boolean(g: Graph, name: str, col: dict) -> str:
    """One 0/1 feature, as the CLI reads it: the two training values in any case (or 1/0),
    0.5 for another value, the fill value (else NaN) for a missing cell."""
    false, true = col["categories"]
    fill = col.get("fill")
    keys: dict[str, float] = {}
    for word, value in ((false, 0.0), (true, 1.0)):
        keys.update(dict.fromkeys(_spellings(word), value))
    for key, value in (("0", 0.0), ("1", 1.0), ("0.0", 0.0), ("1.0", 1.0)):
        keys.setdefault(key, value)
    if false.lower() in ANSWERS and true.lower() in ANSWERS:  # as the CLI: Y, TRUE, N, False
        for word, value in ANSWERS.items():
            for spelling in _spellings(word):
                keys.setdefault(spelling, value)
    for key in MISSING_SPELLINGS:
        keys.setdefault(key, float("nan") if fill is None else float(fill == true))
    code = g.add(
        "LabelEncoder",
        [name],
        domain="ai.onnx.ml",
        keys_strings=list(keys),
        values_floats=list(keys.values()),
        default_float=0.5,
    )
    return g.add("Cast", [code], to=int(g.onnx.TensorProto.DOUBLE))


def _spellings(word: str) -> list[str]:
    """``word`` in every mix of cases (the CLI compares boolean words ignoring case; the
    words are short: true, yes, y, t and their opposites), or a few for a longer word."""
    if len(word) > 8:
        return [word, word.lower(), word.upper(), word.title()]
    out = [""]
    for ch in word:
        out = [p + c for p in out for c in dict.fromkeys((ch.lower(), ch.upper()))]
    return out


def export_pipeline(
    model, path: str | os.PathLike | None, metadata: dict | None = None, opset: int = 17
):
    """Export a model saved by ``chainrule train`` together with its preprocessing.

    The ONNX model has one input per raw feature column, named as in the CSV header, each of
    shape ``(batch, 1)``: numeric columns as float64 (NaN for a missing cell), categorical
    columns as strings (cells without surrounding spaces). Outputs, as ``chainrule predict``:
    ``label`` (strings, shape ``(batch,)``) and ``probabilities`` (``(batch, classes)``, in the
    order of the ``classes`` metadata) for classifiers, ``prediction`` for regression.

    A model trained on a folder of images is exported by
    :func:`chainrule.onnx.image_pipeline.export_image_pipeline` (uint8 pixels in).

    Differences from the CLI, which stops with an error: a category unseen in training becomes
    a row of zeros in its one-hot block, and a missing numeric cell without a fill value gives
    NaN outputs (ONNX graphs cannot raise errors).

    Args:
        model: the network (``cr.load(path)``).
        path: the ``.onnx`` file to write (``None``: only return the ModelProto).
        metadata: the model file's metadata (default: ``model.metadata``, set by ``cr.load``).
        opset: ai.onnx opset version (13 or newer).

    Returns:
        the ``onnx.ModelProto``.
    """
    meta = getattr(model, "metadata", None) if metadata is None else metadata
    if isinstance(meta, dict) and is_image_preprocessing(meta.get("preprocessing")):
        from chainrule.onnx.image_pipeline import export_image_pipeline

        return export_image_pipeline(model, path, meta, opset)
    pre = _fitted_preprocessor(meta)
    task, loss, classes = _task_loss_classes(meta, pre)
    opset = check_opset(opset)
    dtype = next((p.array.dtype for p in model.parameters()), np.dtype(np.float32))

    g = Graph(opset)
    output_names = ["prediction"] if task == "regression" else ["label", "probabilities"]
    for name in output_names:
        g.reserve(name)
    inputs, features = _preprocess(g, pre, output_names, dtype)
    out = _network_in_eval_mode(g, model, features, (pre.n_features,), dtype)
    outputs = _postprocess(g, out, pre, task, loss, classes, dtype)
    props = _pipeline_props(meta, pre, task, classes)
    proto = _model_proto(g, inputs, outputs, props, "chainrule train model with preprocessing")
    if path is not None:
        save_proto(proto, path)
    return proto


def _fitted_preprocessor(meta):
    """The fitted ``Preprocessor`` saved in a ``chainrule train`` model's metadata."""
    from chainrule.data.preprocessing import Preprocessor
    from chainrule.errors import DataError

    if not meta or "preprocessing" not in meta:
        raise ExportError(
            "this model has no preprocessing metadata (it was not saved by 'chainrule train'); "
            "export the network alone with chainrule.onnx.export(model, path, example_input)"
        )
    try:
        pre = Preprocessor.from_dict(meta["preprocessing"])
    except DataError as err:
        raise ExportError(f"the model's preprocessing metadata is unusable: {err}") from None
    if pre.columns is None or not pre.fitted:
        raise ExportError("the model's preprocessing was never fitted; retrain the model")
    return pre


def _preprocess(g: Graph, pre, output_names, dtype):
    """One graph input per raw column, encoded and standardised into the network's features.

    Returns the input ValueInfos and the name of the feature matrix (in the model's dtype).
    """
    inputs, pieces = [], []
    g.scope = "preprocess"
    for col in pre.columns:
        name = col["name"]
        if name in g._used:
            raise ExportError(
                f"column {name!r} has the name of a graph output ({', '.join(output_names)}); "
                f"rename the column and retrain"
            )
        g.reserve(name)
        if col["kind"] == "date":
            raise ExportError(
                f"column {name!r} is a date feature (read as days since 1970-01-01), and an "
                f"ONNX graph cannot parse dates from text; retrain without that column, or "
                f"export the network alone with --network-only (it takes the encoded features)"
            )
        if col["kind"] == "time":
            raise ExportError(
                f"column {name!r} is a time-of-day feature (read as hours since midnight), and "
                f"an ONNX graph cannot parse times from text; retrain without that column, or "
                f"export the network alone with --network-only (it takes the encoded features)"
            )
        if col["kind"] == "numeric":
            inputs.append(_value_info(name, np.zeros(0, np.float64), ["batch", 1]))
            pieces.append(_numeric(g, name, col))
        else:
            inputs.append(_string_input(name))
            encode = _boolean if col["kind"] == "boolean" else _categorical
            pieces.append(encode(g, name, col))
    encoded = pieces[0] if len(pieces) == 1 else g.add("Concat", pieces, axis=1)
    if pre.standardize:
        encoded = g.add("Sub", [encoded, g.const(pre.mean.astype(np.float64), "mean")])
        encoded = g.add("Div", [encoded, g.const(pre.std.astype(np.float64), "std")])
    to = int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    features = g.add("Cast", [encoded], to=to)
    g.scope = ""
    return inputs, features


def _postprocess(g: Graph, out: Value, pre, task, loss, classes, dtype):
    """The graph outputs from the network's output; returns their ValueInfos."""
    g.scope = "postprocess"
    raw = out.name
    if task == "regression" and getattr(pre, "target_mean", None) is not None:
        # the network was trained on standardised targets: undo it, as `chainrule predict` does
        raw = g.add("Mul", [raw, g.scalar(float(pre.target_std), dtype, "target_std")])
        raw = g.add("Add", [raw, g.scalar(float(pre.target_mean), dtype, "target_mean")])
    heads = _head(g, raw, loss, task, classes, dtype)
    outputs = []
    for name, source in heads.items():
        g.nodes.append(g.onnx.helper.make_node("Identity", [source], [name], name=f"{name}_out"))
    if task == "regression":
        outputs.append(_value_info("prediction", out.array, ["batch", out.array.shape[1]]))
    else:
        helper, tp = g.onnx.helper, g.onnx.TensorProto
        outputs.append(helper.make_tensor_value_info("label", tp.STRING, ["batch"]))
        outputs.append(_value_info("probabilities", np.zeros(0, dtype), ["batch", len(classes)]))
    return outputs


def _pipeline_props(meta, pre, task, classes) -> dict:
    """The ``metadata_props`` that tell a reader the task, target, columns and classes."""
    props = {
        "chainrule.task": task,
        "chainrule.target": str(meta.get("target") or pre.target_name or ""),
        "chainrule.columns": json.dumps(pre.column_names),
    }
    if task != "regression":
        props["chainrule.classes"] = json.dumps(list(classes))
    return props
