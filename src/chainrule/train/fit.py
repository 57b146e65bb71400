"""The training loop, written once: ``fit`` trains, ``evaluate`` scores, ``predict`` answers.

One step of ``fit`` is the loop every neural-network course writes by hand::

    optimizer.zero_grad()
    loss = loss_fn(model(x), y)      # forward pass
    loss.backward()                  # the chain rule, layer by layer
    optimizer.step()                 # w <- w - lr * dL/dw

That step is :func:`chainrule.train.step.train_step`, checked by a
:class:`~chainrule.train.guard.FiniteGuard`. Around it ``fit`` batches and shuffles the data
(``train/batches.py``), keeps running metrics, validates after each epoch
(``train/evaluate.py``), steps the learning-rate scheduler, calls the callbacks through one
:class:`~chainrule.train.callback_list.CallbackList`, shows progress, records a
:class:`~chainrule.History`, and stops at the first NaN or infinity it meets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from types import SimpleNamespace

import numpy as np

from chainrule.errors import DataError, DTypeError, NonFiniteError, ShapeError
from chainrule.random import Generator
from chainrule.train.batches import (
    as_input,
    data_hash,
    input_dtype,
    loader_for,
    regression_targets,
    skip_shuffles,
    split_validation,
    split_weighted,
    target_array,
)
from chainrule.train.callback_list import CallbackList
from chainrule.train.callbacks import BackupAndRestore
from chainrule.train.compiled_fit import CompiledSteps, mode_of, why_not
from chainrule.train.evaluate import (
    DEFAULT_METRICS,
    evaluate,
    make_metrics,
    output_threshold,
    predict,
    score,
)
from chainrule.train.fit_arguments import (
    batch_size_for,
    callback_list,
    check_model_loss_optimizer,
    check_positional,
    check_run_arguments,
    check_scheduler,
)
from chainrule.train.fit_weights import class_weighted, sample_weights, weights_in
from chainrule.train.guard import FiniteGuard, bad_rows, describe_rows, source_rows
from chainrule.train.history import History
from chainrule.train.loss_targets import check_fit_targets, loss_targets, value_targets
from chainrule.train.metrics import update_metric
from chainrule.train.progress import Progress
from chainrule.train.step import train_step

__all__ = ["evaluate", "fit", "predict"]


class _RunningLogs:
    """The epoch so far: batch-size-weighted mean loss and the streaming metrics."""

    def __init__(self, metric_objs):
        self.metrics = metric_objs
        for m in metric_objs:
            m.reset()
        self.total = 0.0
        self.seen = 0
        self.batches = 0

    def add(self, loss: float, n: int, y, out, weight=None) -> None:
        # with weights the epoch's loss is Σ wᵢ·lᵢ / Σ wᵢ over all its rows, as val_loss
        size = n if weight is None else float(weight.sum())
        self.total += loss * size
        self.seen += size
        self.batches += 1
        for m in self.metrics:
            update_metric(m, y, out, weight)

    def logs(self) -> dict:
        # an epoch whose weights were all 0 trained on nothing: its loss is 0, as its batches'
        logs = {"loss": self.total / self.seen if self.seen else 0.0 if self.batches else math.nan}
        logs.update((m.name, m.result()) for m in self.metrics)
        return logs


def _under_mpi() -> bool:
    from chainrule.distributed.comm import launched_under_mpi

    return launched_under_mpi()


def _in_user_data(err: NonFiniteError, run, x, y) -> str:
    """The guard's message, with bad data named by the rows of the user's arrays (``X row 3
    holds NaN``) rather than of the shuffled batch, when the data is array-backed."""
    arrays = getattr(run.train_loader.dataset, "arrays", None)
    if getattr(err, "batch_rows", None) is None or arrays is None or len(arrays) < 2:
        return str(err)
    data = np.asarray(arrays[0 if err.part == "X" else 1])
    rows = source_rows(data, x.array if err.part == "X" else y, err.batch_rows)
    if rows is None:
        return str(err)
    err.rows = rows
    culprit = describe_rows(err.part, data, rows)
    return f"the loss is {err.value} because {culprit}; clean the data first"


def _located(err: NonFiniteError, run, epoch: int, batch: int, x, y) -> NonFiniteError:
    """The guard's error with the epoch and batch it happened at."""
    steps = run.steps
    where = f"epoch {epoch + 1}/{run.epochs}, batch {batch + 1}" + (f"/{steps}" if steps else "")
    located = NonFiniteError(f"training stopped at {where}: {_in_user_data(err, run, x, y)}")
    located.kind, located.stage, located.value = err.kind, err.stage, err.value
    located.rows = getattr(err, "rows", None)
    located.part = getattr(err, "part", None)  # "X" or "y" when the data itself is not finite
    located.epoch, located.batch = epoch + 1, batch + 1
    return located


