"""``chainrule evaluate``: a saved model scored on a labelled CSV file."""

from __future__ import annotations

import numpy as np

from chainrule.cli.custom_layers import add_import_argument
from chainrule.cli.model_cmds import (
    add_decimal_argument,
    add_skip_bad_images_argument,
    class_indices,
    features_of,
    load_model,
    one_csv,
    outputs,
)
from chainrule.cli.output import heading, table
from chainrule.cli.train_flags import add_drop_missing_target_argument

HELP = "Score a saved model on a labelled CSV file (or a folder of images, one per class)."
EXAMPLES = """
chainrule evaluate model.safetensors test.csv --target species
chainrule evaluate pets.safetensors test_photos/   # test_photos/cat/*.png, test_photos/dog/...
"""


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by 'chainrule train'")
    parser.add_argument(
        "csv",
        metavar="DATA",
        help="CSV file with the feature columns and the labels; for a model trained on images, "
        "a folder with one subfolder of images per class",
    )
    parser.add_argument("--target", help="label column (default: the one used in training)")
    add_drop_missing_target_argument(parser)
    add_decimal_argument(parser)
    add_skip_bad_images_argument(parser)
    add_import_argument(parser)


def run(args) -> int:
    import chainrule as cr
    from chainrule.data.image_preprocessing import is_image_preprocessing

    model, meta = load_model(args.model, args.import_from)
    if is_image_preprocessing(meta["preprocessing"]):
        X, truth = _images(args, meta)
        labels, values = outputs(model, X, meta, path=args.csv)
    else:
        truth = None
        args.csv = one_csv([args.csv], args.model, meta)
        target = args.target or meta.get("target")
        X, data, pre = features_of(
            args.csv,
            meta,
            args.model,
            target=target,
            decimal=args.decimal,
            encoding=args.encoding,
            drop_missing_target=args.drop_missing_target,
        )
        labels, values = outputs(model, X, meta, pre, data.lines, args.csv)
    rows = [["examples", len(X)]]
    if labels is None:
        truth = np.asarray(data.y, dtype=np.float64).reshape(len(X), -1)
        rows += [
            ["mse", cr.metrics.mse(truth, values)],
            ["mae", cr.metrics.mae(truth, values)],
        ]
        # r2 compares with the rows' own spread: one row has none (its 0 read as a failure;
        # scikit-learn gives NaN)
        rows.append(["r2", cr.metrics.r2(truth, values) if len(X) > 1 else "n/a (one row)"])
    else:
        classes = meta.get("classes")
        if truth is None:
            truth = class_indices(data, classes, args.csv)
        rows.append(["accuracy", cr.metrics.accuracy(truth, labels)])
        average = "binary" if len(classes) == 2 else "macro"
        # binary scores are those of the second class: name it ('pass' of fail/pass)
        shown = f"class {classes[1]!r}" if average == "binary" else average
        for name in ("precision", "recall", "f1"):
            rows.append(
                [f"{name} ({shown})", getattr(cr.metrics, name)(truth, labels, average=average)]
            )
        if average == "binary":
            _undefined_note(np.asarray(truth).reshape(-1), np.asarray(labels).reshape(-1), classes)
    heading(f"Evaluation of {args.model} on {args.csv}")
    if labels is None:
        print("(on the target's own scale)")
    table("", ["metric", "value"], rows)
    return 0


def _undefined_note(truth, labels, classes) -> None:
    """Say when precision, recall or f1 is 0/0 (no row of the class, or none predicted as
    it): the table shows 0 there, as scikit-learn does, which reads as a model that failed."""
    import sys

    absent, unpredicted = not (truth == 1).any(), not (labels == 1).any()
    undefined = [name for name, zero in (("precision", unpredicted), ("recall", absent)) if zero]
    if absent and unpredicted:
        undefined.append("f1")
    if undefined:
        positive = repr(classes[1])
        why = [f"the file holds no row of class {positive}"] if absent else []
        if unpredicted:
            why.append(f"the model predicts {'it' if absent else 'class ' + positive} for no row")
        print(
            f"note: {' and '.join(why)}: {', '.join(undefined)} "
            f"{'is' if len(undefined) == 1 else 'are'} 0/0, shown as 0",
            file=sys.stderr,
        )


def _images(args, meta: dict):
    """A folder of class subfolders read with the model's saved image preprocessing."""
    from chainrule.cli.errors import CLIError
    from chainrule.cli.image_data import labelled_folder
    from chainrule.io.schema import check_training_metadata

    if args.drop_missing_target:
        raise CLIError("--drop-missing-target is for CSV files; leave it out for images")
    if args.target:
        raise CLIError(
            "--target is for CSV files; for a model of images the labels are the subfolder names"
        )
    pre = check_training_metadata(meta, args.model)
    classes = list(map(str, meta["classes"]))
    return labelled_folder(pre, args.csv, classes, args.skip_bad_images)
