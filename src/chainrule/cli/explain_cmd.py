"""``chainrule explain``: the chain-rule report for a built-in example or a saved model."""

from __future__ import annotations

import os

import numpy as np

from chainrule.cli.common import nonnegative_int, positive_float, positive_int
from chainrule.cli.custom_layers import add_import_argument
from chainrule.cli.errors import CLIError
from chainrule.cli.model_cmds import add_decimal_argument
from chainrule.cli.output import literal
from chainrule.cli.report_text import show
from chainrule.cli.train_flags import add_drop_missing_target_argument

HELP = "Write out the chain rule, with the real numbers, for one example."
DEFAULT_LR = 0.1  # the plain step's learning rate where neither --lr nor a saved optimizer says
EXAMPLES = """
chainrule explain --example seed
chainrule explain --example mazur --format md --out mazur.md
chainrule explain model.safetensors --data data.csv --row 3 --param "0.weight[0, 1]"
chainrule explain model.safetensors --data data.csv --line 12
chainrule explain model.safetensors --data new_rows.csv --row 0   # no target column: the prediction
"""


def add_arguments(parser) -> None:
    parser.add_argument(
        "model", nargs="?", help="a model saved by 'chainrule train' (or use --example)"
    )
    parser.add_argument(
        "--example", choices=("seed", "mazur", "scalar"), help="a built-in worked example"
    )
    parser.add_argument(
        "--data",
        help="CSV holding the example to explain (a model of images: a folder of class "
        "subfolders, or an image in a folder named after its class)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--row",
        type=nonnegative_int,
        default=0,
        help="0-based data row of --data (images: in file order, class by class)",
    )
    which.add_argument(
        "--line",
        type=positive_int,
        help="the row that starts on this line of the --data CSV (the 'line' column that "
        "'chainrule predict' writes)",
    )
    parser.add_argument(
        "--prediction",
        action="store_true",
        help="explain the model's prediction (the predicted class's score, or the output for "
        "regression) instead of the loss; the default for a CSV without the target column",
    )
    add_drop_missing_target_argument(parser)
    parser.add_argument("--param", help='parameter element to spell out, e.g. "0.weight[1, 0]"')
    parser.add_argument(
        "--lr",
        type=positive_float,
        help="show one plain gradient-descent step with this learning rate (default: the next "
        "step of the optimizer saved with the model; a step with lr 0.1 where the file keeps "
        "none)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "md", "html", "json", "dot"),
        default="text",
        help="report format",
    )
    parser.add_argument("--out", help="write the report to this file (default: print it)")
    add_decimal_argument(parser)
    add_import_argument(parser)


def _report_for_model(args):
    import chainrule as cr
    from chainrule.cli.model_cmds import load_model as _load
    from chainrule.cli.training_data import choose_loss, encode_targets

    if not args.data:
        raise CLIError("explaining a saved model needs --data CSV (and --row N) for the example")
    model, meta = _load(args.model, args.import_from)
    classes = meta.get("classes")
    image = _image_example(args, meta)
    if image is not None:  # a model trained on a folder of images
        X, y, pre = image
        y = None if args.prediction else y
        if args.line is not None:
            raise CLIError("--line is for a CSV's rows; for images give --row N (in file order)")
    else:
        X, data, pre = _csv_rows(args, meta)
        y = None if args.prediction else data.y
        if args.line is not None:
            args.row = _row_of_line(args, data.lines)
    if args.row >= len(X):
        raise CLIError(f"{args.data}: --row {args.row} is out of range (it has {len(X)} rows)")
    if classes is not None and image is None and y is not None:
        names = data.class_names or [str(c) for c in np.unique(y)]
        lookup = {name: i for i, name in enumerate(classes)}
        y = np.array([lookup.get(names[int(i)], -1) for i in y])
        if y[args.row] < 0:
            raise CLIError(f"{args.data}: the label of row {args.row} was not seen in training")
    if y is None:  # no target: the prediction itself is explained
        _prediction_note(meta, pre)
        loss_fn = target = None
    else:
        loss, loss_fn, _ = choose_loss(
            meta.get("loss", "auto"), meta.get("task"), len(classes or [])
        )
        target = encode_targets(y[args.row : args.row + 1], loss, classes, pre)
        _target_note(meta, classes, pre, y[args.row], target)
    if image is None:
        _inputs_note(pre, data.X[args.row], X[args.row])
    optimizer = _saved_optimizer(args, model, meta)
    return cr.explain(
        model,
        X[args.row : args.row + 1],
        target,
        loss_fn,
        lr=None if optimizer is not None else (args.lr or DEFAULT_LR),
        optimizer=optimizer,
        param=args.param,
        class_names=classes,
    )


