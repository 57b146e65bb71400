"""The training loop, written once: ``fit`` trains, ``evaluate`` scores, ``predict`` answers.

One step of ``fit`` is the loop every neural-network course writes by hand::

    optimizer.zero_grad()
    loss = loss_fn(model(x), y)      # forward pass
    loss.backward()                  # the chain rule, layer by layer
    optimizer.step()                 # w <- w - lr * dL/dw

around it ``fit`` batches and shuffles the data, keeps running metrics, validates after each
epoch, steps the learning-rate scheduler, calls callbacks, shows progress, records a
:class:`~chainrule.History`, and stops at the first NaN or infinity it meets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.errors import DataError, NonFiniteError, ShapeError
from chainrule.random import Generator
from chainrule.tensor import Tensor
from chainrule.train import metrics as _metrics
from chainrule.train.callbacks import BackupAndRestore, Callback
from chainrule.train.history import History
from chainrule.train.progress import Progress

__all__ = ["evaluate", "fit", "predict"]

_RESERVED = ("loss", "lr", "time")
_DEFAULT_METRICS = ("accuracy",)  # dropped for regression targets unless asked for explicitly


# ---- data ---------------------------------------------------------------------------------
def _param_dtype(model) -> np.dtype:
    for p in model.parameters():
        if p.array.dtype.kind == "f":
            return p.array.dtype
    return np.dtype(np.float32)


def _plain(value, what: str) -> np.ndarray:
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise DataError(
            f"fit: {what} has dtype {array.dtype}; chainrule trains on numbers (convert strings "
            f"or objects first, e.g. with cr.data.load_csv)"
        )
    if array.ndim == 0:
        raise ShapeError(f"fit: {what} is a scalar; it needs one row per sample")
    return array


def _features(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float features in the model's parameter dtype (integer inputs, e.g. token ids, kept)."""
    return X.astype(dtype, copy=False) if X.dtype.kind == "f" else X


def _is_pair(data) -> bool:
    return isinstance(data, (tuple, list)) and len(data) == 2


def _arrays_of(data, what: str):
    """``(X, y)`` arrays when ``data`` is a pair of arrays or a TensorDataset of two, else None."""
    from chainrule.data.dataset import TensorDataset

    if _is_pair(data):
        X, y = _plain(data[0], f"{what} X"), _plain(data[1], f"{what} y")
    elif isinstance(data, TensorDataset) and len(data.arrays) == 2:
        X, y = data.arrays
    else:
        return None
    if len(X) != len(y):
        raise ShapeError(
            f"fit: {what} has {len(X)} rows of features but {len(y)} targets; they must match"
        )
    return X, y


def _loader(data, batch_size, shuffle, generator, dtype, what):
    """A DataLoader over ``data`` (pair of arrays, Dataset or DataLoader) and its sample count."""
    from chainrule.data.dataset import TensorDataset
    from chainrule.data.loader import DataLoader

    if isinstance(data, DataLoader):
        return data, len(data.dataset)
    arrays = _arrays_of(data, what)
    if arrays is not None:
        X, y = arrays
        dataset = TensorDataset(_features(X, dtype), y)
    elif (
        hasattr(data, "__len__")
        and hasattr(data, "__getitem__")
        and not isinstance(data, (tuple, list, np.ndarray))
    ):
        dataset = data
    else:
        raise TypeError(
            f"fit: {what} must be a pair (X, y) of arrays or tensors, a Dataset or a DataLoader; "
            f"got {type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
        )
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
    return loader, len(dataset)


def _data_hash(*datasets) -> str | None:
    """SHA-256 of the training (and validation) arrays, to refuse resuming on other data."""
    import hashlib

    digest = hashlib.sha256()
    for data in datasets:
        if data is None:
            continue
        arrays = _arrays_of(data, "data")
        if arrays is None:
            return None
        for a in arrays:
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(a.tobytes())
    return digest.hexdigest()


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise DataError(
        f"fit: each batch must be a pair (inputs, targets); the data gave "
        f"{type(batch).__name__}"
        + (f" of {len(batch)} items" if isinstance(batch, (tuple, list)) else "")
    )


