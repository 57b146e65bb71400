"""``chainrule evaluate``: a saved model scored on a labelled CSV file."""

from __future__ import annotations

import numpy as np

from chainrule.cli.model_cmds import (
    add_decimal_argument,
    class_indices,
    features_of,
    load_model,
    outputs,
)
from chainrule.cli.output import heading, table

HELP = "Score a saved model on a labelled CSV file."
EXAMPLES = "chainrule evaluate model.safetensors test.csv --target species"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by 'chainrule train'")
    parser.add_argument("csv", help="CSV file with the feature columns and the labels")
    parser.add_argument("--target", help="label column (default: the one used in training)")
    add_decimal_argument(parser)


def run(args) -> int:
    import chainrule as cr

    model, meta = load_model(args.model)
    target = args.target or meta.get("target")
    X, data, pre = features_of(args.csv, meta, args.model, target=target, decimal=args.decimal)
    labels, values = outputs(model, X, meta, pre, data.lines, args.csv)
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
        truth = class_indices(data, classes, args.csv)
        rows.append(["accuracy", cr.metrics.accuracy(truth, labels)])
        average = "binary" if len(classes) == 2 else "macro"
        for name in ("precision", "recall", "f1"):
            rows.append(
                [f"{name} ({average})", getattr(cr.metrics, name)(truth, labels, average=average)]
            )
    heading(f"Evaluation of {args.model} on {args.csv}")
    if labels is None:
        print("(on the target's own scale)")
    table("", ["metric", "value"], rows)
    return 0