# ---- setting up a run -----------------------------------------------------------------------
def _loaders(run, data, validation_data, validation_split, batch_size, shuffle, generator):
    """The training and validation loaders (split, hashed for a backup, and, under MPI,
    sharded over the ranks)."""
    # how the validation rows are named in errors: their rows in X, or in validation_data
    run.val_names, run.val_offset = ("validation X", "validation y"), 0
    weights, val_weights = sample_weights(run, data, validation_data)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 3:
        validation_data = tuple(validation_data[:2])
    if validation_split:
        values = loss_targets(run.loss_fn) == "values"  # whole numbers are amounts, not classes
        data, validation_data, *split = split_validation(data, validation_split, weights, values)
        weights, val_weights = split[0] if split else (None, None)
        run.val_names, run.val_offset = ("X", "y"), len(data[0])
        if val_weights is not None and not val_weights.any():
            raise ValueError(
                "fit: the validation_split rows all have sample_weight 0, so the validation "
                "loss is undefined; shuffle the rows first or lower validation_split"
            )
    if run.class_weight is not None:  # training rows only: validation stays unweighted (Keras)
        weights = class_weighted(run.class_weight, data, weights)
    run.backups = [cb for cb in run.user_callbacks if isinstance(cb, BackupAndRestore)]
    hashed = (data, validation_data, weights, val_weights)
    run.data_hash = data_hash(*hashed) if run.backups else None
    run.train_loader, run.samples = loader_for(
        data, batch_size, shuffle, generator, run.dtype, "data", weights=weights
    )
    run.val_loader = None
    if validation_data is not None:
        run.val_loader, _ = loader_for(
            validation_data,
            max(batch_size, 256),
            False,
            None,
            run.dtype,
            "validation_data",
            weights=val_weights,
        )
    run.dist = None
    if run.distributed or (run.distributed is None and _under_mpi()):
        if weights is not None:
            raise ValueError(
                "fit: sample_weight is not supported in data-parallel training yet (each rank "
                "would normalise by its own share's weights)"
            )
        from chainrule.distributed.training import DistributedRun

        run.dist = DistributedRun(run.model)
        options = {
            "epochs": run.epochs,
            "batch_size": run.train_loader.batch_size,
            "opt": run.optimizer,
        }
        run.train_loader, run.val_loader = run.dist.loaders(
            run.train_loader, run.val_loader, shuffle, generator, options
        )
        run.verbose = run.verbose if run.dist.rank == 0 else False


def _params(run) -> dict:
    """What the callbacks learn about the run (``Callback.params``)."""
    names = [m.name for m in run.train_metrics]
    keys = ["loss", *names]
    if run.val_loader is not None:
        keys += [f"val_{k}" for k in ("loss", *names)]
    return {
        "epochs": run.epochs,
        "initial_epoch": run.initial_epoch,
        "steps": run.steps,
        "batch_size": run.train_loader.batch_size,
        "samples": run.samples,
        "do_validation": run.val_loader is not None,
        "metrics": [*keys, "lr", "time"],
        "scheduler": run.scheduler,
        "generator": run.train_loader.generator,
        "data_sha256": run.data_hash,
        "loss_fn": run.loss_fn,
    }


def _prepare(run, data, validation_data, validation_split, metrics, batch_size, shuffle, generator):
    """Fill ``run`` with everything the epochs need; restore a backup if there is one."""
    _loaders(run, data, validation_data, validation_split, batch_size, shuffle, generator)
    run.threshold = output_threshold(run.loss_fn, run.model)
    check_fit_targets(run.loss_fn, run.train_loader, run.val_loader)
    if metrics is DEFAULT_METRICS and (
        regression_targets(run.train_loader) or value_targets(run.loss_fn, run.train_loader)
    ):
        metrics = ()
    run.train_metrics = make_metrics(metrics, run.threshold, run.loss_fn)
    run.val_metrics = [m.clone() for m in run.train_metrics]
    run.steps = len(run.train_loader)
    params = _params(run)
    private = ("scheduler", "generator", "loss_fn")
    run.history = History({k: v for k, v in params.items() if k not in private})
    if run.dist is not None:
        run.callbacks.replace(run.dist.callbacks(run.callbacks.callbacks))
    run.forward = run.model if run.dist is None else run.dist.ddp
    run.after_backward = None if run.dist is None else run.dist.after_backward
    run.display = Progress(run.verbose)
    run.callbacks.set_context(run.model, run.optimizer, params, run.display)
    run.per_batch = run.scheduler is not None and getattr(run.scheduler, "per_batch", False)
    run.guard = FiniteGuard(run.model) if run.check_finite else None
    if run.guard is not None:
        run.guard.check_start()
    for backup in run.backups:
        backup.set_callbacks(run.callbacks.callbacks, run.history)
        resumed = backup.restore(run.callbacks.callbacks, run.history)
        if resumed is not None:
            run.initial_epoch = min(max(run.initial_epoch, resumed), run.epochs)


