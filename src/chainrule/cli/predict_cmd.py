"""``chainrule predict``: a saved model applied to new rows, its preprocessing included."""

from __future__ import annotations

import csv
import io
import sys

from chainrule.cli.model_cmds import add_decimal_argument, features_of, load_model, outputs

HELP = "Predict with a saved model; the model's own preprocessing is applied."
EXAMPLES = """
chainrule predict model.safetensors new.csv
chainrule predict model.safetensors new.csv --out predictions.csv
"""


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by 'chainrule train'")
    parser.add_argument(
        "csv", help="CSV file with the model's feature columns (by name; extra columns ignored)"
    )
    parser.add_argument("--out", help="write predictions to this CSV (default: print them)")
    parser.add_argument(
        "--proba",
        action="store_true",
        help="classification: add one probability column per class, headed by its name",
    )
    add_decimal_argument(parser)


def run(args) -> int:
    from chainrule.cli.paths import make_parent, output_file
    from chainrule.io.atomic import atomic_write

    if args.out:
        args.out = output_file(
            args.out, default_name="predictions.csv", inputs=(args.model, args.csv)
        )
    model, meta = load_model(args.model)
    if args.proba and meta.get("task") == "regression":  # said, not silently dropped
        print(f"note: --proba is for classes; {args.model} predicts a number", file=sys.stderr)
    X, data, pre = features_of(args.csv, meta, args.model, decimal=args.decimal)
    labels, values = outputs(model, X, meta, pre, data.lines, args.csv)
    text = _csv_text(meta, labels, values, args.proba)
    if args.out:
        atomic_write(make_parent(args.out), text.encode("utf-8"))
        print(f"{len(X)} predictions written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _csv_text(meta: dict, labels, values, proba: bool) -> str:
    """The header and the rows, always the same number of columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    target = meta.get("target") or "target"
    if labels is None:
        writer.writerow([f"predicted_{target}"])
        for row in values:
            writer.writerow([repr(float(row[0]))])
        return buffer.getvalue()
    classes = meta.get("classes") or [str(i) for i in range(values.shape[1])]
    writer.writerow([f"predicted_{target}"] + (list(classes) if proba else []))
    for label, row in zip(labels, values):
        writer.writerow([classes[label]] + ([f"{p:.6f}" for p in row] if proba else []))
    return buffer.getvalue()
