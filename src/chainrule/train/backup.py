"""Exact resume: :class:`BackupAndRestore` backs a run up after every epoch and restores it."""

from __future__ import annotations

import os
import warnings

from chainrule.errors import ChainruleError
from chainrule.train.callback import Callback
from chainrule.train.guard import parameters_finite
from chainrule.train.history import History

__all__ = ["BackupAndRestore"]


def _bad_state(path, problem: str):
    from chainrule.errors import ModelFormatError

    return ModelFormatError(
        f"{path}: the training state in this checkpoint is not what chainrule writes "
        f"({problem}); delete the file to start over"
    )


class BackupAndRestore(Callback):
    """Make a run resumable: back up its whole state after every epoch, restore it on restart.

    After each epoch one checkpoint file (``chainrule.io.checkpoint``, written atomically) holds
    the parameters and buffers, the optimizer's and the scheduler's state, the epoch, the
    shuffling generator's and the global generator's states (shuffle order, dropout masks),
    the state of every other callback (e.g. early stopping's best value and weights), the
    history so far, and a fingerprint of the run (data hash, batch size, sample count, logged
    keys). When ``fit`` starts with this callback and the file exists, it loads all of that and
    continues with the next epoch: a run killed at any moment and started again with the same
    script ends with exactly the weights and per-epoch losses of an uninterrupted run. A
    backup with non-finite parameters is never written, nor one of an epoch a callback stopped
    after a batch (a rerun resumes after the last complete epoch).

    Args:
        path: the checkpoint file (e.g. ``"run/backup.safetensors"``).
        resume: restore from ``path`` when it exists (``False``: always start fresh and
            overwrite it).

    Raises:
        ValueError: when resuming with different data, batch size or metrics than the run
            that wrote the backup.

    Example:
        >>> backup = BackupAndRestore("run/backup.safetensors")
        >>> # cr.fit(model, (X, y), loss_fn, opt, epochs=50, callbacks=[backup]) -- rerun the
        >>> # same line after a crash and training continues where it stopped.
    """

    writes_files = True
    backs_up_run = True  # its on_epoch_end runs after every other callback's (CallbackList)

    def __init__(self, path, resume: bool = True):
        super().__init__()
        self.path = os.fspath(path)
        self.resume = resume
        self.resumed_epoch = None
        self._context = None
        self._partial = None  # (epoch, batches done, steps) of an epoch stopped mid-way

    def _fingerprint(self) -> dict:
        p = self.params
        return {
            "data_sha256": p.get("data_sha256"),
            "batch_size": p.get("batch_size"),
            "samples": p.get("samples"),
            "metrics": list(p.get("metrics") or []),
        }

    def _generators(self):
        from chainrule.random import default_generator

        shuffle = self.params.get("generator") or default_generator
        return shuffle, default_generator

    def restore(self, callbacks, history) -> int | None:
        """Called by fit before ``on_train_begin``: load the backup; the epoch to start from."""
        if not (self.resume and os.path.exists(self.path)):
            return None
        from chainrule.io.checkpoint import load_checkpoint

        scheduler = self.params.get("scheduler")
        state = load_checkpoint(self.path, self.model, self.optimizer, scheduler)
        saved = state.get("fingerprint", {}) if isinstance(state, dict) else None
        if not isinstance(saved, dict):
            raise _bad_state(self.path, "it holds no run fingerprint")
        mine = self._fingerprint()
        for key in mine:
            if saved.get(key) != mine[key]:
                raise ValueError(
                    f"BackupAndRestore: {self.path} was written by a run with different "
                    f"{key.replace('_', ' ')} ({saved.get(key)!r} there, {mine[key]!r} now); "
                    f"resume with the same data and settings, or delete the file to start over"
                )
        try:
            return self._restore_state(state, callbacks, history)
        except ChainruleError:
            raise
        except (
            TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError,
            RecursionError,
        ) as exc:  # fmt: skip
            raise _bad_state(self.path, f"{type(exc).__name__}: {exc}") from None

    def _restore_state(self, state, callbacks, history) -> int:
        shuffle, default = self._generators()
        default.set_state_from_dict(state["default_generator"])
        if shuffle is not default:
            shuffle.set_state_from_dict(state["generator"])
        others = [cb for cb in callbacks if cb is not self]
        for cb, cb_state in zip(others, state.get("callbacks", [])):
            if cb_state:
                cb.load_state_dict(cb_state)
        restored = History.from_dict(state["history"])
        for key, values in restored.history.items():
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                raise TypeError(f"history {key!r} holds values that are not numbers")
        history.history, history.epoch = restored.history, restored.epoch
        self.resumed_epoch = int(state["epoch"]) + 1
        return self.resumed_epoch

    def set_callbacks(self, callbacks, history) -> None:
        self._context = (callbacks, history)

    def skip_partial_epoch(self, epoch: int, done: int, steps: int) -> None:
        """Called by ``fit`` when a callback stopped ``epoch`` after ``done`` of ``steps``
        batches: that epoch is not backed up (resuming from it would skip the rest of its
        batches), so a rerun resumes from the last complete epoch."""
        self._partial = (epoch, done, steps)

    def on_epoch_end(self, epoch, logs=None):
        partial, self._partial = self._partial, None
        if partial is not None and partial[0] == epoch:
            self._message(
                f"BackupAndRestore: not backing up epoch {epoch + 1}: training stopped after "
                f"batch {partial[1]}/{partial[2]}; the backup of the last complete epoch stays"
            )
            return
        if not parameters_finite(self.model):
            warnings.warn(
                f"BackupAndRestore: not backing up epoch {epoch + 1}: the model has NaN or "
                f"infinite parameters",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        from chainrule.io.checkpoint import save_checkpoint

        callbacks, history = self._context
        shuffle, default = self._generators()
        state = {
            "epoch": int(epoch),
            "fingerprint": self._fingerprint(),
            "generator": shuffle.state_as_dict(),
            "default_generator": default.state_as_dict(),
            "callbacks": [cb.state_dict() for cb in callbacks if cb is not self],
            "history": history.to_dict(),
        }
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        save_checkpoint(self.path, self.model, self.optimizer, self.params.get("scheduler"), state)
