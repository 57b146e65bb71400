"""History: what happened in each epoch of a training run, as returned by :func:`chainrule.fit`."""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """Per-epoch records of a training run, as in Keras.

    Attributes:
        history: dict of lists, one value per epoch: ``"loss"`` and every metric (e.g.
            ``"accuracy"``), their validation twins (``"val_loss"``, ``"val_accuracy"``) when
            there is validation data, ``"lr"`` (the learning rate used in the epoch) and
            ``"time"`` (seconds the epoch took, validation included).
        epoch: the epoch indices (0-based, starting at ``initial_epoch``) the lists refer to.
        params: the settings of the run (``epochs``, ``steps``, ``batch_size``, ...).
        stopped_early: True when a callback (e.g. ``EarlyStopping``) ended training before
            the last epoch, or in the middle of one (whose logs, recorded, cover the batches
            run).
        findings: the diagnosis of a run with a :class:`chainrule.diagnose.Recorder`
            (:class:`~chainrule.diagnose.Finding` objects, most severe first); else empty.
        compiled_steps, eager_steps: how many training steps ``fit`` took with the compiled
            step (``compile=``) and with the eager step.
        compile_reason: why the run took no compiled step (``None`` when it could; eager
            steps a callback asked for, such as the ``Recorder``'s, need no reason).

    Example:
        >>> h = History()
        >>> h.append(0, {"loss": 0.9, "accuracy": 0.5})
        >>> h.append(1, {"loss": 0.4, "accuracy": 0.8})
        >>> h.history["loss"], h.epoch
        ([0.9, 0.4], [0, 1])
        >>> h.best("loss")
        (1, 0.4)
    """

    def __init__(self, params: dict | None = None):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict = dict(params or {})
        self.stopped_early = False
        self.findings: list = []  # what cr.diagnose.Recorder found, most severe first
        self.compiled_steps = 0
        self.eager_steps = 0
        self.compile_reason: str | None = None

    def append(self, epoch: int, logs: dict) -> None:
        """Record one epoch's ``logs`` (a key new in a later epoch is padded with NaN before)."""
        for key, value in logs.items():
            if key not in self.history:
                self.history[key] = [math.nan] * len(self.epoch)
            self.history[key].append(value)
        self.epoch.append(epoch)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(math.nan)

    def __len__(self) -> int:
        return len(self.epoch)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """``(epoch, value)`` of the best value of ``monitor`` (lowest, or highest for scores)."""
        if monitor not in self.history:
            raise KeyError(f"no {monitor!r} in this history; it has {', '.join(self.history)}")
        values = self.history[monitor]
        higher = _higher_is_better(monitor, mode)
        finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
        if not finite:
            raise ValueError(f"{monitor!r} has no finite value")
        best = max(v for v, _ in finite) if higher else min(v for v, _ in finite)
        i = min(j for v, j in finite if v == best)  # the first epoch that reached it
        return self.epoch[i], best

    def to_dict(self) -> dict:
        """A JSON-able copy: ``{"history": {...}, "epoch": [...], "params": {...}}``."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "epoch": list(self.epoch),
            "params": dict(self.params),
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """The inverse of :meth:`to_dict` (used to continue a history after resuming)."""
        h = cls(data.get("params"))
        h.history = {k: list(v) for k, v in data["history"].items()}
        h.epoch = list(data["epoch"])
        h.stopped_early = bool(data.get("stopped_early", False))
        return h

    def plot(self, path=None, metrics=None, title: str | None = None):
        """Draw loss and metric curves (training solid, validation dashed), one panel each.

        Args:
            path: file to write (``.png``, ``.svg``, ``.pdf``; written atomically); ``None``
                returns the matplotlib ``Figure`` without saving it.
            metrics: the keys to draw besides the loss; default: every metric recorded.
            title: a title over the panels.

        Returns:
            The path written, or the figure when ``path`` is ``None``.
        """
        from chainrule.train.plot import history_curves

        return history_curves(self, path, metrics=metrics, title=title)

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items()} if self.epoch else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
        return f"History({len(self.epoch)} epochs{': ' + shown if shown else ''})"


_HIGHER_IS_BETTER = ("acc", "precision", "recall", "f1", "r2", "auc")


def _higher_is_better(monitor: str, mode: str = "auto") -> bool:
    """True when a larger value of ``monitor`` is better (``mode`` "max"), False for "min"."""
    if mode == "max":
        return True
    if mode == "min":
        return False
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return any(part in name for part in _HIGHER_IS_BETTER)
