"""``chainrule train``: a CSV file, a folder of images or a built-in dataset in, a trained model
file out."""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from chainrule.cli.common import standardised_note
from chainrule.cli.errors import EXIT_DIVERGED, CLIError
from chainrule.cli.output import heading, say, table
from chainrule.cli.paths import output_file, output_folder
from chainrule.cli.run_record import (
    interrupted_note,
    nothing_left_note,
    prepare_checkpoint_dir,
    run_config,
)
from chainrule.cli.train_flags import add_arguments, add_schema_arguments
from chainrule.cli.training_data import choose_loss, encode_targets, load_training_data

__all__ = [
    "add_arguments",
    "add_schema_arguments",
    "choose_loss",
    "encode_targets",
    "load_training_data",
    "prepare_checkpoint_dir",
    "run",
    "run_config",
]

HELP = "Train a network on a CSV file, a folder of images or a built-in dataset, and save it."
EXAMPLES = """
chainrule train data.csv --target species --layers 64,32 --epochs 50
chainrule train --dataset moons --layers 16,16 --activation tanh --out moons.safetensors
chainrule train data.csv --target price --loss mse --optimizer adam --lr 1e-3
chainrule train --config run.toml --epochs 10   # flags override the file
chainrule train data.csv --target y --checkpoint-dir ckpt --resume
chainrule train photos/ --epochs 20   # photos/cat/*.png, photos/dog/*.png: a small CNN
"""


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


def default_lr(name: str, lr):
    from chainrule.registry import OPTIMIZERS as known

    return lr if lr is not None else known[name].default_lr


def make_optimizer(name: str, params, lr):
    """The optimizer of ``--optimizer`` (SGD with momentum 0.9, the others as they come)."""
    from chainrule.registry import make_optimizer as make

    momentum = {"momentum": 0.9} if name == "sgd" else {}
    return make(name, params, lr=default_lr(name, lr), **momentum)


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


def run(args) -> int:
    import chainrule as cr

    if args.config:
        from chainrule.cli.config import apply_config

        args = apply_config("train", args.argv, args.config)
    if args.resume and not args.checkpoint_dir:
        raise CLIError("--resume needs --checkpoint-dir (the folder of the run to continue)")
    images = bool(args.csv) and not args.dataset and os.path.isdir(args.csv)
    if args.model is None:  # a folder of images gets a CNN, a table an MLP
        args.model = "cnn" if images else "mlp"
    if args.layers is None and not (images and args.model == "cnn"):
        args.layers = "32"  # a CNN on images picks its widths from their size, once read
    hidden = None if args.layers is None else parse_layers(args.layers)
    if not args.dry_run:
        _check_outputs(args)
    started = time.perf_counter()
    rank = _mpi_rank()  # under mpiexec: cr.fit trains data-parallel; rank 0 alone writes
    run = _prepare(args)
    if args.dry_run:
        return _dry_run(args, run, hidden) if rank == 0 else 0
    run.model = _build_model(args, run, hidden)
    if rank == 0:
        heading(f"Training {run.task} model on {len(run.X_train)} examples ({_inputs(run)})")
        print(run.model)
    lines = _EpochLines(args.epochs)
    try:
        run.history = cr.fit(
            run.model,
            (run.X_train, run.y_train_enc),
            run.loss_fn,
            run.optimizer,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=run.validation,
            metrics=("accuracy",) if run.task != "regression" else ("mae", "r2"),
            callbacks=[*run.callbacks, *([lines] if rank == 0 else [])],
            generator=cr.Generator(args.seed),
            verbose=False,
            compile=args.compile,
        )
    except KeyboardInterrupt as err:  # Ctrl-C: main() prints this note with exit code 130
        if rank == 0:
            err.cli_message = interrupted_note(args, lines.epochs_done)
        raise
    elapsed = time.perf_counter() - started
    if rank != 0:
        return 0
    note = nothing_left_note(args, len(run.history.history["loss"]), lines.epochs_done)
    if note:
        print(note, file=sys.stderr)
    _diagnosis(run)
    _save(args, run)
    _summary(args, run, elapsed)
    if not args.no_plots:
        try:
            _plots(args, run)
        except Exception as err:  # the model is saved: a plot is not worth failing for
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            print(f"warning: plots not written ({first}); the model is saved", file=sys.stderr)
    return 0


def _diagnosis(run) -> None:
    """Print the end-of-training diagnosis; a run that diverged or ended far above where it
    began exits 3 and leaves no model file."""
    if run.diagnosis is None:
        return
    from chainrule.diagnose.findings import summary

    for line in summary(run.diagnosis.findings).splitlines():
        say(line)
    diverged = [f for f in run.history.findings if f.code in ("DIVERGED", "LOSS_ROSE")]
    if diverged:
        raise CLIError(f"{diverged[0].sentence} The model was not saved.", EXIT_DIVERGED)


