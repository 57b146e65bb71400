"""What ``chainrule train`` learns from: the data, the task, the loss and the targets."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from chainrule.cli.common import column_list
from chainrule.cli.errors import CLIError
from chainrule.registry import LOSSES as LOSS_ENTRIES

#: The losses (names of ``chainrule.registry.LOSSES``) each task accepts; ``auto`` picks the
#: first.
LOSSES = {"binary": ("bce", "ce"), "multiclass": ("ce",), "regression": ("mse",)}


@dataclass
class TrainingData:
    X: np.ndarray
    y: np.ndarray
    task: str
    classes: list[str] | None
    preprocessor: object
    feature_names: list[str] | None  # None: images
    target_name: str
    source: dict
    digest: str
    columns: list[str] | None
    schema: object = None
    notes: list = None
    lines: np.ndarray | None = None  # a CSV file's line of each row, for messages


def load_training_data(args) -> TrainingData:
    """Features, targets and the (unfitted) preprocessing for the requested data."""
    if args.dataset and args.csv:
        raise CLIError("give either a CSV file (or a folder of images) or --dataset, not both")
    images = bool(args.csv) and os.path.isdir(args.csv)
    _check_flags(args, images)
    if args.dataset:
        return _builtin(args)
    if not args.csv:
        raise CLIError(
            "give a CSV file (chainrule train data.csv --target COLUMN), a folder of images "
            "with one subfolder per class, or --dataset NAME"
        )
    return _csv(args)


IMAGE_FLAGS = ("image_size", "image_mode", "skip_bad_images")
TABLE_FLAGS = (
    "features",
    "drop",
    "categorical",
    "numeric",
    "decimal",
    "impute",
    "label_case",
    "encoding",
    "drop_missing_target",
)


def _check_flags(args, images: bool) -> None:
    """A flag for the other kind of data is an error, not silently ignored."""
    wrong = TABLE_FLAGS if images else IMAGE_FLAGS
    given = [f"--{k.replace('_', '-')}" for k in wrong if getattr(args, k, None)]
    if images and getattr(args, "task", None) == "regression":
        given.append("--task regression")
    if given:
        what = "a CSV file" if images else "a folder of images"
        raise CLIError(f"{', '.join(given)}: only for {what}; leave it out for this data")


def _builtin(args) -> TrainingData:
    from chainrule.data import Preprocessor
    from chainrule.data import datasets as builtin

    X, y = builtin.load(args.dataset)
    names = [f"x{i + 1}" for i in range(X.shape[1])]
    if y.dtype.kind == "f" or args.task == "regression":
        task = "regression"
    else:
        task = "binary" if len(np.unique(y)) == 2 else "multiclass"
    classes = None if task == "regression" else [str(c) for c in np.unique(y)]
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    pre = Preprocessor(feature_names=names)
    source = {"dataset": args.dataset}
    return TrainingData(X, y, task, classes, pre, names, "target", source, digest, names)


def _csv(args) -> TrainingData:
    from chainrule.data import load_csv

    if os.path.isdir(args.csv):  # one subfolder of images per class
        from chainrule.cli.image_data import load_folder

        return TrainingData(**load_folder(args))
    if not os.path.exists(args.csv):  # before asking for --target: a mistyped folder got that
        raise CLIError(
            f"{args.csv}: no such file or folder (give a CSV file, or a folder with one "
            f"subfolder of images per class)"
        )
    if not args.target:
        raise CLIError(f"{args.csv}: say which column to predict with --target COLUMN")
    options = {
        "features": column_list(args.features) if args.features else None,
        "drop": column_list(args.drop) if args.drop else None,
        "categorical": column_list(args.categorical) if args.categorical else None,
        "numeric": column_list(args.numeric) if args.numeric else None,
    }
    data = load_csv(
        args.csv,
        target=args.target,
        impute=args.impute,
        task=args.task,
        decimal=args.decimal,
        encoding=getattr(args, "encoding", None),
        label_case=getattr(args, "label_case", None),
        drop_missing_target=bool(getattr(args, "drop_missing_target", False)),
        **options,
    )
    digest = _file_digest(args.csv)
    source = {"csv": os.path.basename(args.csv)}
    return TrainingData(
        data.X,
        data.y,
        data.task,
        data.class_names,
        data.preprocessor,
        data.feature_names,
        data.target_name,
        source,
        digest,
        data.columns,
        data.schema,
        data.notes,
        data.lines,
    )


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose_loss(requested: str, task: str, n_classes: int | None):
    """The loss name, module and number of outputs; a loss that does not fit is an error."""
    allowed = LOSSES[task]
    loss = allowed[0] if requested == "auto" else requested
    if loss not in allowed:
        what = f"{n_classes} classes" if task != "regression" else "numbers"
        fix = "--task regression" if task != "regression" else "--task classification"
        raise CLIError(
            f"--loss {loss} does not fit this target ({task}, {what}); use --loss "
            f"{' or --loss '.join(allowed)}, or {fix}"
        )
    entry = LOSS_ENTRIES[loss]
    return loss, entry.cls(), entry.outputs(n_classes)


def encode_targets(y, loss: str, classes, preprocessor=None):
    """Targets as the loss wants them: class indices (CE), floats (N, 1) for BCE, and for
    MSE the regression target standardised with the training rows' scaling."""
    if classes is not None and y.dtype.kind not in "iu":
        raise CLIError("internal: class targets must be integer indices")
    if loss == "ce":
        return y.astype(np.int64)
    if loss == "mse" and preprocessor is not None:
        y = preprocessor.scale_target(y)
    return np.asarray(y).reshape(-1, 1).astype(np.float32)
