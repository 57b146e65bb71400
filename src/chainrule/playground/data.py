"""The playground's data: the built-in datasets, the functions to fit, and uploaded CSVs."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from chainrule.errors import DataError
from chainrule.playground.validation import (
    MAX_CLASSES,
    MAX_UPLOAD_ROWS,
    Config,
    ValidationError,
    task_of,
)

__all__ = ["Upload", "load_data", "parse_upload", "regression_data"]


class Upload:
    """A CSV the user sent: two numeric features (standardised) and class labels."""

    def __init__(self, X: np.ndarray, y: np.ndarray, feature_names, class_names, filename: str):
        self.X = X
        self.y = y
        self.feature_names = list(feature_names)
        self.class_names = list(class_names)
        self.filename = filename


def decode_upload(raw: bytes, filename: str = "upload.csv") -> str:
    """An uploaded file's text, decoded as ``chainrule train`` decodes a CSV file: UTF-8 (with
    or without a byte-order mark), UTF-16 with one, or Windows-1252 (Excel's plain "CSV" on
    Windows, ``Größe`` as single bytes)."""
    from chainrule.data.charset import choose_charset, open_text

    fd, path = tempfile.mkstemp(suffix=".csv", prefix="chainrule-upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        try:
            charset = choose_charset(path, filename)
            with open_text(path, filename, charset) as f:
                return f.read().removeprefix("\ufeff")  # a byte-order mark is not data
        except DataError as err:
            raise ValidationError(str(err).replace(path, filename)) from None
    finally:
        os.unlink(path)


def parse_upload(text: str, target: str | None = None, filename: str = "upload.csv") -> Upload:
    """Read an uploaded CSV with :func:`chainrule.data.load_csv`: exactly two numeric feature
    columns and a label column (``target``, default the last column).

    Raises:
        ValidationError: the file does not have that shape (the message says what it has).
    """
    from chainrule.data import load_csv

    if not text.strip():
        raise ValidationError("the uploaded file is empty")
    first = text.lstrip("\ufeff").splitlines()[0]
    header = [h.strip().strip('"') for h in first.replace(";", ",").replace("\t", ",").split(",")]
    target = target or header[-1]
    # Two columns besides the label are the two features, whatever their inferred role: a
    # column of distinct whole numbers (a day, an x) would be left out as an identifier, with
    # a hint (features=[...]) that the page has no way to follow.
    others = [h for h in header if h != target]
    features = others if len(others) == 2 and not any(map(_is_number, header)) else None
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="chainrule-upload-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            data = load_csv(path, target=target, features=features, numeric=features)
        except DataError as err:
            raise ValidationError(str(err).replace(path, filename)) from None
    finally:
        os.unlink(path)
    if data.task == "regression":
        raise ValidationError(
            f"{filename}: column {target!r} holds numbers with many values; the playground "
            f"classifies, so the label column needs class labels"
        )
    if data.X.shape[1] != 2:
        raise ValidationError(
            f"{filename}: the playground draws two features; the file has "
            f"{len(data.feature_names)} feature columns ({', '.join(data.feature_names)}) "
            f"besides the label {target!r}"
        )
    if len(data.X) > MAX_UPLOAD_ROWS or len(data.X) < 4:
        raise ValidationError(
            f"{filename}: needs between 4 and {MAX_UPLOAD_ROWS} rows; got {len(data.X)}"
        )
    classes = list(data.class_names or [])
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise ValidationError(
            f"{filename}: the label column needs 2 to {MAX_CLASSES} classes; got {len(classes)}"
        )
    X = np.asarray(data.X, dtype=np.float64)
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return Upload(X, np.asarray(data.y, dtype=np.int64), data.feature_names, classes, filename)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def regression_data(name: str, n: int, noise: float, seed: int):
    """``(X, y)`` of a function to fit: ``sine`` (one input, y = sin x on [−3, 3]), ``bump``
    (y = exp(−|x|²) on [−2, 2]²) or ``waves`` (y = sin 1.5x₁ · cos 1.5x₂ on [−2, 2]²); ``noise``
    is the standard deviation of the Gaussian noise added to y, as a fraction of 0.25."""
    rng = np.random.default_rng(seed)
    if name == "sine":
        X = rng.uniform(-3.0, 3.0, size=(n, 1))
        y = np.sin(X[:, 0])
    else:
        X = rng.uniform(-2.0, 2.0, size=(n, 2))
        if name == "bump":
            y = np.exp(-(X**2).sum(axis=1))
        else:
            y = np.sin(1.5 * X[:, 0]) * np.cos(1.5 * X[:, 1])
    return X, y + 0.25 * noise * rng.standard_normal(n)


def load_data(cfg: Config, upload: Upload | None):
    """``(X, y, class_names)`` of the chosen dataset (``class_names`` is None for a function
    to fit)."""
    from chainrule.data import datasets

    name = cfg.dataset
    if task_of(name) == "regression":
        X, y = regression_data(name, cfg.samples, cfg.noise, cfg.seed)
        return X, y, None
    if name == "upload":
        if upload is None:
            raise ValidationError("dataset 'upload' needs a CSV file: upload one first")
        return upload.X, upload.y, upload.class_names
    if name == "xor":
        X, y = datasets.xor()
    elif name == "seed_example":
        X, y = datasets.seed_example(n=cfg.samples, seed=cfg.seed)
    elif name == "blobs":  # three clusters in [-10, 10]², standardised like an upload
        X, y = datasets.blobs(n=cfg.samples, seed=cfg.seed)
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    else:
        X, y = getattr(datasets, name)(n=cfg.samples, noise=cfg.noise, seed=cfg.seed)
    return X, y, [str(c) for c in np.unique(y)]