def _check_outputs(args) -> None:
    """Every output path checked before any work, and the plotting extra present."""
    replace = args.overwrite or args.resume
    args.out = output_file(
        args.out, default_name="model.safetensors", replace=replace, inputs=(args.csv,)
    )
    if args.report:
        args.report = output_file(
            args.report, flag="--report", default_name="report.html", inputs=(args.csv, args.out)
        )
    if args.checkpoint_dir:
        output_folder(args.checkpoint_dir, flag="--checkpoint-dir")
        _check_earlier_run(args)
    if not args.no_plots:
        if args.plots:
            output_folder(args.plots, flag="--plots")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError(
                'plots need matplotlib: pip install "chainrule[cli]" (or pass --no-plots)'
            ) from None


def _check_earlier_run(args) -> None:
    """A fresh run would replace the backup of an earlier one in --checkpoint-dir, maybe a
    long run killed before its end whose --resume was forgotten: refused unless said, as an
    existing --out is."""
    backup = os.path.join(args.checkpoint_dir, "backup.safetensors")
    if args.resume or args.overwrite or not os.path.exists(backup):
        return
    raise CLIError(
        f"--checkpoint-dir {args.checkpoint_dir} already holds the checkpoint of a run; "
        f"continue it with --resume, replace it with --overwrite, or choose another folder"
    )


class _Run:
    """What one training run carries from one phase to the next."""


def _EpochLines(epochs: int, every: float = 10.0, clock=time.monotonic):
    """A callback printing one line per epoch, wrapped to the terminal's width, and, in an
    epoch that runs longer than ``every`` seconds (big images), a plain line every ``every``
    seconds saying how far it is, so a long epoch is never minutes of silence."""
    from chainrule.train.callbacks import Callback

    class EpochLines(Callback):
        epochs_done = 0  # the last epoch printed: after the backup, when there is one

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.started = epoch, clock()
            self.next, self.loss, self.seen = self.started + every, 0.0, 0

        def on_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.loss += float(logs.get("loss", 0.0)) * logs.get("size", 0)
            self.seen += logs.get("size", 0)
            now = clock()
            steps = self.params.get("steps")
            if now < self.next or (steps and batch + 1 >= steps):
                return
            self.next = now + every
            left = f"{batch + 1}/{steps}" if steps else f"{batch + 1}"
            loss = f", loss so far {self.loss / self.seen:.4g}" if self.seen else ""
            print(
                f"  epoch {self.epoch + 1}/{epochs}: batch {left}{loss} "
                f"({now - self.started:.0f} s)",
                flush=True,
            )

        def on_epoch_end(self, epoch, logs=None):
            self.epochs_done = epoch + 1
            logs = logs or {}
            shown = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("lr", "time"))
            say(f"epoch {epoch + 1}/{epochs}  {shown}")
            sys.stdout.flush()  # a log file or a pipe sees each epoch as it ends

    return EpochLines()


def _prepare(args) -> _Run:
    """Load the data, choose the loss, split, fit the preprocessing on the training rows."""
    from chainrule.cli.schema_view import show_notes
    from chainrule.data import train_test_split
    from chainrule.errors import DataError

    run = _Run()
    data = load_training_data(args)
    if _mpi_rank() == 0:  # under mpiexec every rank reads the file; one says so
        show_notes(data.notes or [])
    X, y = data.X, data.y
    run.data = data
    run.task, run.classes, run.preprocessor = data.task, data.classes, data.preprocessor
    run.images = data.feature_names is None
    if run.task != "regression" and len(np.unique(y)) < 2:
        raise CLIError(f"the target {data.target_name!r} has only one class; nothing to learn")
    run.loss_name, run.loss_fn, run.outputs = choose_loss(
        args.loss, run.task, len(run.classes or [])
    )
    if args.validation_split > 0:
        try:
            X_train, X_val, y_train, y_val = train_test_split(
                X,
                y,
                test_size=args.validation_split,
                seed=args.seed,
                stratify=y if run.task != "regression" else None,
            )
        except DataError as err:  # too few rows (per class) to hold some out
            reason = str(err).split(": ", 1)[-1]
            unit = "image" if run.images else "row"
            if run.classes is not None:  # name the user's classes, not their encoded numbers
                counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(run.classes))
                lonely = np.flatnonzero(counts < 2)
                if len(lonely):
                    reason = _lonely_classes(run.classes, lonely, y, data.lines, unit)
                elif "test_size between" in reason:  # train_test_split's words, not train's
                    reason = _split_range(len(run.classes), len(y), unit)
            raise CLIError(
                f"cannot hold out {args.validation_split:g} of the {len(y)} {unit}s for "
                f"validation: {reason}; add {unit}s, or train on all of them with "
                f"--validation-split 0"
            ) from None
    else:
        X_train, y_train, X_val, y_val = X, y, None, None
    del X, data.X
    pre = run.preprocessor
    pre.fit(X_train)
    if run.task == "regression":
        pre.fit_target(y_train)
    run.X_train = _model_input(pre, X_train, "training")
    run.y_train, run.y_val = y_train, y_val
    run.validation = None
    if X_val is not None:
        run.validation = (
            _model_input(pre, X_val, "validation"),
            encode_targets(y_val, run.loss_name, run.classes, pre),
        )
    run.y_train_enc = encode_targets(y_train, run.loss_name, run.classes, pre)
    run.config = run_config(args)
    return run