def _csv_rows(args, meta: dict):
    """``(X, data, preprocessor)`` of the --data CSV, with its targets where it has them; a CSV
    without the target column (rows to predict) gives ``args.prediction = True`` and a note."""
    from chainrule.cli.model_cmds import features_of

    def read(target):
        return features_of(
            args.data,
            meta,
            args.model,
            target=target,
            decimal=args.decimal,
            encoding=args.encoding,
            drop_missing_target=target is not None and args.drop_missing_target,
        )

    if args.prediction or meta.get("target") is None:
        args.prediction = True
        return read(None)
    try:
        return read(meta.get("target"))
    except CLIError as labelled_error:
        try:
            rows = read(None)
        except CLIError:
            raise labelled_error from None
        if _has_column(args.data, rows[1], meta["target"], args.encoding):
            # a target value the model cannot compare with (missing, or a class it never saw):
            # said, not explained away as "no target column" with a prediction instead
            raise CLIError(
                f"{labelled_error}; or pass --prediction to explain the prediction alone"
            ) from None
    import sys

    print(
        f"note: {args.data} has no target column {meta['target']!r}, so the report explains "
        f"the model's prediction for the row instead of a loss",
        file=sys.stderr,
    )
    args.prediction = True
    return rows


def _has_column(path: str, data, name: str, encoding) -> bool:
    """Whether the --data file's header names the column ``name``."""
    from chainrule.data.reader import first_row_names

    delimiter = data.dialect["delimiter"]
    return first_row_names(path, delimiter, [name], delimiter, encoding)


def _prediction_note(meta: dict, pre) -> None:
    """Say on stderr what E is in the user's terms when the prediction is explained."""
    import sys

    classes, name = meta.get("classes"), meta.get("target") or "the target"
    if classes is not None and len(classes) > 2:
        what = f"the score (logit) of the class of {name!r} the model predicts for this row"
    elif classes is not None:
        what = f"the model's one output, the logit of class {classes[-1]!r} of {name!r}"
    else:
        what = f"the model's output, the prediction of {name!r}"
        if getattr(pre, "target_std", None):
            mean = f"{pre.target_mean:.6g}"
            what += (
                f" on its standardised scale (the prediction is {mean} + {pre.target_std:.6g}·E)"
            )
    print(f"note: E in the report is {what}, not a loss", file=sys.stderr)


def _row_of_line(args, lines) -> int:
    """The index of the data row that starts on line ``args.line`` of the CSV."""
    lines = [int(line) for line in lines]
    if args.line in lines:
        return lines.index(args.line)
    before = [line for line in lines if line < args.line]
    after = [line for line in lines if line > args.line]
    near = ", ".join(str(line) for line in (before[-1:] + after[:1])) or "none"
    raise CLIError(
        f"{args.data}: line {args.line} starts no data row (a header, blank, comment or "
        f"repeated-header line, or past the end; data rows nearest it start on lines {near}); "
        f"give a line from the 'line' column of 'chainrule predict'"
    )


def _image_example(args, meta: dict):
    """``(X, class indices, preprocessor)`` of a folder of class subfolders, or of one image
    (its class from its folder's name; None where that names no class); None for a model of
    table rows."""
    from chainrule.cli.image_data import labelled_folder, read_images
    from chainrule.data.image_preprocessing import is_image_preprocessing
    from chainrule.io.schema import check_training_metadata

    if not is_image_preprocessing(meta["preprocessing"]):
        return None
    pre = check_training_metadata(meta, args.model)
    classes = [str(c) for c in meta["classes"]]
    if os.path.isdir(args.data):
        X, y = labelled_folder(pre, args.data, classes, flag=False)
        return X, y, pre
    label = os.path.basename(os.path.dirname(os.path.abspath(args.data)))
    X, _ = read_images(pre, [args.data], flag=False)
    if label in classes:
        return X, np.array([classes.index(label)]), pre
    import sys

    print(
        f"note: {args.data} is in no folder named after a class (its folder {label!r} is not "
        f"one of {', '.join(classes[:4])}), so the report explains the model's prediction "
        f"for it instead of a loss",
        file=sys.stderr,
    )
    return X, None, pre


def _saved_optimizer(args, model, meta: dict):
    """The optimizer saved with the model, with its state, for the update section; None (and
    a note on stderr saying why the step shown is plain gradient descent) where there is none,
    its state was too large to keep, or ``--lr`` asks for a plain step."""
    import sys

    from chainrule.explain.numbers.optimizer import describe
    from chainrule.io import optimizer_state

    entry = optimizer_state.read_entry(args.model)
    lr = args.lr or DEFAULT_LR
    plain = f"one plain gradient-descent step, w − {lr:g}·∂E/∂w"
    if entry is None:  # saved before files kept the optimizer, or not by 'chainrule train'
        _update_note(meta, plain)
        return None
    optimizer = optimizer_state.build(entry, model, args.model)
    if entry.get("state_left_out"):
        print(
            f"note: the update section shows {plain} (--lr); this model was trained with "
            f"{describe(optimizer)}, whose state ({entry['state_left_out']:,} values) was too "
            f"large to keep in the model file, so its next step cannot be shown",
            file=sys.stderr,
        )
        return None
    if args.lr is not None:
        print(
            f"note: the update section shows {plain} (--lr); leave out --lr to see the next "
            f"step of the optimizer saved with the model, {describe(optimizer)}",
            file=sys.stderr,
        )
        return None
    return optimizer


