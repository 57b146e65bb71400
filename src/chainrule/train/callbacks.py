"""Callbacks: code that :func:`chainrule.fit` runs at fixed points of training.

Subclass :class:`Callback` and override the hooks you need; pass instances in
``fit(..., callbacks=[...])``. Ready-made ones: :class:`EarlyStopping`,
:class:`ModelCheckpoint`, :class:`TerminateOnNaN`, :class:`CSVLogger`,
:class:`LearningRateScheduler`, :class:`BackupAndRestore` (exact resume) and
:class:`LambdaCallback`.

The base class is in :mod:`chainrule.train.callback`, :class:`BackupAndRestore` in
:mod:`chainrule.train.backup`; both are importable from here. The order of calls in one run::

    on_train_begin(logs)
        on_epoch_begin(epoch, logs)             # epoch counts from 0 (initial_epoch on resume)
            on_batch_begin(batch, logs)         # batch counts from 0 within the epoch
            on_batch_end(batch, logs)           # logs: {"loss": this batch's loss, "size": n}
        on_epoch_end(epoch, logs)               # logs: the epoch's loss, metrics, val_*, lr, time
    on_train_end(logs)                          # also when training stops with an error
"""

from __future__ import annotations

import copy
import inspect
import io
import math
import os
import string
import warnings

import numpy as np

from chainrule.train.backup import BackupAndRestore
from chainrule.train.callback import Callback
from chainrule.train.guard import parameters_finite
from chainrule.train.history import _higher_is_better

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "parameters_finite",
]


def _check_monitor(callback: str, monitor: str, params: dict) -> None:
    """Refuse, before the first epoch, to watch a quantity the run will never log."""
    keys = params.get("metrics")
    if keys is None or monitor in keys:
        return
    hint = ""
    if monitor.startswith("val_") and not params.get("do_validation"):
        hint = (
            "; this run has no validation data: pass validation_data or validation_split to "
            f"fit, or monitor {monitor[4:]!r}"
        )
    raise ValueError(
        f"{callback} monitors {monitor!r}, which this run does not log; it logs "
        f"{', '.join(keys)}{hint}"
    )


def _check_path_fields(path: str, params: dict) -> None:
    """Refuse, before the first epoch, a ModelCheckpoint path whose ``{fields}`` the logs will
    not fill: ``{val_loss}`` without validation data was a bare ``KeyError`` after an epoch."""
    keys = params.get("metrics")
    if keys is None:
        return
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(path) if name is not None]
    except ValueError as exc:
        raise ValueError(
            f"ModelCheckpoint: path {path!r} is not a format string ({exc}); write a literal "
            "brace as {{ or }}"
        ) from None
    fields = {name.split(".")[0].split("[")[0] for name in names}
    unknown = sorted(fields - {"epoch", *keys})
    if not unknown:
        return
    named = ", ".join(
        f"{{{k}}}" if k and not k.isdigit() else "{} (a positional field)" for k in unknown
    )
    hint = ""
    if any(k.startswith("val_") for k in unknown) and not params.get("do_validation"):
        hint = "; this run has no validation data (pass validation_data or validation_split)"
    raise ValueError(
        f"ModelCheckpoint: path {path!r} names {named}, which this run does not log; it can "
        f"name {{epoch}} and {', '.join(f'{{{k}}}' for k in keys)}{hint}"
    )


