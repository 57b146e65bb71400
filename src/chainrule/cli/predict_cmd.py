"""``chainrule predict``: a saved model applied to new rows, its preprocessing included."""

from __future__ import annotations

import csv
import io
import sys

from chainrule.cli.model_cmds import features_of, load_model, outputs

HELP = "Predict with a saved model; the model's own preprocessing is applied."
EXAMPLES = """
chainrule predict model.safetensors new.csv
chainrule predict model.safetensors new.csv --out predictions.csv
"""


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by 'chainrule train'")
    parser.add_argument("csv", help="CSV file with the model's feature columns (by name)")
    parser.add_argument("--out", help="write predictions to this CSV (default: print them)")


def run(args) -> int:
    from chainrule.io.atomic import atomic_write

    model, meta = load_model(args.model)
    X, _ = features_of(args.csv, meta, args.model)
    labels, values = outputs(model, X, meta)
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
