"""``chainrule predict``, ``evaluate`` and ``info``: working with a saved model file."""

from __future__ import annotations

import csv
import io
import sys

import numpy as np

from chainrule.cli.errors import CLIError
from chainrule.cli.output import heading, table


def _load(path: str):
    import chainrule as cr

    model = cr.load(path)
    meta = getattr(model, "metadata", None) or {}
    if "preprocessing" not in meta:
        raise CLIError(
            f"{path}: this model file has no preprocessing metadata (it was not saved by "
            f"'chainrule train'); use it from Python with cr.load()"
        )
    from chainrule.io.schema import check_training_metadata

    check_training_metadata(meta, path)  # every entry used below, checked first
    return model, meta


def _features(path: str, meta: dict, model_path: str, target=None):
    """Rows of ``path`` turned into the model's inputs by its own saved preprocessing."""
    from chainrule.data import Preprocessor, load_csv

    pre = Preprocessor.from_dict(meta["preprocessing"])
    try:
        # The saved preprocessor picks the training columns by name and keeps the training
        # categories and classes, whatever subset of them this file holds.
        data = load_csv(path, target=target, preprocessor=pre)
        X = pre.transform(data.X)
    except ValueError as err:
        expected = meta.get("columns") or []
        raise CLIError(
            f"{_first_line(err)} (model {model_path} expects {len(expected)} feature columns: "
            f"{', '.join(map(str, expected))})"
        ) from None
    return X, data


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _outputs(model, X, meta):
    import chainrule as cr

    raw = cr.predict(model, X)
    task, loss = meta.get("task"), meta.get("loss")
    if task == "regression" or loss == "mse" and task == "regression":
        return None, raw.reshape(len(raw), -1)
    if loss == "ce":
        shifted = raw - raw.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
    elif loss == "bce":
        p1 = 1 / (1 + np.exp(-np.clip(raw.reshape(-1), -500, 500)))
        probs = np.stack([1 - p1, p1], axis=1)
    else:  # mse on a binary target: the output is the probability of class 1
        p1 = np.clip(raw.reshape(-1), 0, 1)
        probs = np.stack([1 - p1, p1], axis=1)
    return probs.argmax(axis=1), probs


def run_predict(args) -> int:
    from chainrule.io.atomic import atomic_write

    model, meta = _load(args.model)
    X, _ = _features(args.csv, meta, args.model)
    labels, values = _outputs(model, X, meta)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if labels is None:
        target = meta.get("target") or "target"
        if values.shape[1] == 1:
            writer.writerow([f"predicted_{target}"])
        else:
            writer.writerow([f"predicted_{target}_{i}" for i in range(values.shape[1])])
        for row in values:
            writer.writerow([repr(float(v)) for v in row])
    else:
        classes = meta.get("classes") or [str(i) for i in range(values.shape[1])]
        writer.writerow(["predicted"] + [f"p_{c}" for c in classes])
        for label, row in zip(labels, values):
            writer.writerow([classes[label]] + [f"{p:.6f}" for p in row])
    text = buffer.getvalue()
    if args.out:
        atomic_write(args.out, text.encode("utf-8"))
        print(f"{len(X)} predictions written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def run_evaluate(args) -> int:
    import chainrule as cr

    model, meta = _load(args.model)
    target = args.target or meta.get("target")
    X, data = _features(args.csv, meta, args.model, target=target)
    labels, values = _outputs(model, X, meta)
    rows = [["examples", len(X)]]
    if labels is None:
        truth = np.asarray(data.y, dtype=np.float64).reshape(len(X), -1)
        rows += [
            ["mse", cr.metrics.mse(truth, values)],
            ["mae", cr.metrics.mae(truth, values)],
            ["r2", cr.metrics.r2(truth, values)],
        ]
    else:
        classes = meta.get("classes")
        truth = _class_indices(data, classes, args.csv)
        rows.append(["accuracy", cr.metrics.accuracy(truth, labels)])
        average = "binary" if len(classes) == 2 else "macro"
        for name in ("precision", "recall", "f1"):
            rows.append(
                [f"{name} ({average})", getattr(cr.metrics, name)(truth, labels, average=average)]
            )
    heading(f"Evaluation of {args.model} on {args.csv}")
    table("", ["metric", "value"], rows)
    return 0


def _class_indices(data, classes, path):
    names = data.class_names or [str(c) for c in np.unique(data.y)]
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(names) - set(lookup))
    if unknown:
        raise CLIError(f"{path}: labels {unknown} were not seen in training (known: {classes})")
    return np.array([lookup[names[int(i)]] for i in data.y])


def run_info(args) -> int:
    from chainrule.io.model import read_metadata
    from chainrule.io.schema import check_architecture, check_training_metadata

    info = read_metadata(args.model)
    meta = info.get("metadata") or {}
    check_training_metadata(meta, args.model, need_preprocessing=False)
    check_architecture(info.get("architecture"), args.model)
    heading(f"Model {args.model}")
    rows = [
        ["parameters", info.get("parameter_count")],
        ["chainrule version", info.get("chainrule_version")],
        ["numpy version", info.get("numpy_version")],
    ]
    for key in ("task", "target", "loss", "classes", "features"):
        if key in meta:
            rows.append([key, _short(meta[key])])
    table("", ["", "value"], rows)
    print("architecture:")
    print(_architecture_text(info.get("architecture")))
    if meta.get("training"):
        table(
            "training",
            ["option", "value"],
            [[k, _short(v)] for k, v in sorted(meta["training"].items())],
        )
    if meta.get("preprocessing"):
        print("preprocessing:", _short(meta["preprocessing"], 400))
    return 0


def _architecture_text(config, indent: int = 2) -> str:
    if not config:
        return " " * indent + "(none recorded)"
    args = ", ".join(f"{k}={v}" for k, v in (config.get("args") or {}).items())
    lines = [" " * indent + f"{config.get('type')}({args})"]
    for child in config.get("children") or []:
        lines.append(_architecture_text(child, indent + 2))
    return "\n".join(lines)


def _short(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
