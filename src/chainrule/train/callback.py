"""The base class of callbacks: the hooks :func:`chainrule.fit` (and the playground) call.

See :mod:`chainrule.train.callbacks` for the order of calls and the ready-made callbacks.
"""

from __future__ import annotations

__all__ = ["Callback"]


class Callback:
    """Base class: every hook does nothing until a subclass overrides it.

    :func:`chainrule.fit` sets these attributes before ``on_train_begin``:

    * ``model`` — the model being trained;
    * ``optimizer`` — its optimizer (``param_groups`` hold the learning rates);
    * ``params`` — a dict describing the run: ``epochs``, ``initial_epoch``, ``steps``
      (batches per epoch, or ``None`` when unknown), ``batch_size``, ``samples``,
      ``do_validation``, ``metrics`` (the keys the epoch logs will have) and ``scheduler``.

    Set ``self.stop_training = True`` in any hook to end training: after the current batch
    when set in ``on_batch_end``, else after the current epoch. An epoch stopped after a batch
    is finished as Keras finishes it: its logs cover the batches run, validation runs,
    ``on_epoch_end`` is called and the history records it.

    For resuming a run exactly, :meth:`state_dict` returns what the callback has learned so
    far (a dict of plain values and NumPy arrays) and :meth:`load_state_dict` restores it;
    a restored callback keeps that state when the resumed ``fit`` begins.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: {logs['loss']:.3f}")
    """

    #: Whether the callback writes files (a distributed run lets only rank 0 write).
    writes_files = False
    #: Whether the callback watches the model's forward pass (wraps ``forward``, reads the
    #: layers' outputs). A compiled step replays the recorded ops and never calls ``forward``,
    #: so ``fit`` takes the eager step on the batches :meth:`wants_forward` names.
    needs_forward = False

    def __init__(self):
        self.model = None
        self.optimizer = None
        self.params: dict = {}
        self.stop_training = False
        self._display = None

    def set_context(self, model, optimizer, params: dict, display=None) -> None:
        """Called by :func:`chainrule.fit` before training starts."""
        self.model = model
        self.optimizer = optimizer
        self.params = params
        self._display = display
        self.stop_training = False

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def wants_forward(self, batch: int) -> bool:
        """Whether the coming step must call the model's ``forward`` (an eager step).

        Asked by ``fit`` after ``on_batch_begin(batch)``, only of callbacks with
        ``needs_forward``. The default says yes on every step; a callback that watches only
        some steps (the diagnosis ``Recorder``) answers per step, and ``fit(compile="auto")``
        takes the compiled step on the others. Mixing is exact: the compiled step gives the
        eager step's results bit for bit.
        """
        return self.needs_forward

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def _message(self, text: str) -> None:
        if self._display is not None:
            self._display.message(text)
        else:
            print(text)