def _inputs(run: _Run) -> str:
    if run.images:
        return f"{run.preprocessor.describe()} images, {'×'.join(map(str, run.X_train.shape[1:]))}"
    return f"{run.X_train.shape[1]} features after preprocessing"


def _model_input(pre, X, what: str) -> np.ndarray:
    """Standardised float32 rows; a value float32 cannot hold is an error naming it."""
    out = pre.transform(X, dtype=np.float32)
    bad = ~np.isfinite(out)
    if bad.any() and out.ndim == 2:  # images: pixels in [0, 1] over a std >= 1e-6 stay finite
        i, k = np.argwhere(bad)[0]
        raise CLIError(
            f"feature {pre.feature_names[k]!r} of a {what} row is too large for float32 after "
            f"standardising; rescale that column"
        )
    return out


def _dry_run(args, run: _Run, hidden: list[int]) -> int:
    from chainrule.cli.schema_view import show_schema
    from chainrule.models import mlp

    if run.data.schema is not None:
        show_schema(run.data.schema, f"Schema of {args.csv}")
    if run.images:
        model = _image_model(args, run, hidden)
        what = f"images ({run.preprocessor.describe()})"
    else:
        model = mlp(run.X_train.shape[1], hidden, run.outputs, activation=args.activation)
        what = f"rows ({run.X_train.shape[1]} inputs)"
    say(
        f"dry run: would train a {run.task} model with --loss {run.loss_name} on "
        f"{len(run.X_train)} {what}; nothing was written"
    )
    print(model)
    return 0


def _build_model(args, run: _Run, hidden: list[int]):
    import chainrule as cr
    from chainrule import callbacks as cbs
    from chainrule.models import mlp

    cr.manual_seed(args.seed)
    if run.images:
        model = _image_model(args, run, hidden)
    elif getattr(args, "model", "mlp") == "cnn":  # square images as flat rows (docs/cnn.md)
        from chainrule.models import image_cnn

        try:
            model = image_cnn(run.X_train.shape[1], run.outputs)
        except ValueError as err:
            raise CLIError(f"--model cnn: {err}; try --dataset digits") from None
    else:
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
    run.diagnosis = None
    if not args.no_diagnose:
        # Last before the backup: its state is saved after its epoch's logs, and turning it
        # on or off between runs never shifts the other callbacks' resumed states.
        from chainrule.diagnose import Recorder

        folder = args.checkpoint_dir
        path = os.path.join(folder, "diagnose.json") if folder else None
        run.diagnosis = Recorder(path=path, verbose=False)  # printed after training, below
        run.callbacks.append(run.diagnosis)
    if args.checkpoint_dir:
        write = _mpi_rank() == 0  # under MPI only rank 0 writes run.json
        run.callbacks.append(prepare_checkpoint_dir(args, run.config, run.data.digest, write=write))
    return model


def _image_model(args, run: _Run, hidden):
    """The network for a folder of images: a small CNN, or an MLP on the flattened pixels."""
    from chainrule import nn
    from chainrule.models import image_classifier, image_classifier_widths, mlp

    pre = run.preprocessor
    if args.model == "mlp":
        flat = pre.channels * pre.size[0] * pre.size[1]
        layers = mlp(flat, hidden, run.outputs, activation=args.activation)
        return nn.Sequential(nn.Flatten(), *layers)
    widths = tuple(hidden) if hidden is not None else image_classifier_widths(pre.size)
    try:
        return image_classifier(
            pre.channels, pre.size, run.outputs, widths, activation=args.activation
        )
    except ValueError as err:
        raise CLIError(
            f"--model cnn: {err} (choose the widths with --layers, the size with --image-size, "
            f"or use --model mlp)"
        ) from None


