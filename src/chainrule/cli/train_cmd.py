"""``chainrule train``: a CSV file (or a built-in dataset) in, a trained model file out."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

from chainrule.cli.errors import EXIT_DIVERGED, CLIError
from chainrule.cli.output import heading, table

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


def run_train(args, parser) -> int:
    import chainrule as cr
    from chainrule import callbacks as cbs
    from chainrule.data import train_test_split
    from chainrule.models import mlp

    if args.config:
        from chainrule.cli.config import apply_config

        args = apply_config(parser, "train", args.argv, args.config)
    if args.resume and not args.checkpoint_dir:
        raise CLIError("--resume needs --checkpoint-dir (the folder of the run to continue)")
    hidden = parse_layers(args.layers)
    started = time.perf_counter()
    (X, y, task, classes, preprocessor, feature_names, target_name, source, data_hash, columns) = (
        load_training_data(args)
    )
    if task != "regression" and len(np.unique(y)) < 2:
        raise CLIError(f"the target {target_name!r} has only one class; nothing to learn")
    loss_name, loss_fn, outputs = choose_loss(args.loss, task, len(classes or []))

    if args.validation_split > 0:
        X_train, X_val, y_train, y_val = train_test_split(
            X,
            y,
            test_size=args.validation_split,
            seed=args.seed,
            stratify=y if task != "regression" else None,
        )
    else:
        X_train, y_train, X_val, y_val = X, y, None, None
    preprocessor.fit(X_train)
    X_train = preprocessor.transform(X_train)
    validation = None
    if X_val is not None:
        validation = (preprocessor.transform(X_val), encode_targets(y_val, loss_name, classes))
    y_train_enc = encode_targets(y_train, loss_name, classes)

    cr.manual_seed(args.seed)
    model = mlp(X_train.shape[1], hidden, outputs, activation=args.activation)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    metrics = ("accuracy",) if task != "regression" else ("mae", "r2")
    callbacks = []
    if args.early_stopping:
        monitor = "val_loss" if validation is not None else "loss"
        callbacks.append(
            cbs.EarlyStopping(
                monitor=monitor, patience=args.early_stopping, restore_best_weights=True
            )
        )
    config = run_config(args)
    generator = cr.Generator(args.seed)
    recorder = None
    if args.report or args.checkpoint_dir:
        # Records boundary snapshots and gradient norms for the HTML report. With a checkpoint
        # folder it always runs (and is backed up), so `chainrule report DIR` works later and
        # BackupAndRestore finds the callbacks in the same positions on --resume.
        from chainrule.report import ReportRecorder

        recorder = ReportRecorder(X_train, y_train, loss=loss_name)
        callbacks.append(recorder)
    diagnosis = None
    if not getattr(args, "no_diagnose", False):
        # Last before the backup: its state is saved after its epoch's logs, and turning it
        # on or off between runs never shifts the other callbacks' resumed states.
        from chainrule.diagnose import Recorder

        folder = args.checkpoint_dir
        diagnosis = Recorder(path=os.path.join(folder, "diagnose.json") if folder else None)
        callbacks.append(diagnosis)
    if args.checkpoint_dir:
        callbacks.append(prepare_checkpoint_dir(args, config, data_hash))

    heading(
        f"Training {task} model on {len(X_train)} examples "
        f"({X_train.shape[1]} features after preprocessing)"
    )
    print(model)
    history = cr.fit(
        model,
        (X_train, y_train_enc),
        loss_fn,
        optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=validation,
        metrics=metrics,
        callbacks=callbacks,
        generator=generator,
    )
    elapsed = time.perf_counter() - started
    diverged = [f for f in history.findings if f.code in ("DIVERGED", "LOSS_ROSE")]
    if diverged:
        raise CLIError(f"{diverged[0].sentence} The model was not saved.", EXIT_DIVERGED)

    metadata = {
        "task": task,
        "target": target_name,
        "features": feature_names,
        "columns": columns,
        "classes": classes,
        "loss": loss_name,
        "preprocessing": preprocessor.to_dict(),
        "training": {
            **config,
            "epochs_run": len(history.history["loss"]),
        },
        # What a rerun needs to get the same bits (wall time is left out on purpose: the same
        # seed must give a byte-identical file).
        "reproducibility": reproducibility_info(args.seed),
        "source": source,
        "data_sha256": data_hash,
    }
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    cr.save(model, args.out, metadata=metadata)
    if args.report:
        from chainrule.report import write_report

        write_report(
            args.report,
            model=model,
            history=history,
            config=config,
            X=X_train,
            y=y_train,
            snapshots=recorder.snapshots,
            grad_norms=recorder.grad_norms,
            explain_sample=(X_train[:1], y_train_enc[:1], loss_fn),
            loss=loss_name,
            diagnosis=diagnosis,
        )

    logs = history.history
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
    if not args.no_plots:
        plots = args.plots or os.path.join(
            out_dir, os.path.splitext(os.path.basename(args.out))[0] + "-plots"
        )
        os.makedirs(plots, exist_ok=True)
        curve = os.path.join(plots, "loss.png")
        history.plot(curve)
        print(f"loss curves: {curve}")
        if task != "regression" and validation is not None:
            cm_path = os.path.join(plots, "confusion_matrix.png")
            predicted = cr.predict(model, validation[0])
            labels = _classes_from_output(predicted, loss_name)
            cm = cr.metrics.confusion_matrix(y_val, labels, labels=list(range(len(classes))))
            cr.plot.confusion_matrix(cm, classes, cm_path)
            print(f"confusion matrix: {cm_path}")
    return 0


def _classes_from_output(output: np.ndarray, loss: str) -> np.ndarray:
    if loss == "ce":
        return output.argmax(axis=1)
    return (output.reshape(-1) > 0).astype(np.int64)