# ---- one epoch --------------------------------------------------------------------------------
def _train_epoch(run, epoch: int):
    """One pass over the training data: ``(running stats, stopped by a callback, batches
    done)``."""
    cbs = run.callbacks
    stats = _RunningLogs(run.train_metrics)
    done = 0
    for batch, item in enumerate(run.train_loader):
        xb, yb, wb = split_weighted(item, "fit", batch)
        cbs.on_batch_begin(batch)
        x, y = as_input(xb, run.dtype), target_array(yb)
        try:
            compiled = _compiled_for(run, batch, x, y) if wb is None else _weighted_batch(run)
            if compiled is not None:
                value, out = compiled(x, y)
            else:
                value, out = train_step(
                    run.model,
                    run.loss_fn,
                    run.optimizer,
                    x,
                    y,
                    guard=run.guard,
                    forward=run.forward,
                    after_backward=run.after_backward,
                    sample_weight=wb,
                )
        except NonFiniteError as err:
            raise _located(err, run, epoch, batch, x, y) from None
        n = len(y)
        stats.add(value, n, y, None if out is None else out.array, wb)
        if run.per_batch:
            run.scheduler.step()
        cbs.on_batch_end(batch, {"loss": value, "size": n})
        done += 1
        run.display.batch_end(batch, stats.logs)
        if cbs.stop_after_batch():
            return stats, True, done
    return stats, False, done


def _compiled_for(run, batch: int, x, y):
    """The compiled step for this batch, or ``None`` for the eager step (a callback watches
    this step's forward pass, or the run does not compile). Counts the steps each way."""
    compiled = run.compiled
    if compiled is not None and compiled.step is not None and run.watch_config(batch):
        if compiled.outdated():  # a callback changed a mode or setting: trace the step again
            run.compiled = run.compile_check = compiled = CompiledSteps(run, run.compile)
    if compiled is not None and not run.callbacks.wants_forward(batch):
        if compiled.step is None:  # the first compiled batch decides
            run.compiled = compiled = compiled.setup(x, y)
            if compiled is None:
                run.compile_reason = run.compile_check.reason
        if compiled is not None:
            run.compiled_steps += 1
            return compiled
    run.eager_steps += 1
    return None


def _weighted_batch(run) -> None:
    """No compiled step for a batch with sample weights from the data (the weighted loss is
    the eager step's); as for ``sample_weight=``, ``compile=True`` and data-parallel refuse."""
    reason = "sample weights from the data (x, y, w): the eager step computes the weighted loss"
    if run.compile == "on":
        raise ValueError(f"fit(compile=True) cannot compile this run: {reason}")
    if run.dist is not None:
        raise ValueError(
            "fit: sample weights are not supported in data-parallel training yet (each rank "
            "would normalise by its own share's weights)"
        )
    if run.compiled is not None:
        run.compiled, run.compile_reason = None, reason
    run.eager_steps += 1
    return None


def _bad_validation(run) -> str:
    """The rows of the validation data holding NaN or inf, named in the user's arrays."""
    arrays = getattr(run.val_loader.dataset, "arrays", None)
    if arrays is None or len(arrays) < 2:
        return "check the validation data for NaN or inf"
    for name, data in zip(run.val_names, arrays):
        rows = bad_rows(data)
        if len(rows):
            return f"{describe_rows(name, data, rows, run.val_offset)}; clean the data first"
    return "the validation data is finite: the forward pass overflowed on it"