class _Monitor:
    """Shared by EarlyStopping and ModelCheckpoint: is a new value better than the best?"""

    def _setup_monitor(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.higher_is_better = _higher_is_better(monitor, mode)

    def _initial_best(self) -> float:
        return -math.inf if self.higher_is_better else math.inf

    def _improves(self, current: float, best: float) -> bool:
        if not math.isfinite(current):
            return False
        if self.higher_is_better:
            return current > best + self.min_delta
        return current < best - self.min_delta


class EarlyStopping(_Monitor, Callback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the log key to watch (``"val_loss"``, ``"val_accuracy"``, ``"loss"``, ...).
        patience: epochs without improvement to wait before stopping (``0``: stop at the
            first epoch that does not improve).
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``"max"`` for accuracy, precision, recall,
            F1 and R², else ``"min"``).
        restore_best_weights: when training ends (stopped early, run to the end, or stopped
            by an error), load the parameters of the best epoch back into the model.
        verbose: say when and why training stopped.

    Attributes:
        best, best_epoch: the best value so far and its epoch; ``stopped_epoch``: the epoch
        training stopped at (``None`` if it did not stop early); ``wait``: epochs since the
        last improvement.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        verbose: bool = False,
    ):
        super().__init__()
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        self._setup_monitor(monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self._reset()
        self._restored = False

    def _reset(self):
        self.wait = 0
        self.best = self._initial_best()
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        _check_monitor("EarlyStopping", self.monitor, self.params)
        if not self._restored:
            self._reset()
        self._restored = False

    def on_epoch_end(self, epoch, logs=None):
        current = float((logs or {}).get(self.monitor, math.nan))
        if self._improves(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                # a snapshot: state_dict()'s entries share the parameters' memory, as PyTorch's
                self.best_weights = copy.deepcopy(self.model.state_dict())
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.stop_training = True
            if self.verbose:
                self._message(
                    f"Early stopping at epoch {epoch + 1}: {self.monitor} has not improved for "
                    f"{self.wait} epoch(s); best {self.best:.6g} at epoch {self.best_epoch + 1}"
                    if self.best_epoch is not None
                    else f"Early stopping at epoch {epoch + 1}: {self.monitor} never improved"
                )

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                self._message(f"Restored the weights of epoch {self.best_epoch + 1}")

    def state_dict(self) -> dict:
        return {
            "wait": self.wait,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": None if self.best_weights is None else dict(self.best_weights),
        }

    def load_state_dict(self, state: dict) -> None:
        self.wait = int(state["wait"])
        self.best = float(state["best"])
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        weights = state.get("best_weights")
        self.best_weights = (
            None if weights is None else {k: np.array(v) for k, v in weights.items()}
        )
        self._restored = True


class ModelCheckpoint(_Monitor, Callback):
    """Save the model after each epoch (or only when it is the best so far).

    The file is written with :func:`chainrule.save` (safetensors, atomic: a crash leaves the
    previous file intact). A model with any NaN or infinite parameter is never written.

    Args:
        path: the file; may hold ``{epoch}`` and log keys as format fields, e.g.
            ``"ckpt/model-{epoch:03d}-{val_loss:.3f}.safetensors"`` (``epoch`` counts from 1).
        monitor: the log key deciding "best" (used with ``save_best_only``).
        save_best_only: write only when ``monitor`` improves on the best value so far.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (as :class:`EarlyStopping`).
        metadata: extra JSON-able metadata stored in each file (besides epoch and logs).
        verbose: say when a file is written.

    Attributes:
        best: the best monitored value so far; ``last_path``: the last file written (or None).
    """

    writes_files = True

    def __init__(
        self,
        path,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        metadata: dict | None = None,
        verbose: bool = False,
    ):
        super().__init__()
        self.path = os.fspath(path)
        self._setup_monitor(monitor, mode, 0.0)
        self.save_best_only = save_best_only
        self.metadata = dict(metadata or {})
        self.verbose = verbose
        self.best = self._initial_best()
        self.last_path = None
        self.skipped_nonfinite = 0
        self._restored = False

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            _check_monitor("ModelCheckpoint", self.monitor, self.params)
        _check_path_fields(self.path, self.params)
        if not self._restored:
            self.best = self._initial_best()
        self._restored = False

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        current = float(logs.get(self.monitor, math.nan))
        if self.save_best_only and not self._improves(current, self.best):
            return
        if not parameters_finite(self.model):
            self.skipped_nonfinite += 1
            warnings.warn(
                f"ModelCheckpoint: not saving epoch {epoch + 1}: the model has NaN or infinite "
                f"parameters (the last good file, if any, is left as it was)",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self.save_best_only:
            self.best = current
        path = self.path.format(epoch=epoch + 1, **logs)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        from chainrule.io.model import save

        numbers = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
        save(self.model, path, metadata={**self.metadata, "epoch": epoch + 1, "logs": numbers})
        self.last_path = path
        if self.verbose:
            self._message(f"Saved {path} ({self.monitor} = {current:.6g})")

    def state_dict(self) -> dict:
        return {"best": self.best, "last_path": self.last_path}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.last_path = state.get("last_path")
        self._restored = True


class TerminateOnNaN(Callback):
    """End training quietly after a batch whose loss is NaN or infinite.

    :func:`chainrule.fit` already stops at the first non-finite loss, gradient or parameter by
    raising :class:`chainrule.NonFiniteError` (``check_finite=True``, the default). This
    callback is for runs with ``check_finite=False`` that should stop without an exception,
    as in Keras; as in Keras the stopped epoch is recorded, its loss NaN.
    """

    def __init__(self):
        super().__init__()
        self.terminated_at = None

    def on_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.terminated_at = batch
            self.stop_training = True
            self._message(f"Batch {batch + 1}: loss is {loss}; terminating training")


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file, rewritten atomically after every epoch.

    Columns: ``epoch`` (counting from 1), then the log keys in the order fit records them.
    A reader (or a crash) never sees a half-written row.

    Args:
        path: the CSV file.
        separator: the column separator.
        append: keep the rows already in the file (e.g. when resuming) and add after them.
    """

    writes_files = True

    def __init__(self, path, separator: str = ",", append: bool = False):
        super().__init__()
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self.rows: list[dict] = []
        self._previous = ""
        self._restored = False

    def on_train_begin(self, logs=None):
        if self._restored:  # a resumed run: the rows of the epochs already run come back
            self._restored = False
            return
        self.rows = []
        self._previous = ""
        if self.append and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self._previous = f.read()

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **(logs or {})})
        self._write()

    def state_dict(self) -> dict:
        return {"rows": [dict(row) for row in self.rows], "previous": self._previous}

    def load_state_dict(self, state: dict) -> None:
        """The rows so far (BackupAndRestore): a resumed run rewrites them before its own;
        it wrote only the epochs after the backup, and the file lost the earlier ones."""
        self.rows = [dict(row) for row in state["rows"]]
        self._previous = str(state.get("previous") or "")
        self._restored = True

    def _write(self):
        from chainrule.io.atomic import atomic_write

        keys: list[str] = []
        for row in self.rows:
            keys.extend(k for k in row if k not in keys)
        out = io.StringIO()
        if self._previous:
            out.write(self._previous if self._previous.endswith("\n") else self._previous + "\n")
        else:
            out.write(self.separator.join(keys) + "\n")
        for row in self.rows:
            out.write(self.separator.join(_cell(row.get(k, "")) for k in keys) + "\n")
        atomic_write(self.path, out.getvalue().encode("utf-8"))


def _cell(value) -> str:
    if isinstance(value, float):
        return repr(value)  # every digit: the file reproduces the numbers exactly
    return str(value)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from a function.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` (or ``schedule(epoch) -> new_lr``); epoch
            counts from 0, ``lr`` is the current rate of the first parameter group. Every
            parameter group gets the new rate.
        verbose: print each change.

    Example:
        >>> halve_every_10 = LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch and
        ...     epoch % 10 == 0 else lr)
    """

    def __init__(self, schedule, verbose: bool = False):
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler needs a function schedule(epoch, lr)")
        self.schedule = schedule
        self.verbose = verbose
        try:
            positional = [
                p
                for p in inspect.signature(schedule).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            ]
            self._takes_lr = len(positional) >= 2 or any(
                p.kind == p.VAR_POSITIONAL for p in positional
            )
        except (TypeError, ValueError):
            self._takes_lr = True

    def on_epoch_begin(self, epoch, logs=None):
        groups = self.optimizer.param_groups
        lr = float(groups[0]["lr"])
        new = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        try:
            new = float(new)
        except (TypeError, ValueError) as err:
            raise TypeError(f"the learning-rate schedule returned {new!r}, not a number") from err
        if not math.isfinite(new) or new < 0:
            raise ValueError(f"the learning-rate schedule returned {new} at epoch {epoch}")
        for group in groups:
            group["lr"] = new
        if self.verbose and new != lr:
            self._message(f"Epoch {epoch + 1}: learning rate {lr:.6g} -> {new:.6g}")


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Each argument is a function taking the same arguments as the hook of that name.
    """

    def __init__(self, **hooks):
        super().__init__()
        known = {n for n in dir(Callback) if n.startswith("on_")}
        unknown = set(hooks) - known
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hook(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        for name, fn in hooks.items():
            setattr(self, name, fn)
