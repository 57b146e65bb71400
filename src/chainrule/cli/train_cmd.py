"""``chainrule train``: a CSV file (or a built-in dataset) in, a trained model file out."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

from chainrule.cli.common import ACTIVATIONS, fraction, positive_float, positive_int
from chainrule.cli.errors import CLIError
from chainrule.cli.output import heading, table

HELP = "Train a network on a CSV file (or a built-in dataset) and save it."
EXAMPLES = """
chainrule train data.csv --target species --layers 64,32 --epochs 50
chainrule train --dataset moons --layers 16,16 --activation tanh --out moons.safetensors
chainrule train data.csv --target price --loss mse --optimizer adam --lr 1e-3
chainrule train --config run.toml --epochs 10   # flags override the file
chainrule train data.csv --target y --checkpoint-dir ckpt --resume
"""


def add_arguments(parser) -> None:
    parser.add_argument("csv", nargs="?", help="CSV file with a header row (or use --dataset)")
    data = parser.add_argument_group("data")
    data.add_argument("--target", help="name of the column to predict")
    data.add_argument("--features", help="comma-separated feature columns (default: all others)")
    data.add_argument("--dataset", help="a built-in dataset instead of a CSV (e.g. moons)")
    data.add_argument("--impute", choices=("mean",), help="fill missing numeric cells")
    data.add_argument("--config", help="TOML file with the same options (flags override it)")
    model = parser.add_argument_group("model and training")
    model.add_argument("--layers", default="32", help="hidden layer sizes, e.g. 64,32")
    model.add_argument(
        "--activation", choices=ACTIVATIONS, default="relu", help="hidden activation"
    )
    model.add_argument(
        "--loss",
        choices=("auto", "mse", "bce", "ce"),
        default="auto",
        help="auto: bce for two classes, ce for more, mse for regression",
    )
    model.add_argument(
        "--optimizer",
        choices=("sgd", "adam", "adamw", "rmsprop"),
        default="adam",
        help="the optimizer (sgd: momentum 0.9)",
    )
    model.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="learning rate (default: 0.01 for adam/adamw/rmsprop, 0.1 for sgd)",
    )
    model.add_argument("--batch-size", type=positive_int, default=32, help="examples per step")
    model.add_argument("--epochs", type=positive_int, default=50, help="passes over the data")
    model.add_argument(
        "--validation-split",
        type=fraction,
        default=0.2,
        help="share of rows held out to validate",
    )
    model.add_argument(
        "--early-stopping",
        type=positive_int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    model.add_argument("--seed", type=int, default=0, help="seed for weights, split, shuffling")
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="model.safetensors", help="where to save the model")
    out.add_argument("--plots", default=None, help="folder for plots (default: beside --out)")
    out.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    out.add_argument("--report", help="write a self-contained HTML report of the run here")
    out.add_argument("--checkpoint-dir", help="save a resumable checkpoint after every epoch")
    out.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")


# Options that define a run: resuming with any of them changed is refused.
_RUN_OPTIONS = (
    "csv",
    "target",
    "features",
    "dataset",
    "layers",
    "activation",
    "loss",
    "optimizer",
    "lr",
    "batch_size",
    "validation_split",
    "early_stopping",
    "seed",
    "impute",
)


def parse_layers(text) -> list[int]:
    text = str(text).strip()
    if not text:
        return []
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise CLIError(
            f"--layers must be comma-separated integers like 64,32, got {text!r}"
        ) from None
    if any(n <= 0 or n > 1_000_000 for n in sizes):
        raise CLIError(f"--layers sizes must be between 1 and 1000000, got {text!r}")
    return sizes


def load_training_data(args):
    """Features, targets and the (unfitted) preprocessing for the requested data."""
    from chainrule.data import Preprocessor, load_csv
    from chainrule.data import datasets as builtin

    if args.dataset and args.csv:
        raise CLIError("give either a CSV file or --dataset, not both")
    if args.dataset:
        X, y = builtin.load(args.dataset)
        names = [f"x{i + 1}" for i in range(X.shape[1])]
        task = (
            "regression"
            if y.dtype.kind == "f"
            else ("binary" if len(np.unique(y)) == 2 else "multiclass")
        )
        classes = None if task == "regression" else [str(c) for c in np.unique(y)]
        source = {"dataset": args.dataset}
        digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
        pre = Preprocessor(feature_names=names)
        return X, y, task, classes, pre, names, "target", source, digest, names
    if not args.csv:
        raise CLIError(
            "give a CSV file (chainrule train data.csv --target COLUMN) or --dataset NAME"
        )
    if not args.target:
        raise CLIError(f"{args.csv}: say which column to predict with --target COLUMN")
    features = [f.strip() for f in args.features.split(",")] if args.features else None
    data = load_csv(args.csv, target=args.target, features=features, impute=args.impute)
    with open(args.csv, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    source = {"csv": os.path.basename(args.csv)}
    return (
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
    )


def choose_loss(requested: str, task: str, n_classes: int | None):
    """The loss module and the number of outputs for the task (``--loss auto`` decides)."""
    from chainrule import nn

    loss = requested
    if loss == "auto":
        loss = {"binary": "bce", "multiclass": "ce", "regression": "mse"}[task]
    if loss == "bce" and task != "binary":
        raise CLIError(f"--loss bce needs a target with two classes; this target is {task}")
    if loss == "ce" and task == "regression":
        raise CLIError("--loss ce needs class labels; this target is numeric (use --loss mse)")
    if loss == "bce":
        return loss, nn.BCEWithLogitsLoss(), 1
    if loss == "ce":
        return loss, nn.CrossEntropyLoss(), n_classes
    return loss, nn.MSELoss(), 1


def encode_targets(y, loss: str, classes):
    """Targets in the form the loss wants: floats (N, 1) for BCE/MSE, class indices for CE."""
    if classes is not None and y.dtype.kind not in "iu":
        raise CLIError("internal: class targets must be integer indices")
    if loss == "ce":
        return y.astype(np.int64)
    return y.reshape(-1, 1).astype(np.float32)


def make_optimizer(name: str, params, lr):
    from chainrule import optim

    if lr is None:
        lr = 0.1 if name == "sgd" else 0.01
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    return optim.RMSprop(params, lr=lr)


def run_config(args) -> dict:
    return {k: getattr(args, k) for k in _RUN_OPTIONS}


def prepare_checkpoint_dir(args, config: dict, data_hash: str):
    """The callback that backs the run up after every epoch (and restores it on --resume).

    ``run.json`` beside the backup records the run's options and data hash, so resuming with
    other options or other data is refused instead of silently mixing two runs.
    """
    from chainrule.io.atomic import atomic_write
    from chainrule.train.callbacks import BackupAndRestore

    folder = args.checkpoint_dir
    backup = os.path.join(folder, "backup.safetensors")
    run_file = os.path.join(folder, "run.json")
    run = {"config": config, "config_sha256": _digest(config), "data_sha256": data_hash}
    if args.resume:
        if not os.path.exists(backup) or not os.path.exists(run_file):
            raise CLIError(f"--resume: {folder} holds no checkpoint of an earlier run")
        with open(run_file, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("data_sha256") != data_hash:
            raise CLIError(
                f"--resume: {folder} was trained on different data; resume with the same "
                f"file, or start a new run in another --checkpoint-dir"
            )
        if saved.get("config_sha256") != run["config_sha256"]:
            changed = sorted(k for k in config if saved.get("config", {}).get(k) != config[k])
            raise CLIError(
                f"--resume: the run in {folder} used a different config ({', '.join(changed)} "
                f"changed); use the same options, or start a new run in another folder"
            )
    os.makedirs(folder, exist_ok=True)
    atomic_write(run_file, json.dumps(run, indent=1, sort_keys=True).encode("utf-8"))
    return BackupAndRestore(backup, resume=args.resume)


def reproducibility_info(seed: int) -> dict:
    """Seed, NumPy version and the BLAS NumPy was built with: what bit-identical reruns need."""
    info = {"seed": seed, "numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = {k: str(blas.get(k)) for k in ("name", "version") if k in blas}
    except Exception:  # show_config's layout is not a stable API; the record is best effort
        info["blas"] = "unknown"
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        info["openblas_coretype"] = coretype
    return info


def _digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def run(args) -> int:
    import chainrule as cr

    if args.config:
        from chainrule.cli.config import apply_config

        args = apply_config("train", args.argv, args.config)
    if args.resume and not args.checkpoint_dir:
        raise CLIError("--resume needs --checkpoint-dir (the folder of the run to continue)")
    hidden = parse_layers(args.layers)
    started = time.perf_counter()
    run = _prepare(args)
    run.model = _build_model(args, run, hidden)
    heading(
        f"Training {run.task} model on {len(run.X_train)} examples "
        f"({run.X_train.shape[1]} features after preprocessing)"
    )
    print(run.model)
    run.history = cr.fit(
        run.model,
        (run.X_train, run.y_train_enc),
        run.loss_fn,
        run.optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=run.validation,
        metrics=("accuracy",) if run.task != "regression" else ("mae", "r2"),
        callbacks=run.callbacks,
        generator=cr.Generator(args.seed),
    )
    elapsed = time.perf_counter() - started
    _save(args, run)
    _summary(args, run, elapsed)
    if not args.no_plots:
        _plots(args, run)
    return 0


class _Run:
    """What one training run carries from one phase to the next."""


def _prepare(args) -> _Run:
    """Load the data, choose the loss, split, fit the preprocessing on the training rows."""
    from chainrule.data import train_test_split

    run = _Run()
    (X, y, run.task, run.classes, run.preprocessor, run.feature_names, run.target_name) = (
        loaded := load_training_data(args)
    )[:7]
    run.source, run.data_hash, run.columns = loaded[7:]
    if run.task != "regression" and len(np.unique(y)) < 2:
        raise CLIError(f"the target {run.target_name!r} has only one class; nothing to learn")
    run.loss_name, run.loss_fn, run.outputs = choose_loss(
        args.loss, run.task, len(run.classes or [])
    )
    if args.validation_split > 0:
        X_train, X_val, y_train, y_val = train_test_split(
            X,
            y,
            test_size=args.validation_split,
            seed=args.seed,
            stratify=y if run.task != "regression" else None,
        )
    else:
        X_train, y_train, X_val, y_val = X, y, None, None
    run.preprocessor.fit(X_train)
    run.X_train = run.preprocessor.transform(X_train)
    run.y_train, run.y_val = y_train, y_val
    run.validation = None
    if X_val is not None:
        run.validation = (
            run.preprocessor.transform(X_val),
            encode_targets(y_val, run.loss_name, run.classes),
        )
    run.y_train_enc = encode_targets(y_train, run.loss_name, run.classes)
    run.config = run_config(args)
    return run


def _build_model(args, run: _Run, hidden: list[int]):
    import chainrule as cr
    from chainrule import callbacks as cbs
    from chainrule.models import mlp

    cr.manual_seed(args.seed)
    model = mlp(run.X_train.shape[1], hidden, run.outputs, activation=args.activation)
    run.optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    run.callbacks, run.recorder = [], None
    if args.early_stopping:
        monitor = "val_loss" if run.validation is not None else "loss"
        run.callbacks.append(
            cbs.EarlyStopping(
                monitor=monitor, patience=args.early_stopping, restore_best_weights=True
            )
        )
    if args.report or args.checkpoint_dir:
        # Records boundary snapshots and gradient norms for the HTML report. With a checkpoint
        # folder it always runs (and is backed up), so `chainrule report DIR` works later and
        # BackupAndRestore finds the callbacks in the same positions on --resume.
        from chainrule.report import ReportRecorder

        run.recorder = ReportRecorder(run.X_train, run.y_train, loss=run.loss_name)
        run.callbacks.append(run.recorder)
    if args.checkpoint_dir:
        run.callbacks.append(prepare_checkpoint_dir(args, run.config, run.data_hash))
    return model


def _save(args, run: _Run) -> None:
    import chainrule as cr

    metadata = {
        "task": run.task,
        "target": run.target_name,
        "features": run.feature_names,
        "columns": run.columns,
        "classes": run.classes,
        "loss": run.loss_name,
        "preprocessing": run.preprocessor.to_dict(),
        "training": {**run.config, "epochs_run": len(run.history.history["loss"])},
        # What a rerun needs to get the same bits (wall time is left out on purpose: the same
        # seed must give a byte-identical file).
        "reproducibility": reproducibility_info(args.seed),
        "source": run.source,
        "data_sha256": run.data_hash,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    cr.save(run.model, args.out, metadata=metadata)
    if args.report:
        from chainrule.report import write_report

        write_report(
            args.report,
            model=run.model,
            history=run.history,
            config=run.config,
            X=run.X_train,
            y=run.y_train,
            snapshots=run.recorder.snapshots,
            grad_norms=run.recorder.grad_norms,
            explain_sample=(run.X_train[:1], run.y_train_enc[:1], run.loss_fn),
            loss=run.loss_name,
        )


def _summary(args, run: _Run, elapsed: float) -> None:
    logs = run.history.history
    best = int(np.argmin(logs["val_loss"] if "val_loss" in logs else logs["loss"]))
    rows = [
        ["epochs run", len(logs["loss"])],
        ["best epoch", best + 1],
        ["time (s)", round(elapsed, 2)],
    ]
    for key in sorted(logs):
        if key in ("lr", "time") or not logs[key]:
            continue
        rows.append([f"final {key}", float(logs[key][-1])])
    table("Summary", ["", "value"], rows)
    print(f"model saved: {args.out}")
    if args.report:
        print(f"report: {args.report}")


def _plots(args, run: _Run) -> None:
    import chainrule as cr

    out_dir = os.path.dirname(os.path.abspath(args.out))
    plots = args.plots or os.path.join(
        out_dir, os.path.splitext(os.path.basename(args.out))[0] + "-plots"
    )
    os.makedirs(plots, exist_ok=True)
    curve = os.path.join(plots, "loss.png")
    run.history.plot(curve)
    print(f"loss curves: {curve}")
    if run.task != "regression" and run.validation is not None:
        cm_path = os.path.join(plots, "confusion_matrix.png")
        predicted = cr.predict(run.model, run.validation[0])
        labels = _classes_from_output(predicted, run.loss_name)
        n = len(run.classes)
        cm = cr.metrics.confusion_matrix(run.y_val, labels, labels=list(range(n)))
        cr.plot.confusion_matrix(cm, run.classes, cm_path)
        print(f"confusion matrix: {cm_path}")


def _classes_from_output(output: np.ndarray, loss: str) -> np.ndarray:
    if loss == "ce":
        return output.argmax(axis=1)
    return (output.reshape(-1) > 0).astype(np.int64)
