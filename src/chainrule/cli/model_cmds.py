"""What ``predict``, ``evaluate`` and ``explain`` share: a saved model and its preprocessing."""

from __future__ import annotations

import numpy as np

from chainrule.cli.errors import CLIError


def load_model(path: str):
    import chainrule as cr

    model = cr.load(path)
    meta = getattr(model, "metadata", None) or {}
    if "preprocessing" not in meta:
        raise CLIError(
            f"{path}: this model file has no preprocessing metadata (it was not saved by "
            f"'chainrule train'); use it from Python with cr.load()"
        )
    return model, meta


def features_of(path: str, meta: dict, model_path: str, target=None):
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


def outputs(model, X, meta):
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


def class_indices(data, classes, path):
    names = data.class_names or [str(c) for c in np.unique(data.y)]
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(names) - set(lookup))
    if unknown:
        raise CLIError(f"{path}: labels {unknown} were not seen in training (known: {classes})")
    return np.array([lookup[names[int(i)]] for i in data.y])