def _update_note(meta: dict, plain: str) -> None:
    """Say on stderr that the report's update is ``plain``: the command's optimizers (Adam,
    SGD with momentum 0.9, ...) took other steps in training, and this file does not keep
    their state."""
    import sys

    training = meta.get("training") or {}
    optimizer = training.get("optimizer")
    used = training.get("lr_used", training.get("lr"))
    if optimizer is None:  # not saved by 'chainrule train'
        return
    trained = optimizer + (f", lr {used:g}" if isinstance(used, (int, float)) else "")
    if optimizer == "sgd":
        trained += " and momentum 0.9"
    print(
        f"note: the update section shows {plain} (--lr); this model was trained with "
        f"{trained}, whose steps differ, and the file (saved by an older chainrule) keeps no "
        f"optimizer state to show them",
        file=sys.stderr,
    )


def _inputs_note(pre, raw, x, shown: int = 12) -> None:
    """Say on stderr which column each input x[k] of the report is and how it was computed
    from the row: the report shows x[0] = -1.839 where the CSV says income 574,4."""
    import sys

    names, lines = pre.feature_names, []
    # which (column, category) each one-hot input is (not standardised), from the specs:
    # splitting its name at '=' misread a column named 'kind=2'
    one_hot = [
        (spec["name"], category) if spec["kind"] == "categorical" else None
        for spec in pre.columns or []
        for category in (spec["categories"] if spec["kind"] == "categorical" else [None])
    ]
    for k, name in enumerate(names[:shown]):
        mean, std = (0.0, 1.0) if pre.mean is None else (float(pre.mean[k]), float(pre.std[k]))
        value = float(raw[k])
        if k < len(one_hot) and one_hot[k] is not None and (mean, std) == (0.0, 1.0):
            column, category = one_hot[k]
            label = literal(name)  # a category may hold a line break ('New\nYork')
            lines.append(f"  x[{k}] = {value:g}: {label} (1 where {column!r} is {category!r})")
        else:
            shift = f"({mean:.6g})" if mean < 0 else f"{mean:.6g}"
            lines.append(
                f"  x[{k}] = ({value:.6g} − {shift}) / {std:.6g} = {float(x[k]):.6g}: {name!r}"
            )
    more = f"\n  … and {len(names) - shown} more (chainrule info lists them)"
    print(
        "note: the inputs x are this row's columns as the network sees them: numbers "
        "standardised with the training statistics (x = (value − mean) / std), categories "
        "one-hot:\n" + "\n".join(lines) + (more if len(names) > shown else ""),
        file=sys.stderr,
    )


def _target_note(meta: dict, classes, pre, raw, target) -> None:
    """Say on stderr what the report's target t is in the user's terms: the report shows the
    network's view (a class index, a standardised value), not the CSV's."""
    import sys

    name = meta.get("target")
    if classes is not None:
        index = int(raw)
        note = f"the target t = {index} is class {classes[index]!r} of {name!r}"
    elif getattr(pre, "target_std", None):
        t = float(np.asarray(target).reshape(-1)[0])
        mean = f"{pre.target_mean:.6g}"
        mean = f"({mean})" if pre.target_mean < 0 else mean  # not "x − -3.5"
        note = (
            f"{name!r} is standardised as in training: t = ({float(raw):.6g} − "
            f"{mean}) / {pre.target_std:.6g} = {t:.6g}; the output and the "
            f"loss are on that scale"
        )
    else:
        return
    print(f"note: {note}", file=sys.stderr)


def run(args) -> int:
    from chainrule.explain import examples

    if args.example and args.model:
        raise CLIError("give either --example NAME or a model file, not both")
    if args.out:  # checked before any work; never the model or the CSV being read
        from chainrule.cli.paths import output_file

        args.out = output_file(args.out, inputs=(args.model, args.data))
    if args.example:
        report = getattr(examples, args.example)()
    elif args.model:
        report = _report_for_model(args)
    else:
        raise CLIError("say what to explain: --example seed|mazur|scalar, or a model file")
    rendered = {
        "text": lambda: str(report),
        "md": report.markdown,
        "html": report.html,
        "json": report.json,
        "dot": report.dot,
    }[args.format]
    if args.out:
        from chainrule.cli.paths import make_parent
        from chainrule.io.atomic import atomic_write

        atomic_write(make_parent(args.out), rendered().encode("utf-8"))
        print(f"report written to {args.out}")
    elif args.format == "text":
        show(report)
    else:
        print(rendered())
    return 0