def _validate(run, epoch: int, logs: dict) -> None:
    reduce = run.dist.reduce if run.dist is not None else None
    model, metrics, threshold = run.model, run.val_metrics, run.threshold
    try:
        scores = score(model, run.val_loader, run.loss_fn, metrics, run.dtype, threshold, reduce)
    except (DataError, DTypeError, ShapeError) as err:  # the training data was fine: say so
        what = "the rows validation_split held out" if run.val_offset else "validation_data"
        raise type(err)(f"fit: {what}, scored after epoch {epoch + 1}: {err}") from err
    logs.update((f"val_{k}", v) for k, v in scores.items())
    if run.check_finite and not math.isfinite(logs["val_loss"]):
        raise NonFiniteError(
            f"validation after epoch {epoch + 1}/{run.epochs}: the validation loss is "
            f"{logs['val_loss']} (the training parameters are finite); {_bad_validation(run)}"
        )
    run.model.train()


def _step_scheduler(scheduler, logs: dict) -> None:
    if getattr(scheduler, "needs_metric", False):
        scheduler.step(logs["val_loss"] if "val_loss" in logs else logs["loss"])
    else:
        scheduler.step()


def _run_epoch(run, epoch: int) -> bool:
    """Train, validate and record one epoch; True when training should stop."""
    started = time.perf_counter()
    run.callbacks.on_epoch_begin(epoch)
    lr = float(run.optimizer.param_groups[0]["lr"])
    if run.dist is not None:
        run.dist.epoch_begin(epoch, run.model)
    run.display.epoch_begin(epoch)
    stats, stop, done = _train_epoch(run, epoch)
    if stop and done < run.steps:
        # As Keras: the epoch a batch callback stopped is recorded like a full one (its logs
        # over the batches run, validated, on_epoch_end called); only the backup skips it.
        for backup in run.backups:
            backup.skip_partial_epoch(epoch, done, run.steps)
    logs = stats.logs() if run.dist is None else run.dist.epoch_logs(stats)
    if run.val_loader is not None:
        _validate(run, epoch, logs)
    logs["lr"] = lr
    logs["time"] = time.perf_counter() - started
    run.history.append(epoch, logs)
    run.final_logs = logs
    if run.scheduler is not None and not run.per_batch:
        _step_scheduler(run.scheduler, logs)
    run.display.epoch_end(epoch, logs)
    run.callbacks.on_epoch_end(epoch, logs)
    if stop or run.callbacks.stop_training:
        run.history.stopped_early = epoch + 1 < run.epochs or done < run.steps
        return True
    return False


def _compiled_steps(run):
    """The compiled per-batch step when ``compile`` asks for it and the run allows it."""
    run.compiled_steps = run.eager_steps = 0
    run.compile_reason = run.compile_check = None
    every = run.callbacks.user_batch_hooks()  # else modes and settings change between epochs
    run.watch_config = lambda batch: every or batch == 0
    if run.compile == "off":
        run.compile_reason = "compile=False"
        return None
    reason = why_not(run)
    if reason is not None:
        if run.compile == "on":
            raise ValueError(f"fit(compile=True) cannot compile this run: {reason}")
        run.compile_reason = reason
        return None
    run.compile_check = CompiledSteps(run, run.compile)
    return run.compile_check


