"""What both ``chainrule train`` pipelines (a table, a folder of images) share in ONNX: the
task and classes from the metadata, the network in eval mode, and the head that turns its
output into class probabilities and labels as ``chainrule predict`` does."""

from __future__ import annotations

import numpy as np

from chainrule.onnx._graph import Graph
from chainrule.onnx.converters import Value
from chainrule.onnx.export import ExportError, convert_module


def _task_loss_classes(meta, pre):
    """The task, loss and class names the output head needs, checked for consistency."""
    task, loss = meta.get("task") or getattr(pre, "task", None), meta.get("loss")
    classes = meta.get("classes") or getattr(pre, "class_names", None)  # images: in meta only
    if task not in ("binary", "multiclass", "regression"):
        raise ExportError(f"unknown task {task!r} in the model's metadata")
    if task != "regression" and (loss not in ("ce", "bce", "mse") or not classes):
        raise ExportError(f"a {task} model needs its loss and classes in the metadata")
    return task, loss, classes


def _network_in_eval_mode(g: Graph, model, features: str, sample_shape, dtype) -> Value:
    """The network's nodes on ``features`` (samples of ``sample_shape``), converted in eval
    mode (training flag restored)."""
    example = np.zeros((2, *sample_shape), dtype)
    was_training = model.training
    model.eval()
    try:
        out = convert_module(g, model, Value(features, example))
    finally:
        model.train(was_training)
    if isinstance(out, tuple):  # a recurrent layer's (output, h_n): no one tensor to classify
        raise ExportError(
            "the network returns a tuple (a recurrent layer's output and state); a pipeline "
            "needs a network that returns one tensor of scores"
        )
    return out


def _head(g: Graph, raw: str, loss: str, task: str, classes, dtype):
    """Graph outputs from the network's raw output: probabilities and labels, or values."""
    if task == "regression":
        return {"prediction": raw}
    if loss == "ce":
        probs = g.add("Softmax", [raw], axis=1)
    else:
        if loss == "bce":
            p1 = g.add("Sigmoid", [raw])
        else:  # mse on a binary target: the output read as the probability of class 1
            zero, one = g.scalar(0.0, dtype, "zero"), g.scalar(1.0, dtype, "one")
            p1 = g.add("Clip", [raw, zero, one])
        p0 = g.add("Sub", [g.scalar(1.0, dtype, "one"), p1])
        probs = g.add("Concat", [p0, p1], axis=1)
    index = g.add("ArgMax", [probs], axis=1, keepdims=0)
    labels = g.add(
        "LabelEncoder",
        [index],
        domain="ai.onnx.ml",
        keys_int64s=list(range(len(classes))),
        values_strings=list(classes),
        default_string="",
    )
    return {"label": labels, "probabilities": probs}
