"""What ``predict``, ``evaluate``, ``info`` and ``explain`` share: a saved model, its data."""

from __future__ import annotations

import re
import sys

import numpy as np

from chainrule.cli.common import add_encoding_argument
from chainrule.cli.errors import CLIError
from chainrule.cli.output import literal


def not_a_model(path: str) -> str | None:
    """A one-line reason when ``path`` is plainly some other kind of file (a CSV, text, an
    archive), checked before the model reader so the message says what the file is."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if len(head) >= 8:
        size = int.from_bytes(head[:8], "little")
        if head[8:9] == b"{" and size < (1 << 28):
            return None  # a safetensors header: let the model reader judge it
    for magic, kind in ((b"PK\x03\x04", "a ZIP archive"), (b"\x89PNG", "a PNG image")):
        if head.startswith(magic):
            return f"{path}: this is {kind}, not a chainrule model"
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    lines = [line for line in text.splitlines() if line.strip()][:5]
    if len(lines) >= 2 and any(d in lines[0] for d in ",;\t|"):
        return f"{path}: this is a CSV file, not a chainrule model (give the .safetensors file)"
    if lines:
        return f"{path}: this is a text file, not a chainrule model"
    return None


def load_model(path: str, import_from: list[str] = ()):
    """The model ``chainrule train`` saved at ``path`` and its metadata (``import_from``: the
    ``--import`` modules, for layer classes registered with ``@nn.register``)."""
    from chainrule.cli import custom_layers

    reason = not_a_model(path)
    if reason:
        raise CLIError(reason)
    model = custom_layers.load(path, list(import_from))
    meta = getattr(model, "metadata", None) or {}
    if "preprocessing" not in meta:
        raise CLIError(
            f"{path}: this model file has no preprocessing metadata (it was not saved by "
            f"'chainrule train'); use it from Python with cr.load()"
        )
    from chainrule.io.schema import check_training_metadata

    check_training_metadata(meta, path)  # every entry used below, checked first
    return model, meta


def one_csv(paths: list[str], model_path: str, meta: dict) -> str:
    """The one CSV file a model of table rows reads; images or several files are an error."""
    from chainrule.cli.image_data import is_image_path

    reads = f"{model_path} reads rows of a CSV file ({len(meta.get('columns') or [])} columns)"
    for path in paths:
        if is_image_path(path):
            raise CLIError(f"{path}: this is an image; {reads}, not images")
    if len(paths) > 1:
        raise CLIError(f"give one CSV file, got {len(paths)}; {reads}")
    return paths[0]


def add_decimal_argument(parser) -> None:
    """``--decimal`` for the commands that read new rows with a saved model."""
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        help="the decimal mark of the CSV file (default: as in the training file where the "
        "numbers could be read either way, else detected)",
    )
    add_encoding_argument(parser)


def add_skip_bad_images_argument(parser) -> None:
    parser.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="a model of images: leave out files that cannot be read (with a note) instead "
        "of stopping",
    )


def features_of(
    path: str,
    meta: dict,
    model_path: str,
    target=None,
    notes=None,
    decimal=None,
    encoding=None,
    drop_missing_target=False,
):
    """Rows of ``path`` turned into the model's inputs by its own saved preprocessing."""
    from chainrule.data import Preprocessor, load_csv

    pre = Preprocessor.from_dict(meta["preprocessing"])
    if pre.file_columns is None:  # saved before file_columns: the schema lists every column
        names = [c.get("name") for c in meta.get("schema") or () if isinstance(c, dict)]
        pre.file_columns = names if names and all(isinstance(n, str) for n in names) else None
    try:
        # The saved preprocessor picks the training columns by name and keeps the training
        # categories and classes, whatever subset of them this file holds.
        data = load_csv(
            path,
            target=target,
            preprocessor=pre,
            decimal=decimal,
            encoding=encoding,
            drop_missing_target=drop_missing_target,
        )
        X = pre.transform(data.X, dtype=np.float32)
    except ValueError as err:
        expected = [literal(name) for name in meta.get("columns") or []]
        message = _retrain_hints(getattr(err, "cli_message", None) or _first_line(err))
        more = f", ... and {len(expected) - 20} more" if len(expected) > 20 else ""
        raise CLIError(
            f"{message} (model {model_path} expects {len(expected)} feature columns: "
            f"{', '.join(expected[:20])}{more})"
        ) from None
    bad = ~np.isfinite(X)
    if bad.any():
        i, k = np.argwhere(bad)[0]
        raise CLIError(
            f"{path}: line {int(data.lines[i])}: feature {pre.feature_names[k]!r} is too large "
            f"for float32 once standardised with the training statistics"
        )
    for note in data.notes:
        print(f"note: {literal(getattr(note, 'cli', note))}", file=notes or sys.stderr)
    return X, data, pre


def _retrain_hints(message: str) -> str:
    """Hints that name train's options, worded for a saved model: they need retraining."""
    message = message.replace("(or --impute mean)", "(or retrain the model with --impute mean)")
    return re.sub(
        r"read the column as categories with (--categorical \S+)\)",
        r"retrain the model with \1 to read the column as categories)",
        message,
    )


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def outputs(model, X, meta, pre=None, lines=None, path: str = "input"):
    """``(class indices or None, probabilities or predicted values)``; a non-finite output
    is an error naming the row, never a NaN written out."""
    import chainrule as cr

    raw = np.asarray(cr.predict(model, X), dtype=np.float64)
    bad = ~np.isfinite(raw).reshape(len(raw), -1).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        where = f"line {int(lines[i])}" if lines is not None else f"row {i + 1}"
        raise CLIError(
            f"{path}: {where}: the model's output is not a finite number ({bad.sum()} row(s)); "
            f"the model file may be damaged or the inputs far outside the training range",
            code=3,
        )
    task, loss = meta.get("task"), meta.get("loss")
    if task == "regression":
        values = raw.reshape(len(raw), -1)
        return None, pre.unscale_target(values) if pre is not None else values
    if loss == "ce":
        shifted = raw - raw.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
    elif loss == "bce":
        p1 = 1 / (1 + np.exp(-np.clip(raw.reshape(-1), -500, 500)))
        probs = np.stack([1 - p1, p1], axis=1)
    else:  # mse on a binary target (older models): the output is the probability of class 1
        p1 = np.clip(raw.reshape(-1), 0, 1)
        probs = np.stack([1 - p1, p1], axis=1)
    return probs.argmax(axis=1), probs


def class_indices(data, classes, path):
    names = data.class_names or [str(c) for c in np.unique(data.y)]
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(names) - set(lookup))
    if unknown:
        from chainrule.data.messages import first_few

        raise CLIError(
            f"{path}: labels {first_few(unknown)} were not seen in training (known: "
            f"{first_few(classes)})"
        )
    return np.array([lookup[names[int(i)]] for i in data.y])