# ---- fit ------------------------------------------------------------------------------------
def fit(
    model,
    data,
    loss_fn,
    optimizer,
    *misplaced,
    epochs: int = 1,
    batch_size: int | None = None,
    validation_data=None,
    validation_split: float = 0.0,
    metrics: Iterable = DEFAULT_METRICS,
    callbacks: Iterable = (),
    scheduler=None,
    verbose=True,
    shuffle: bool = True,
    seed: int | None = None,
    generator: Generator | None = None,
    initial_epoch: int = 0,
    check_finite: bool = True,
    distributed: bool | None = None,
    compile: bool | str = "auto",  # noqa: A002 - the name users know from torch.compile
    sample_weight=None,
    class_weight: dict | None = None,
) -> History:
    # Over 80 lines only because of the docstring (the public API's reference); the code is
    # the outline of a run, its parts are in the functions above.
    """Train ``model`` on ``data`` with mini-batch gradient descent; returns a :class:`History`.

    Args:
        model: an ``nn.Module``. It is put in training mode for the run and in evaluation mode
            (``no_grad``) for validation; its mode before ``fit`` is restored at the end.
        data: ``(X, y)`` arrays or tensors (``(X, y, w)``: with sample weights ``w``), a
            ``Dataset`` yielding ``(x, y)`` or ``(x, y, w)`` samples, or a ``DataLoader``
            (then ``batch_size``, ``shuffle``, ``seed`` and ``generator`` are the loader's
            own). Float, integer and bool features are converted to the float dtype of the
            model's parameters, except for a model whose first layer is an
            ``nn.Embedding`` (integer ids stay integers); integer targets (class labels) stay
            integers.
        loss_fn: ``loss_fn(output, target)`` → scalar tensor, e.g. ``nn.CrossEntropyLoss()``.
            Targets of shape ``(N,)`` are reshaped to ``(N, 1)`` for a model with one output.
        optimizer: e.g. ``optim.SGD(model.parameters(), lr=0.1)``. These four are positional;
            every other argument is given by name (``epochs=10``): a positional one is refused,
            since Keras's ``fit`` takes a different order (``batch_size`` before ``epochs``).
        epochs: train until this epoch count is reached (counting ``initial_epoch``).
        batch_size: samples per gradient step (32 when not given). With a ``DataLoader``,
            a different ``batch_size`` (or a ``seed``/``generator``) is a ``ValueError``.
        validation_data: ``(X, y)``, a Dataset or a DataLoader scored after every epoch;
            ``(X, y, w)`` scores the validation loss weighted by ``w``, as ``sample_weight``.
        validation_split: the fraction of ``(X, y)`` held out for validation, taken from the
            END of the arrays before any shuffling (as Keras does). Shuffle or stratify first
            (``cr.data.train_test_split(..., stratify=y)``) if the rows are ordered by class.
        metrics: names (see ``cr.metrics.KNOWN``: ``"accuracy"``, ``"f1"``, ``"mse"``, ``"r2"``,
            ...), ``Metric`` objects or functions ``fn(y_true, y_pred) -> float``. For one-column
            outputs ``"accuracy"`` thresholds logits at 0 (``BCEWithLogitsLoss``) and
            probabilities at 0.5 (other losses); several columns are compared by argmax. The
            default ``("accuracy",)`` is dropped when the targets are continuous (regression);
            ask for ``("mse", "mae", "r2")`` there.
        callbacks: :class:`~chainrule.callbacks.Callback` objects.
        scheduler: a learning-rate scheduler, stepped after every epoch; one that declares
            ``needs_metric`` (``ReduceLROnPlateau``) gets ``val_loss`` (``loss`` without
            validation data), one that declares ``per_batch`` (``OneCycleLR``) is stepped after
            every batch instead, as it is designed to be.
        verbose: ``True``: a progress bar on a terminal, one line per epoch elsewhere;
            ``False``: silent; ``"bar"``/``"lines"`` to force one (Keras's ``2``: lines).
        shuffle: reshuffle the training samples every epoch.
        seed: shuffle with a private generator seeded with this (default: the global
            generator, seeded by ``cr.manual_seed``). With ``initial_epoch=k`` it first draws
            the shuffles of the ``k`` epochs skipped, so a resumed run shuffles as the
            uninterrupted one.
        generator: a :class:`chainrule.Generator` to shuffle with (for exact resume, save and
            restore its state).
        initial_epoch: the epoch to start from when resuming a run (the model, optimizer,
            scheduler, generator and callbacks restored by the caller).
        check_finite: stop with :class:`chainrule.NonFiniteError` at the first NaN or inf in the
            loss, a gradient (before the step, so the parameters stay finite) or a parameter
            (after the step). The error names the epoch, the batch and what went bad.
        distributed: train data-parallel over MPI (``chainrule.distributed``): each rank
            trains on its share of the data with ``batch_size`` samples per step, gradients
            are averaged, logs are combined over ranks, and only rank 0 prints and writes
            files. ``None`` (the default): on when an MPI launcher started several ranks.
        compile: ``"auto"`` (default): take each step with the compiled step
            (``cr.compile_step``, NumPy tier: the same weights and model outputs, bit for bit,
            without building a graph) when the run allows it and the model compiles, else the
            eager step. Training metrics are computed from the output the compiled step
            returns. A callback that watches the forward pass (``needs_forward``, e.g. the
            diagnosis ``Recorder``) gets the eager step on the batches its
            ``wants_forward(batch)`` names, the compiled step elsewhere. The run stays eager
            when distributed, with a callback that watches every step's forward pass and,
            for ``"auto"``, with a layer or loss that is not chainrule's own. The first
            compiled batch is checked before its step. ``True``: require it (a ``ValueError``
            or ``GraphError`` says why it cannot); ``False``: always eager. ``check_finite``
            keeps its meaning: a step whose loss or gradients are non-finite is undone and
            raises the eager step's error. ``history.compiled_steps``, ``.eager_steps`` and
            ``.compile_reason`` tell what happened. See docs/compile.md.
        sample_weight: one weight >= 0 per row of ``(X, y)`` arrays, shuffled and batched
            with its row. A Dataset or DataLoader gives weights as the third field of its
            samples, ``(x, y, w)`` (as Keras reads them), checked batch by batch. Each
            batch's loss is then the weighted mean Σ wᵢ·lᵢ / Σ wᵢ of the per-sample losses
            (averaged over their other axes), so integer weights act as repeated rows and 0
            as a dropped row (exactly so in one full batch); a batch whose weights are all 0
            has loss 0. The loss must give per-sample losses: a chainrule loss module
            (evaluated with ``reduction="none"``, whatever its own reduction), a function
            with a ``reduction=`` argument, or one taking ``sample_weight=`` (it is handed
            the batch's weights and reduces itself). ``validation_split`` splits the weights
            with the rows and weights the validation loss. The epoch's ``loss`` (and
            ``val_loss``) is the weighted mean over all its rows, Σ wᵢ·lᵢ / Σ wᵢ; the metrics
            are weighted too (``accuracy`` is scikit-learn's ``accuracy_score(...,
            sample_weight=w)``; a metric function that takes no ``sample_weight`` stays
            unweighted, with a warning). A ``ValueError`` names a wrong shape, NaN or inf,
            negative or all-zero weights. Weighted steps are eager (not compiled) and not
            data-parallel.
        class_weight: ``{class index: weight}`` (Keras's): each training row's weight (1, or
            its ``sample_weight``) is multiplied by its class's weight, 1 for a class left out;
            the class is the target label, or the argmax of a one-hot row. Training rows only
            (``validation_split`` rows and ``val_loss`` stay unweighted); trains as
            ``sample_weight`` does, training metrics weighted too. Keys that are not class
            indices of the training targets, and negative weights, are errors.

    Returns:
        A :class:`History`: ``history.history["loss"]``, ``["val_loss"]``, metrics, ``"lr"``,
        ``"time"`` per epoch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> X, y = cr.datasets.xor()
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        >>> opt = optim.Adam(model.parameters(), lr=0.05)
        >>> h = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), opt, epochs=3, verbose=False)
        >>> len(h.history["loss"])
        3
    """
    check_positional(data, loss_fn, optimizer, misplaced)
    check_model_loss_optimizer(model, data, loss_fn, optimizer)
    check_run_arguments(epochs, initial_epoch, validation_split, validation_data)
    check_scheduler(scheduler, optimizer, seed, generator)
    batch_size = batch_size_for(data, batch_size, seed, generator)
    data, sample_weight = weights_in(data, sample_weight)
    seeded = None
    if generator is None and seed is not None:
        generator = seeded = Generator(seed)
    run = SimpleNamespace(
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        epochs=int(epochs),
        initial_epoch=int(initial_epoch),
        verbose=verbose,
        check_finite=check_finite,
        distributed=distributed,
        compile=mode_of(compile),
        dtype=input_dtype(model),
        user_callbacks=callback_list(callbacks),
        final_logs={},
        sample_weight=sample_weight,
        class_weight=class_weight,
    )
    run.callbacks = CallbackList(run.user_callbacks)
    _prepare(run, data, validation_data, validation_split, metrics, batch_size, shuffle, generator)
    if not any(b.resumed_epoch is not None for b in run.backups) and run.dist is None:
        skip_shuffles(run.train_loader, seeded, min(int(initial_epoch), run.epochs))
    run.compiled = _compiled_steps(run)
    was_training = getattr(model, "training", True)
    model.train()
    if "stop_training" in vars(model):  # set by a callback of an earlier run, as Keras resets it
        model.stop_training = False
    run.display.train_begin(run.epochs, run.steps, run.initial_epoch)
    try:
        run.callbacks.on_train_begin()
        for epoch in range(run.initial_epoch, run.epochs):
            if _run_epoch(run, epoch):
                break
    finally:
        run.display.train_end()
        model.train(was_training)
        run.callbacks.on_train_end(run.final_logs)
    run.history.findings = run.callbacks.findings()
    history = run.history
    history.compiled_steps, history.eager_steps = run.compiled_steps, run.eager_steps
    history.compile_reason = run.compile_reason
    return history