def _as_input(x, dtype) -> Tensor:
    array = x.array if isinstance(x, Tensor) else np.asarray(x)
    if array.dtype.kind == "f" and array.dtype != dtype:
        array = array.astype(dtype)
    return Tensor._make(array, False)


def _target_array(y) -> np.ndarray:
    return y.array if isinstance(y, Tensor) else np.asarray(y)


def _fit_target(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(N,)`` targets become ``(N, 1)`` for a model with one output (binary, regression)."""
    if y.ndim == out.ndim - 1 and out.shape[-1] == 1 and out.shape[:-1] == y.shape:
        return y.reshape(*y.shape, 1)
    return y


# ---- loss-dependent choices ------------------------------------------------------------
def _last_module(model):
    children = getattr(model, "_modules", None)
    if children:
        return _last_module(list(children.values())[-1])
    return model


def _threshold(loss_fn, model) -> float:
    """Where a one-column output splits class 0 from 1: 0 for logits, 0.5 for probabilities."""
    if loss_fn is not None:
        name = type(loss_fn).__name__
        fn_name = getattr(loss_fn, "__name__", "")
        logits = name == "BCEWithLogitsLoss" or fn_name == "binary_cross_entropy_with_logits"
        return 0.0 if logits else 0.5
    return 0.5 if type(_last_module(model)).__name__ == "Sigmoid" else 0.0


def _make_metrics(metrics, threshold) -> list:
    if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
        metrics = (metrics,)
    made = [_metrics.get(m, threshold) for m in (metrics or ())]
    names = [m.name for m in made]
    for name in names:
        if name in _RESERVED or name.startswith("val_"):
            raise ValueError(f"a metric cannot be named {name!r} (a reserved log key)")
        if names.count(name) > 1:
            raise ValueError(f"metric {name!r} is given twice; each metric needs its own name")
    return made


def _regression_targets(loader) -> bool:
    """Whether the targets are continuous (floats that are not all whole numbers).

    Looks at the whole target array of array-backed data, else at the first sample.
    """
    dataset = loader.dataset
    arrays = getattr(dataset, "arrays", None)
    if arrays is not None and len(arrays) == 2:
        y = arrays[1]
    elif len(dataset):
        sample = dataset[0]
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            return False
        y = _target_array(sample[1])
    else:
        return False
    return y.dtype.kind == "f" and not np.array_equal(y, np.round(y))


def _is_a(obj, class_name: str) -> bool:
    return any(c.__name__ == class_name for c in type(obj).__mro__)


def _is_plateau(scheduler) -> bool:
    return _is_a(scheduler, "ReduceLROnPlateau")


def _per_batch(scheduler) -> bool:
    return _is_a(scheduler, "OneCycleLR")


def _overrides(callback, hook: str) -> bool:
    method = getattr(callback, hook)
    return getattr(method, "__func__", method) is not getattr(Callback, hook)


# ---- non-finite checks ------------------------------------------------------------------
def _all_finite(arrays) -> bool:
    """Whether every array is free of NaN and ±inf: one BLAS dot product per array.

    ``v @ v`` (the sum of squares) is NaN or inf whenever ``v`` holds a NaN or an inf, and
    BLAS computes it several times faster than ``np.isfinite(v).all()``, without a temporary.
    Only huge finite values (squares past the dtype's maximum) make it overflow, so a
    non-finite result is confirmed element by element: never a false alarm, never a miss.
    """
    total = 0.0
    for a in arrays:
        v = a.reshape(-1)
        total += float(v @ v)
    if math.isfinite(total):
        return True
    return all(np.isfinite(a).all() for a in arrays)


def _first_nonfinite(named):
    for name, a in named:
        if a is not None and not np.isfinite(a).all():
            bad = a[~np.isfinite(a)]
            return name, ("NaN" if np.isnan(bad).any() else "inf")
    return None


def _nonfinite_error(kind, epoch, epochs, batch, steps, detail) -> NonFiniteError:
    where = f"epoch {epoch + 1}/{epochs}, batch {batch + 1}" + (f"/{steps}" if steps else "")
    err = NonFiniteError(f"training stopped at {where}: {detail}")
    err.kind, err.epoch, err.batch = kind, epoch + 1, batch + 1
    return err


def _diagnose_loss(model, value, x, y):
    """Why the loss is not finite: a parameter, the inputs, the targets, or the computation."""
    bad = _first_nonfinite((n, p.array) for n, p in model.named_parameters())
    if bad:
        return "parameter", (
            f"parameter {bad[0]!r} contains {bad[1]}, so the loss is {value}; it went bad "
            f"outside the optimizer step (a callback, or edited by hand)"
        )
    for what, array in (("input batch", x), ("target batch", y)):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            rows = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
            return "loss", (
                f"the loss is {value} because the {what} contains NaN or inf (rows "
                f"{rows[:5].tolist()} of the batch); clean the data first"
            )
    return "loss", (
        f"the loss is {value}; the forward pass overflowed or took the log of 0 — lower the "
        f"learning rate, normalise the inputs, or find the op with cr.detect_anomaly()"
    )


class _RunningLogs:
    """The epoch so far: batch-size-weighted mean loss and the streaming metrics."""

    def __init__(self, metric_objs):
        self.metrics = metric_objs
        for m in metric_objs:
            m.reset()
        self.total = 0.0
        self.seen = 0

    def add(self, loss: float, n: int, y, out) -> None:
        self.total += loss * n
        self.seen += n
        for m in self.metrics:
            m.update(y, out)

    def logs(self) -> dict:
        logs = {"loss": self.total / self.seen if self.seen else math.nan}
        logs.update((m.name, m.result()) for m in self.metrics)
        return logs


def _under_mpi() -> bool:
    from chainrule.distributed.comm import launched_under_mpi

    return launched_under_mpi()


# ---- fit ------------------------------------------------------------------------------------
def fit(
    model,
    data,
    loss_fn,
    optimizer,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data=None,
    validation_split: float = 0.0,
    metrics: Iterable = _DEFAULT_METRICS,
    callbacks: Iterable = (),
    scheduler=None,
    verbose=True,
    shuffle: bool = True,
    seed: int | None = None,
    *,
    generator: Generator | None = None,
    initial_epoch: int = 0,
    check_finite: bool = True,
    distributed: bool | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batch gradient descent; returns a :class:`History`.

    Args:
        model: an ``nn.Module``. It is put in training mode for the run and in evaluation mode
            (``no_grad``) for validation; its mode before ``fit`` is restored at the end.
        data: ``(X, y)`` arrays or tensors, a ``Dataset`` yielding ``(x, y)`` samples, or a
            ``DataLoader`` (then ``batch_size``, ``shuffle``, ``seed`` and ``generator`` are
            the loader's own). Float features are converted to the dtype of the model's
            parameters; integer targets (class labels) stay integers.
        loss_fn: ``loss_fn(output, target)`` → scalar tensor, e.g. ``nn.CrossEntropyLoss()``.
            Targets of shape ``(N,)`` are reshaped to ``(N, 1)`` for a model with one output.
        optimizer: e.g. ``optim.SGD(model.parameters(), lr=0.1)``.
        epochs: train until this epoch count is reached (counting ``initial_epoch``).
        batch_size: samples per gradient step.
        validation_data: ``(X, y)``, a Dataset or a DataLoader scored after every epoch.
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
        scheduler: a learning-rate scheduler, stepped after every epoch (``ReduceLROnPlateau``
            with ``val_loss``, or ``loss`` without validation data); ``OneCycleLR`` is stepped
            after every batch, as it is designed to be.
        verbose: ``True``: a progress bar on a terminal, one line per epoch elsewhere;
            ``False``: silent; ``"bar"``/``"lines"`` to force one.
        shuffle: reshuffle the training samples every epoch.
        seed: shuffle with a private generator seeded with this (default: the global
            generator, seeded by ``cr.manual_seed``).
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
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer >= 0, got {epochs!r}")
    if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch <= epochs:
        raise ValueError(
            f"fit: initial_epoch must lie in [0, epochs={epochs}], got {initial_epoch!r}"
        )
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: validation_split must lie in [0, 1), got {validation_split!r}")
    if validation_split and validation_data is not None:
        raise ValueError("fit: give validation_data or validation_split, not both")
    if generator is None and seed is not None:
        generator = Generator(seed)
    dtype = _param_dtype(model)

    if validation_split:
        arrays = _arrays_of(data, "data")
        if arrays is None:
            raise TypeError(
                "fit: validation_split needs (X, y) arrays; for a Dataset or DataLoader, pass "
                "validation_data (e.g. from cr.data.train_test_split)"
            )
        X, y = arrays
        split_at = int(len(X) * (1.0 - validation_split))
        if split_at < 1 or split_at >= len(X):
            raise ValueError(
                f"fit: validation_split={validation_split} of {len(X)} samples leaves "
                f"{split_at} for training and {len(X) - split_at} for validation; both need >= 1"
            )
        data, validation_data = (X[:split_at], y[:split_at]), (X[split_at:], y[split_at:])
    backups = [cb for cb in (callbacks or ()) if isinstance(cb, BackupAndRestore)]
    data_hash = _data_hash(data, validation_data) if backups else None
    train_loader, samples = _loader(data, batch_size, shuffle, generator, dtype, "data")
    val_loader = None
    if validation_data is not None:
        val_loader, _ = _loader(
            validation_data, max(batch_size, 256), False, None, dtype, "validation_data"
        )

    dist = None
    if distributed or (distributed is None and _under_mpi()):
        from chainrule.distributed.training import DistributedRun

        dist = DistributedRun(model)
        options = {"epochs": int(epochs), "batch_size": train_loader.batch_size, "opt": optimizer}
        train_loader, val_loader = dist.loaders(
            train_loader, val_loader, shuffle, generator, options
        )
        verbose = verbose if dist.rank == 0 else False

    threshold = _threshold(loss_fn, model)
    if metrics is _DEFAULT_METRICS and _regression_targets(train_loader):
        metrics = ()
    train_metrics = _make_metrics(metrics, threshold)
    val_metrics = [m.clone() for m in train_metrics]
    names = [m.name for m in train_metrics]
    keys = ["loss", *names]
    if val_loader is not None:
        keys += [f"val_{k}" for k in ("loss", *names)]
    keys += ["lr", "time"]
    steps = len(train_loader)
    params = {
        "epochs": int(epochs),
        "initial_epoch": int(initial_epoch),
        "steps": steps,
        "batch_size": train_loader.batch_size,
        "samples": samples,
        "do_validation": val_loader is not None,
        "metrics": keys,
        "scheduler": scheduler,
        "generator": train_loader.generator,
        "data_sha256": data_hash,
        "loss_fn": loss_fn,
    }
    history = History(
        {k: v for k, v in params.items() if k not in ("scheduler", "generator", "loss_fn")}
    )
    callbacks = list(callbacks or ())
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback objects, got {type(cb).__name__}")
    if dist is not None:
        callbacks = dist.callbacks(callbacks)
    forward = model if dist is None else dist.ddp
    display = Progress(verbose)
    for cb in callbacks:
        cb.set_context(model, optimizer, params, display)
    batch_begin = [cb for cb in callbacks if _overrides(cb, "on_batch_begin")]
    batch_end = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]
    per_batch_scheduler = scheduler is not None and _per_batch(scheduler)

    parameters = list(model.parameters())
    if check_finite:
        bad = _first_nonfinite((n, p.array) for n, p in model.named_parameters())
        if bad:
            err = NonFiniteError(
                f"parameter {bad[0]!r} contains {bad[1]} before training starts; initialise or "
                f"load finite weights"
            )
            err.kind, err.epoch, err.batch = "parameter", None, None
            raise err

    for backup in backups:
        backup.set_callbacks(callbacks, history)
        resumed = backup.restore(callbacks, history)
        if resumed is not None:
            initial_epoch = min(max(initial_epoch, resumed), epochs)

    was_training = getattr(model, "training", True)
    model.train()
    final_logs: dict = {}
    display.train_begin(epochs, steps, initial_epoch)
    try:
        for cb in callbacks:
            cb.on_train_begin()
        stop = False
        for epoch in range(initial_epoch, epochs):
            started = time.perf_counter()
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            lr = float(optimizer.param_groups[0]["lr"])
            if dist is not None:
                dist.epoch_begin(epoch, model)
            display.epoch_begin(epoch)
            stats = _RunningLogs(train_metrics)
            done = 0
            for batch, item in enumerate(train_loader):
                xb, yb = _split_batch(item)
                for cb in batch_begin:
                    cb.on_batch_begin(batch)
                x = _as_input(xb, dtype)
                y = _target_array(yb)
                optimizer.zero_grad()
                out = forward(x)
                loss = loss_fn(out, Tensor._make(_fit_target(out.array, y), False))
                value = float(loss.array)
                if check_finite and not math.isfinite(value):
                    kind, detail = _diagnose_loss(model, value, x.array, y)
                    raise _nonfinite_error(kind, epoch, epochs, batch, steps, detail)
                loss.backward()
                if dist is not None:
                    dist.after_backward()
                if check_finite:
                    grads = [p.grad_array for p in parameters if p.grad_array is not None]
                    if not _all_finite(grads):
                        name, what = _first_nonfinite(
                            (n, p.grad_array) for n, p in model.named_parameters()
                        ) or ("(a parameter outside the model)", "NaN or inf")
                        raise _nonfinite_error(
                            "gradient",
                            epoch,
                            epochs,
                            batch,
                            steps,
                            f"the gradient of {name!r} contains {what} (the loss, {value:.6g}, "
                            f"is finite: an op's derivative overflowed or divided by zero; "
                            f"cr.detect_anomaly() names it). The step was not taken.",
                        )
                optimizer.step()
                if check_finite and not _all_finite([p.array for p in parameters]):
                    name, what = _first_nonfinite(
                        (n, p.array) for n, p in model.named_parameters()
                    ) or ("?", "NaN or inf")
                    raise _nonfinite_error(
                        "parameter",
                        epoch,
                        epochs,
                        batch,
                        steps,
                        f"the optimizer step made parameter {name!r} contain {what} (gradients "
                        f"were finite: the learning rate is probably too high)",
                    )
                n = len(y)
                stats.add(value, n, y, out.array)
                if per_batch_scheduler:
                    scheduler.step()
                for cb in batch_end:
                    cb.on_batch_end(batch, {"loss": value, "size": n})
                done += 1
                display.batch_end(batch, stats.logs)
                if any(cb.stop_training for cb in batch_end):
                    stop = True
                    break
            if stop and done < steps:
                history.stopped_early = True
                break  # an incomplete epoch is not recorded
            logs = stats.logs() if dist is None else dist.epoch_logs(stats)
            if val_loader is not None:
                scores = _score(
                    model, val_loader, loss_fn, val_metrics, dtype, threshold, dist and dist.reduce
                )
                logs.update((f"val_{k}", v) for k, v in scores.items())
                if check_finite and not math.isfinite(logs["val_loss"]):
                    raise NonFiniteError(
                        f"validation after epoch {epoch + 1}/{epochs}: the validation loss is "
                        f"{logs['val_loss']} (the training parameters are finite); check the "
                        f"validation data for NaN or inf"
                    )
                model.train()
            logs["lr"] = lr
            logs["time"] = time.perf_counter() - started
            history.append(epoch, logs)
            final_logs = logs
            if scheduler is not None and not per_batch_scheduler:
                if _is_plateau(scheduler):
                    scheduler.step(logs["val_loss"] if "val_loss" in logs else logs["loss"])
                else:
                    scheduler.step()
            display.epoch_end(epoch, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if stop or any(cb.stop_training for cb in callbacks):
                history.stopped_early = epoch + 1 < epochs
                break
    finally:
        display.train_end()
        model.train(was_training)
        for cb in callbacks:
            cb.on_train_end(final_logs)
    history.findings = [f for cb in callbacks for f in getattr(cb, "findings", None) or ()]
    return history


# ---- evaluate / predict -----------------------------------------------------------------
def _score(model, loader, loss_fn, metric_objs, dtype, threshold, reduce=None) -> dict:
    model.eval()
    for m in metric_objs:
        m.reset()
    total, seen = 0.0, 0
    with no_grad():
        for item in loader:
            xb, yb = _split_batch(item)
            y = _target_array(yb)
            out = model(_as_input(xb, dtype))
            if loss_fn is not None:
                loss = loss_fn(out, Tensor._make(_fit_target(out.array, y), False))
                total += float(loss.array) * len(y)
            seen += len(y)
            for m in metric_objs:
                m.update(y, out.array)
    if reduce is not None:  # distributed: every rank scored its share
        total, seen = reduce(total, seen, metric_objs)
    results = {}
    if loss_fn is not None:
        results["loss"] = total / seen if seen else math.nan
    results.update((m.name, m.result()) for m in metric_objs)
    return results


def evaluate(model, data, loss_fn=None, metrics=_DEFAULT_METRICS, batch_size: int = 256) -> dict:
    """Score a model on data: ``{"loss": ..., "accuracy": ...}`` (no ``"loss"`` without loss_fn).

    Runs in evaluation mode under ``no_grad`` (the model's mode is restored afterwards).
    Arguments as :func:`fit`. Without ``loss_fn``, a one-column output is read as a
    probability when the model ends in ``Sigmoid`` and as a logit otherwise.
    """
    dtype = _param_dtype(model)
    loader, _ = _loader(data, batch_size, False, None, dtype, "data")
    threshold = _threshold(loss_fn, model)
    if metrics is _DEFAULT_METRICS and _regression_targets(loader):
        metrics = ()
    metric_objs = _make_metrics(metrics, threshold)
    was_training = getattr(model, "training", False)
    try:
        return _score(model, loader, loss_fn, metric_objs, dtype, threshold)
    finally:
        model.train(was_training)


def predict(model, X, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``X`` as one NumPy array, computed in batches without a graph.

    ``X`` is an array or tensor of inputs (float features are converted to the model's dtype),
    or a Dataset/DataLoader whose samples' first field is the input. Runs in evaluation mode;
    the model's mode is restored afterwards. Outputs are raw (logits for a model without a
    final activation): ``predict(...).argmax(1)`` gives classes.
    """
    from chainrule.data.loader import DataLoader

    dtype = _param_dtype(model)
    if isinstance(X, DataLoader) or (
        hasattr(X, "__getitem__")
        and hasattr(X, "__len__")
        and not isinstance(X, (np.ndarray, Tensor, list, tuple))
    ):
        loader = X if isinstance(X, DataLoader) else DataLoader(X, batch_size=batch_size)
        batches = (item[0] if isinstance(item, (tuple, list)) else item for item in loader)
    else:
        array = _features(_plain(X, "X"), dtype)
        batches = (array[i : i + batch_size] for i in range(0, len(array), batch_size))
    was_training = getattr(model, "training", False)
    model.eval()
    outputs = []
    try:
        with no_grad():
            for xb in batches:
                outputs.append(np.asarray(model(_as_input(xb, dtype)).array))
    finally:
        model.train(was_training)
    if not outputs:
        raise DataError("predict: X has no rows")
    return np.concatenate(outputs)
