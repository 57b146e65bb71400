"""A CNN trained by ``chainrule train FOLDER`` as ONE ONNX graph: decoded pixels in, labels out.

The graph repeats what ``chainrule predict`` does after it has decoded and resized an image:
the 8-bit pixels are scaled to [0, 1] (``/ 255``, in float32 as the reader does), each channel
is standardised with the training mean and standard deviation (in float64, as the CLI does),
the ``N×H×W×C`` pixels are transposed to the network's ``N×C×H×W``, the network runs, and its
outputs become class probabilities and label names. Decoding, EXIF orientation, the colour
conversion and the resize stay outside the graph: Pillow's antialiased bilinear resize has no
exact ONNX operator, and a close one would give other answers than ``predict``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from chainrule.onnx._classifier import _head, _network_in_eval_mode, _task_loss_classes
from chainrule.onnx._graph import Graph
from chainrule.onnx.export import ExportError, _model_proto, check_opset, save_proto

#: The graph input's name; its layout and type (docs/onnx.md).
INPUT = "image"
LAYOUT = "NHWC uint8 0-255"


def export_image_pipeline(
    model, path: str | os.PathLike | None, metadata: dict | None = None, opset: int = 17
):
    """Export a CNN trained on a folder of images together with its pixel standardisation.

    The ONNX model has one input, ``image``: **uint8** pixels ``0..255`` in the layout
    ``(batch, H, W, C)`` that ``numpy.asarray(pillow_image)`` gives (add a last axis of 1 for a
    grayscale image), at the training size ``H×W`` and colour mode (``C`` = 1 for grayscale,
    3 for RGB), read as ``chainrule predict`` reads them: EXIF orientation applied, converted
    to the mode, then resized with ``Image.resize((W, H), Image.BILINEAR)``. Outputs, as
    ``predict``: ``label`` (strings, ``(batch,)``) and ``probabilities``
    (``(batch, classes)``, in the order of the ``chainrule.classes`` metadata).

    Args:
        model: the network (``cr.load(path)``).
        path: the ``.onnx`` file to write (``None``: only return the ModelProto).
        metadata: the model file's metadata (default: ``model.metadata``, set by ``cr.load``).
        opset: ai.onnx opset version (13 or newer).

    Returns:
        the ``onnx.ModelProto``.
    """
    meta = getattr(model, "metadata", None) if metadata is None else metadata
    pre = _fitted_image_preprocessor(meta)
    task, loss, classes = _task_loss_classes(meta, pre)
    if task == "regression":
        raise ExportError("a model of images classifies; its metadata says regression")
    opset = check_opset(opset)
    dtype = next((p.array.dtype for p in model.parameters()), np.dtype(np.float32))

    g = Graph(opset)
    for name in (INPUT, "label", "probabilities"):
        g.reserve(name)
    features = _standardise(g, pre, dtype)
    h, w = pre.size
    out = _network_in_eval_mode(g, model, features, (pre.channels, h, w), dtype)
    g.scope = "postprocess"
    heads = _head(g, out.name, loss, task, classes, dtype)
    helper, tp = g.onnx.helper, g.onnx.TensorProto
    for name, source in heads.items():
        g.nodes.append(helper.make_node("Identity", [source], [name], name=f"{name}_out"))
    to = int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    inputs = [helper.make_tensor_value_info(INPUT, tp.UINT8, ["batch", h, w, pre.channels])]
    outputs = [
        helper.make_tensor_value_info("label", tp.STRING, ["batch"]),
        helper.make_tensor_value_info("probabilities", to, ["batch", len(classes)]),
    ]
    props = {
        "chainrule.task": task,
        "chainrule.target": str(meta.get("target") or "class"),
        "chainrule.classes": json.dumps(list(classes)),
        "chainrule.image.size": json.dumps([h, w]),
        "chainrule.image.mode": pre.mode,
        "chainrule.input.layout": LAYOUT,
    }
    doc = (
        f"chainrule train model of {pre.describe()} images: input 'image' is uint8 "
        f"(batch, {h}, {w}, {pre.channels}) pixels 0-255, resized outside the graph"
    )
    proto = _model_proto(g, inputs, outputs, props, doc)
    if path is not None:
        save_proto(proto, path)
    return proto


def _fitted_image_preprocessor(meta):
    from chainrule.data.image_preprocessing import ImagePreprocessor
    from chainrule.errors import DataError

    try:
        pre = ImagePreprocessor.from_dict(meta["preprocessing"])
    except DataError as err:
        raise ExportError(f"the model's preprocessing metadata is unusable: {err}") from None
    if not pre.fitted:
        raise ExportError("the model's image preprocessing was never fitted; retrain the model")
    return pre


def _standardise(g: Graph, pre, dtype) -> str:
    """uint8 NHWC pixels to the network's standardised NCHW input (``ImagePreprocessor``'s
    ``read`` then ``transform``: float32 ``/ 255``, then ``(x − mean) / std`` in float64)."""
    tp = g.onnx.TensorProto
    g.scope = "preprocess"
    x = g.add("Cast", [INPUT], to=int(tp.FLOAT))
    x = g.add("Div", [x, g.scalar(255.0, np.float32, "255")])
    x = g.add("Cast", [x], to=int(tp.DOUBLE))
    # the channel is the last axis here: (C,) constants broadcast over N, H, W
    x = g.add("Sub", [x, g.const(pre.mean.astype(np.float64), "mean")])
    x = g.add("Div", [x, g.const(pre.std.astype(np.float64), "std")])
    x = g.add("Transpose", [x], perm=[0, 3, 1, 2])  # NHWC to the network's NCHW
    x = g.add("Cast", [x], to=int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))))
    g.scope = ""
    return x