def _save(args, run: _Run) -> None:
    import chainrule as cr

    data, logs = run.data, run.history.history
    metadata = {
        "task": run.task,
        "target": data.target_name,
        "features": data.feature_names,
        "columns": data.columns,
        "classes": run.classes,
        "loss": run.loss_name,
        "preprocessing": run.preprocessor.to_dict(),
        "schema": data.schema.to_dict() if data.schema is not None else None,
        "training": {
            **run.config,
            "lr_used": default_lr(args.optimizer, args.lr),
            "epochs_requested": args.epochs,
            "epochs_run": len(logs["loss"]),
        },
        "metrics": {
            k: float(v[-1]) for k, v in sorted(logs.items()) if v and k not in ("time", "lr")
        },
        # What a rerun needs to get the same bits (wall time is left out on purpose: the same
        # seed must give a byte-identical file).
        "reproducibility": reproducibility_info(args.seed),
        "source": data.source,
        "data_sha256": data.digest,
    }
    if run.images:  # as ImageFolderData.metadata writes it, for the Python route (docs/cnn.md)
        metadata["image"] = {"size": list(run.preprocessor.size), "mode": run.preprocessor.mode}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # the optimizer's state goes in too, so 'chainrule explain' can show its next step
    cr.save(run.model, args.out, metadata=metadata, optimizer=run.optimizer)
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
            explain_sample={
                "x": run.X_train[:1],
                "y": run.y_train_enc[:1],
                "loss_fn": run.loss_fn,
                "class_names": run.classes,
                "optimizer": run.optimizer,
            },
            loss=run.loss_name,
            diagnosis=run.diagnosis,
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
    history = run.history
    steps = history.compiled_steps + history.eager_steps
    rows.append(["compiled steps", f"{history.compiled_steps} of {steps}"])
    table("Summary", ["", "value"], rows)
    if run.task == "regression":  # after the table, which would widen to fit the note
        say(standardised_note(run.data.target_name, run.preprocessor.target_std))
    if history.compile_reason and args.compile == "auto":
        say(f"training steps were eager: {history.compile_reason}")
    say(f"model saved: {args.out}")
    if args.report:
        say(f"report: {args.report}")


def _plots(args, run: _Run) -> None:
    import chainrule as cr

    out_dir = os.path.dirname(os.path.abspath(args.out))
    plots = args.plots or os.path.join(
        out_dir, os.path.splitext(os.path.basename(args.out))[0] + "-plots"
    )
    os.makedirs(plots, exist_ok=True)
    curve = os.path.join(plots, "loss.png")
    run.history.plot(curve)
    say(f"loss curves: {curve}")
    if run.task != "regression" and run.validation is not None:
        cm_path = os.path.join(plots, "confusion_matrix.png")
        predicted = cr.predict(run.model, run.validation[0])
        labels = _classes_from_output(predicted, run.loss_name)
        n = len(run.classes)
        cm = cr.metrics.confusion_matrix(run.y_val, labels, labels=list(range(n)))
        cr.plot.confusion_matrix(cm, run.classes, cm_path)
        say(f"confusion matrix: {cm_path}")


def _mpi_rank() -> int:
    from chainrule.distributed.comm import launched_under_mpi

    if not launched_under_mpi():
        return 0
    from chainrule import distributed

    return distributed.rank()


def _classes_from_output(output: np.ndarray, loss: str) -> np.ndarray:
    if loss == "ce":
        return output.argmax(axis=1)
    return (output.reshape(-1) > 0).astype(np.int64)


def _split_range(k: int, n: int, unit: str) -> str:
    """Why ``--validation-split`` cannot put each of ``k`` classes on both sides of ``n``
    rows, and the fractions that can (the held-out count is ``ceil(split · n)``)."""
    low, high = math.ceil(k / n * 1000) / 1000, math.floor((n - k) / n * 1000) / 1000
    return (
        f"both parts need a {unit} of each of the {k} classes, so the validation part must "
        f"hold {k} to {n - k} {unit}s of {n}: --validation-split from {low:g} to {high:g}"
    )


def _lonely_classes(classes, lonely, y, lines, unit: str) -> str:
    """Why no validation rows can be held out: the classes with a single row; a few get that
    row's line in the CSV file (a typo in the target, ``2`` among 0/1, is the usual cause)."""
    from chainrule.data.messages import first_few

    names = [str(classes[i]) for i in lonely]
    if lines is None or len(lonely) > 3:  # many: classes too fine for the rows, not typos
        return f"class(es) {first_few(names)} have a single {unit} each"
    where = [int(lines[int(np.argmax(y == i))]) for i in lonely]
    shown = ", ".join(f"{name!r} (line {line})" for name, line in zip(names, where))
    return (
        f"class(es) {shown} have a single {unit} each (a typo in the target, or a class too "
        f"rare to learn: fix or drop those rows)"
    )
