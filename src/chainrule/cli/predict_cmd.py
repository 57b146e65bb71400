"""``chainrule predict``: a saved model applied to new rows, its preprocessing included."""

from __future__ import annotations

import csv
import io
import sys

from chainrule.cli.custom_layers import add_import_argument
from chainrule.cli.model_cmds import (
    add_decimal_argument,
    add_skip_bad_images_argument,
    features_of,
    load_model,
    one_csv,
    outputs,
)

HELP = "Predict with a saved model; the model's own preprocessing is applied."
EXAMPLES = """
chainrule predict model.safetensors new.csv
chainrule predict model.safetensors new.csv --out predictions.csv
chainrule predict pets.safetensors photo.png more_photos/ --proba   # a model of images
"""


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by 'chainrule train'")
    parser.add_argument(
        "csv",
        nargs="+",
        metavar="DATA",
        help="CSV file with the model's feature columns (by name; extra columns ignored); for a "
        "model trained on images: image files and folders of them",
    )
    parser.add_argument(
        "--out",
        help="write predictions to this CSV (default: print them); its first column, line, is "
        "the line of DATA each row comes from (file, for images)",
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="classification: add one probability column per class, headed by its name",
    )
    parser.add_argument(
        "--out-decimal",
        choices=(".", ","),
        default=".",
        help="the decimal mark of the predictions: ',' writes ';' between cells and decimal "
        "commas, as spreadsheets read CSV where the decimal mark is a comma",
    )
    add_decimal_argument(parser)
    add_skip_bad_images_argument(parser)
    add_import_argument(parser)


def run(args) -> int:
    from chainrule.cli.paths import output_file
    from chainrule.data.image_preprocessing import is_image_preprocessing

    if args.out:
        args.out = output_file(
            args.out, default_name="predictions.csv", inputs=(args.model, *args.csv)
        )
    model, meta = load_model(args.model, args.import_from)
    if is_image_preprocessing(meta["preprocessing"]):
        return _predict_images(args, model, meta)
    args.csv = one_csv(args.csv, args.model, meta)
    if args.proba and meta.get("task") == "regression":  # said, not silently dropped
        print(f"note: --proba is for classes; {args.model} predicts a number", file=sys.stderr)
    X, data, pre = features_of(
        args.csv, meta, args.model, decimal=args.decimal, encoding=args.encoding
    )
    labels, values = outputs(model, X, meta, pre, data.lines, args.csv)
    lines = [int(line) for line in data.lines]
    numbers = labels is None or args.proba  # a label alone reads the same either way
    if numbers and data.dialect["decimal"] == "," and args.out_decimal != ",":
        print(
            f"note: {args.csv} writes decimal commas; the predictions are written with '.' "
            f"and ',' between cells (--out-decimal , writes ';' and decimal commas, as "
            f"spreadsheets read them there)",
            file=sys.stderr,
        )
    text = _csv_text(meta, labels, values, args.proba, ("line", lines), **_out_dialect(args))
    _write(args, text, len(X))
    return 0


def _predict_images(args, model, meta: dict) -> int:
    """One row per image file, headed by its path: a folder stands for every image in it."""
    from chainrule.cli.image_data import image_files, read_images
    from chainrule.io.schema import check_training_metadata

    pre = check_training_metadata(meta, args.model)
    notes: list[str] = []
    files = image_files(args.csv, pre.describe(), notes)
    X, files = read_images(pre, files, args.skip_bad_images, notes=notes)
    labels, values = outputs(model, X, meta)
    text = _csv_text(meta, labels, values, args.proba, ("file", files), **_out_dialect(args))
    _write(args, text, len(X))
    return 0


def _out_dialect(args) -> dict:
    """How the predictions are written: ',' and '.', or ';' and decimal commas."""
    return {"delimiter": ";", "decimal": ","} if args.out_decimal == "," else {}


def _write(args, text: str, count: int) -> None:
    from chainrule.cli.paths import make_parent
    from chainrule.io.atomic import atomic_write

    if args.out:
        atomic_write(make_parent(args.out), text.encode("utf-8"))
        print(f"{count} predictions written to {args.out}")
    else:
        sys.stdout.write(text)


def _csv_text(
    meta: dict, labels, values, proba: bool, lead: tuple, delimiter=",", decimal="."
) -> str:
    """The header and the rows, always the same number of columns. The first column says
    which input each row is about: ``("line", numbers)``, the line of the CSV file the row
    starts on (skipped blank, comment and repeated-header lines leave gaps, so predictions
    join back to their rows), or ``("file", paths)`` for images. Cells are separated and
    numbers written as the input file does (``;`` and ``0,25`` for a decimal-comma export)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    number = (lambda text: text) if decimal == "." else (lambda text: text.replace(".", decimal))
    target = meta.get("target") or "target"
    name, keys = lead
    if labels is None:
        writer.writerow([name, f"predicted_{target}"])
        for key, row in zip(keys, values):
            writer.writerow([key, number(repr(float(row[0])))])
        return buffer.getvalue()
    classes = meta.get("classes") or [str(i) for i in range(values.shape[1])]
    writer.writerow([name, f"predicted_{target}"] + (list(classes) if proba else []))
    for key, label, row in zip(keys, labels, values):
        probs = [number(f"{p:.6f}") for p in row] if proba else []
        writer.writerow([key, classes[label]] + probs)
    return buffer.getvalue()
