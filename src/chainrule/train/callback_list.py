"""The callbacks of one run, called in order at each point of training (Keras 3's shape).

A training loop holds one :class:`CallbackList` and calls its hooks; the list calls the same
hook on each callback in the order they were given. Batch hooks go only to the callbacks that
override them, so an epoch-level callback costs nothing per batch.
"""

from __future__ import annotations

from chainrule.train.callbacks import Callback

__all__ = ["CallbackList"]


def _overrides(callback, hook: str) -> bool:
    method = getattr(callback, hook)
    return getattr(method, "__func__", method) is not getattr(Callback, hook)


class CallbackList:
    """Several :class:`~chainrule.callbacks.Callback` objects behaving as one.

    Args:
        callbacks: the callbacks, called in this order.
        owner: who is training (used in the error for an object that is not a Callback).

    Example:
        >>> from chainrule.train.callbacks import LambdaCallback
        >>> seen = []
        >>> cbs = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
        >>> cbs.on_epoch_end(0, {"loss": 1.0})
        >>> seen
        [0]
    """

    def __init__(self, callbacks=(), owner: str = "fit"):
        self.callbacks = list(callbacks or ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"{owner}: callbacks must be Callback objects, got {type(cb).__name__}"
                )
        self._index_batch_hooks()
        self._model = None

    def _index_batch_hooks(self) -> None:
        self._batch_begin = [cb for cb in self.callbacks if _overrides(cb, "on_batch_begin")]
        self._batch_end = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        self._watching = [cb for cb in self.callbacks if getattr(cb, "needs_forward", False)]
        # A backup records every other callback's state (early stopping's counters, a logger's
        # rows): it runs after them at the end of an epoch, whatever the order it was given in.
        # Before them, it saved their state of the epoch before, and a resumed run stopped at
        # another epoch than the uninterrupted one.
        last = [cb for cb in self.callbacks if getattr(cb, "backs_up_run", False)]
        self._epoch_end = [cb for cb in self.callbacks if cb not in last] + last

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def replace(self, callbacks) -> None:
        """Use ``callbacks`` from now on (e.g. wrapped for a distributed run)."""
        self.callbacks = list(callbacks)
        self._index_batch_hooks()

    def set_context(self, model, optimizer, params: dict, display=None) -> None:
        self._model = model
        for cb in self.callbacks:
            cb.set_context(model, optimizer, params, display)

    # ---- hooks, in the order a run calls them -------------------------------------------
    # Hooks given no logs are called without them, so callbacks written as
    # ``LambdaCallback(on_epoch_begin=lambda epoch: ...)`` keep working.
    def on_train_begin(self, logs=None) -> None:
        args = () if logs is None else (logs,)
        for cb in self.callbacks:
            cb.on_train_begin(*args)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        args = () if logs is None else (logs,)
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, *args)

    def on_batch_begin(self, batch: int, logs=None) -> None:
        args = () if logs is None else (logs,)
        for cb in self._batch_begin:
            cb.on_batch_begin(batch, *args)

    def on_batch_end(self, batch: int, logs=None) -> None:
        for cb in self._batch_end:
            cb.on_batch_end(batch, logs)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        for cb in self._epoch_end:
            cb.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None) -> None:
        for cb in self.callbacks:
            cb.on_train_end(logs)

    # ---- eager or compiled steps --------------------------------------------------------------
    def wants_forward(self, batch: int) -> bool:
        """Whether a callback watching the forward pass needs this step eager."""
        return any(cb.wants_forward(batch) for cb in self._watching)

    def forward_on_every_step(self) -> list[str]:
        """The names of callbacks that watch the forward pass of every step (they do not
        say per step, through ``wants_forward``, which steps they watch)."""
        return [type(cb).__name__ for cb in self._watching if not _overrides(cb, "wants_forward")]

    # ---- stopping ---------------------------------------------------------------------------
    @property
    def has_batch_hooks(self) -> bool:
        return bool(self._batch_begin or self._batch_end)

    def user_batch_hooks(self) -> bool:
        """Whether a callback not of chainrule's own runs between batches (it may change a
        module's mode or settings there, which a compiled step must notice)."""
        hooked = self._batch_begin + self._batch_end
        return any(not type(cb).__module__.startswith("chainrule.") for cb in hooked)

    def stop_after_batch(self) -> bool:
        """Whether a batch-level callback asked to stop (checked after every batch)."""
        return any(cb.stop_training for cb in self._batch_end) or self.model_asks_to_stop()

    @property
    def stop_training(self) -> bool:
        """Whether any callback asked to stop."""
        return any(cb.stop_training for cb in self.callbacks) or self.model_asks_to_stop()

    def model_asks_to_stop(self) -> bool:
        """Keras's way to stop, ``self.model.stop_training = True`` in a callback, honoured
        (it was a plain attribute of the module that nothing read: training went on)."""
        return self._model is not None and vars(self._model).get("stop_training") is True

    def findings(self) -> list:
        """What the callbacks found (e.g. the diagnosis), in callback order."""
        return [f for cb in self.callbacks for f in getattr(cb, "findings", None) or ()]
