"""ReportRecorder: the callback that collects what a run report shows besides the history.

Pass it to :func:`chainrule.fit` (``callbacks=[recorder]``); afterwards ``recorder.snapshots``
and ``recorder.grad_norms`` go to :func:`chainrule.report.write_report`. Its state travels in a
checkpoint (``state_dict``), so ``chainrule report CHECKPOINT_DIR`` can draw the same pictures.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import nn, registry
from chainrule.report import views
from chainrule.train.callbacks import Callback

MARKER = "chainrule.report"

# How the output reads for short names of losses outside chainrule.registry that a saved run
# may hold (a registered name reads its class's declared ``output``).
_OTHER_OUTPUTS = {"l1": "value", "huber": "value", "nll": "scores"}


def loss_name(loss) -> str | None:
    """The short name (``"bce"``, ``"ce"``, ``"mse"``, ``"nll"``) of a loss module, a name
    given as is, or None; an unregistered module gives its class name."""
    if loss is None or isinstance(loss, str):
        return loss
    key = registry.loss_key(loss)
    if key is not None:
        return key
    return "nll" if isinstance(loss, nn.NLLLoss) else type(loss).__name__


def output_kind(model, loss=None) -> str:
    """How the model's output reads as class probabilities (see :func:`views.probabilities`):
    what the loss declares (``output``), else what the model's last layer says."""
    if isinstance(loss, str):
        entry = registry.LOSSES.get(loss)
        kind = entry.cls.output if entry is not None else _OTHER_OUTPUTS.get(loss)
    else:
        kind = getattr(loss, "output", None)
    if kind in ("scores", "value"):
        return kind
    return views.output_kind(model)


class ReportRecorder(Callback):
    """Record decision-boundary snapshots (2-D classification data) and the gradient norm of
    every parameter, averaged over each epoch's batches.

    Args:
        X: the training features (the boundary is drawn over their range; 2 columns only).
        y: their class labels (kept, a sample of at most ``keep_rows``, for the report's dots).
        loss: the loss module or its name (``"bce"``, ``"ce"``, ``"mse"``), to read the output.
        snapshots: how many boundary pictures to keep over the run (first and last included).
        grid: cells per side of each boundary picture.
        keep_rows: data rows kept in the state for the report.

    Attributes:
        snapshots: ``[{"epoch", "size", "extent", "classes", "p", "label"?}, ...]``; epoch 0 is
            before training, epoch ``e`` after ``e`` epochs.
        grad_norms: ``{"epoch": [1, 2, ...], "norms": {"0.weight": [...], ...}}``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> X, y = cr.datasets.moons(n=64, seed=0)
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        >>> rec = ReportRecorder(X, y, loss="bce")
        >>> _ = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(),
        ...            optim.SGD(model.parameters(), lr=0.1), epochs=2, callbacks=[rec],
        ...            verbose=False)
        >>> [s["epoch"] for s in rec.snapshots], rec.grad_norms["epoch"]
        ([0, 1, 2], [1, 2])
    """

    def __init__(
        self, X=None, y=None, *, loss=None, snapshots: int = 9, grid: int = 40, keep_rows: int = 400
    ):
        super().__init__()
        X = None if X is None else np.asarray(getattr(X, "array", X), dtype=np.float64)
        y = None if y is None else np.asarray(getattr(y, "array", y)).reshape(-1)
        self.draw = (
            X is not None
            and y is not None
            and X.ndim == 2
            and X.shape[1] == 2
            and y.dtype.kind in "iub"
        )
        self.X, self.y = X, y
        self.loss = loss_name(loss)
        self._loss_obj = loss
        self.max_snapshots = max(2, int(snapshots))
        self.grid = int(grid)
        self.keep_rows = int(keep_rows)
        self.extent = views.extent(X) if self.draw else None
        self.snapshots: list = []
        self.grad_norms: dict = {"epoch": [], "norms": {}}
        self._sums: dict = {}
        self._batches = 0
        self._every = 1

    # ---- hooks ----------------------------------------------------------------------------
    def _snapshot(self, epoch: int) -> None:
        if not self.draw or not views.is_plottable_mlp(self.model):
            return
        if self.snapshots and self.snapshots[-1]["epoch"] == epoch:
            return
        kind = output_kind(self.model, self._loss_obj if self._loss_obj is not None else self.loss)
        b = views.boundary(self.model, self.extent, self.grid, kind)
        snap = {
            "epoch": int(epoch),
            "size": b["size"],
            "extent": b["extent"],
            "classes": b["classes"],
            "p": np.asarray(b["p"], dtype=np.float32),
        }
        if "label" in b:
            snap["label"] = np.asarray(b["label"], dtype=np.int16)
        self.snapshots.append(snap)

    def on_train_begin(self, logs=None):
        epochs = int(self.params.get("epochs") or 1)
        start = int(self.params.get("initial_epoch") or 0)
        self._every = max(1, math.ceil((epochs - start) / (self.max_snapshots - 1)))
        self._snapshot(start)

    def on_epoch_begin(self, epoch, logs=None):
        self._sums = {}
        self._batches = 0

    def on_batch_end(self, batch, logs=None):
        for name, norm in views.grad_norms(self.model).items():
            self._sums[name] = self._sums.get(name, 0.0) + norm
        self._batches += 1

    def on_epoch_end(self, epoch, logs=None):
        if self._batches:
            done = int(epoch) + 1
            self.grad_norms["epoch"].append(done)
            norms = self.grad_norms["norms"]
            for name, total in self._sums.items():
                series = norms.setdefault(name, [math.nan] * (len(self.grad_norms["epoch"]) - 1))
                series.append(total / self._batches)
            for series in norms.values():
                while len(series) < len(self.grad_norms["epoch"]):
                    series.append(math.nan)
        epochs = int(self.params.get("epochs") or 0)
        if (epoch + 1) % self._every == 0 or epoch + 1 >= epochs:
            self._snapshot(int(epoch) + 1)

    def on_train_end(self, logs=None):
        done = self.grad_norms["epoch"][-1] if self.grad_norms["epoch"] else None
        if done is not None:
            self._snapshot(done)

    # ---- what the report needs --------------------------------------------------------------
    def data_sample(self):
        """At most ``keep_rows`` rows of ``(X, y)`` (evenly spaced), or ``(None, None)``."""
        if self.X is None or self.y is None or len(self.X) == 0:
            return None, None
        n = len(self.X)
        # the dots need many rows of 2-D data; otherwise one row, for the explanation, is enough
        rows = min(n, self.keep_rows) if self.draw else 1
        if self.X.ndim != 2 or self.X.shape[1] > 10_000:
            return None, None
        idx = np.unique(np.linspace(0, n - 1, rows).astype(np.int64))
        return self.X[idx], self.y[idx]

    def state_dict(self) -> dict:
        X, y = self.data_sample()
        return {
            "marker": MARKER,
            "loss": self.loss,
            "snapshots": [dict(s) for s in self.snapshots],
            "grad_norms": {
                "epoch": list(self.grad_norms["epoch"]),
                "norms": {k: list(v) for k, v in self.grad_norms["norms"].items()},
            },
            "X": X,
            "y": y,
        }

    def load_state_dict(self, state: dict) -> None:
        self.snapshots = [dict(s) for s in state.get("snapshots", [])]
        saved = state.get("grad_norms") or {"epoch": [], "norms": {}}
        self.grad_norms = {
            "epoch": list(saved.get("epoch", [])),
            "norms": {k: list(v) for k, v in saved.get("norms", {}).items()},
        }
