"""A training record as the diagnosis rules read it: curves, per-layer medians, the data sample,
and the number formats the findings' sentences use."""

from __future__ import annotations

import math

import numpy as np

from chainrule.diagnose.thresholds import MIN_EPOCHS_CURVE, MIN_STEPS_CURVE

__all__ = ["RunView", "median", "num", "pct"]


def num(v: float) -> str:
    """A number for a sentence: 3 significant digits."""
    if v is None or not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


def pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def median(values) -> float:
    """The median of the non-NaN values (NaN when there are none); plain Python, as the lists
    are short and NumPy's median costs more in overhead than in work here."""
    kept = sorted(float(v) for v in values if v is not None and v == v)
    if not kept:
        return math.nan
    mid = len(kept) // 2
    return kept[mid] if len(kept) % 2 else 0.5 * (kept[mid - 1] + kept[mid])


class RunView:
    """Convenient views of a record: curves, per-layer medians, the data sample."""

    def __init__(self, rec: dict):
        self.rec = rec
        self.losses = np.asarray(rec.get("batch_loss") or [], dtype=np.float64)
        epochs = rec.get("epochs") or {}
        self.epochs = {k: np.asarray(v, dtype=np.float64) for k, v in epochs.items()}
        self.n_epochs = len(self.epochs.get("loss", ()))
        self.params = list(rec.get("params") or [])
        self.shapes = {k: tuple(v) for k, v in (rec.get("shapes") or {}).items()}
        sample = rec.get("sample") or {}
        x, y = sample.get("x"), sample.get("y")
        self.x = None if x is None else np.asarray(x, dtype=np.float64)
        self.y = None if y is None else np.asarray(y, dtype=np.float64)
        if self.x is not None and self.y is not None and len(self.x) == len(self.y):
            # small data sets are sampled many times over: count each row once
            rows = np.ascontiguousarray(np.concatenate([self.x, self.y], axis=1))
            first: dict = {}
            for i, row in enumerate(rows):  # a dict of the rows' bytes: no sort of 785 columns
                first.setdefault(row.tobytes(), i)
            keep = np.fromiter(first.values(), dtype=np.intp, count=len(first))
            self.x, self.y = self.x[keep], self.y[keep]
        self.x_integer = bool(rec.get("x_integer"))

    # curves
    def finite_losses(self) -> np.ndarray:
        return self.losses[np.isfinite(self.losses)]

    def start_end(self) -> tuple[float, float] | None:
        """The loss at the start and at the end: medians of the first and last few batches."""
        if not hasattr(self, "_ends"):
            self._ends = self._start_end()
        return self._ends

    def _start_end(self):
        losses = self.losses
        if len(losses) < 2:
            return None
        k = max(1, min(10, len(losses) // 10))
        head, tail = losses[:k], losses[-k:]
        if not (np.isfinite(head).all() and np.isfinite(tail).all()):
            return None
        return median(head.tolist()), median(tail.tolist())

    def end_floor(self) -> float:
        """The lowest of the last few batch losses (those :meth:`start_end` takes the median
        of): where a few rows far off the rest (outliers) make the batch losses heavy-tailed,
        the batches without them still show how the model does on the bulk of the data."""
        losses = self.losses
        k = max(1, min(10, len(losses) // 10))
        return float(np.min(losses[-k:]))

    def curve(self, key: str = "loss") -> np.ndarray:
        values = self.epochs.get(key)
        return np.asarray([] if values is None else values, dtype=np.float64)

    def long_enough(self) -> bool:
        return self.n_epochs >= MIN_EPOCHS_CURVE or len(self.losses) >= MIN_STEPS_CURVE

    def smooth_curve(self) -> np.ndarray:
        """Epoch losses, or for runs of few epochs the batch losses averaged in 10 chunks."""
        if self.n_epochs >= MIN_EPOCHS_CURVE:
            return self.curve("loss")
        losses = self.losses
        if len(losses) < MIN_STEPS_CURVE:
            return np.asarray([])
        return np.asarray([c.mean() for c in np.array_split(losses, 10)])

    # per-layer numbers: medians over the second half (or first quarter) of the records
    def late(self, series) -> float:
        values = list(series)
        return median(values[len(values) // 2 :])

    def first(self, series) -> float:
        """The first recorded value: the state before training moved much (NaN if none)."""
        return next((float(v) for v in series if v is not None and v == v), math.nan)

    def early(self, series) -> float:
        values = list(series)
        return median(values[: max(1, len(values) // 4)])

    def lr(self) -> float | None:
        """The learning rate of the last epoch (schedulers change it), else the first one."""
        rates = self.curve("lr")
        rates = rates[np.isfinite(rates)]
        return float(rates[-1]) if rates.size else self.rec.get("lr")

    def weights(self) -> list[str]:
        """Weight matrices (2 or more dimensions), first layer first."""
        names = [n for n in self.params if len(self.shapes.get(n, ())) >= 2]
        names = names or [n for n in self.params if n.endswith("weight")]
        # in the order the forward pass ran their layers, where the record has it: a model that
        # defines its head before its body has the head's weights first in named_parameters
        ran = {m: i for i, m in enumerate(self.rec.get("module_order") or [])}
        if ran:
            names.sort(key=lambda n: ran.get(n.rpartition(".")[0], len(ran)))
        return names

    def grad_rms(self, name: str) -> float:
        size = int(np.prod(self.shapes.get(name, (1,)))) or 1
        return self.late(self.rec.get("grad_norm", {}).get(name, [])) / math.sqrt(size)

    def median_ratio(self) -> float:
        ratios = [self.late(self.rec.get("update_ratio", {}).get(n, [])) for n in self.weights()]
        ratios = [r for r in ratios if math.isfinite(r)]
        return median(ratios)

    def regression(self) -> bool:
        name = (self.rec.get("loss_name") or "").lower()
        if any(k in name for k in ("mse", "l1", "huber", "smooth")):
            return True
        if any(k in name for k in ("entropy", "bce", "nll")):
            return False
        y = self.y
        return y is not None and not np.array_equal(y, np.round(y))

    def classes(self) -> np.ndarray | None:
        """Class labels of the target sample (one column of whole numbers), else None."""
        if self.y is None or self.regression() or self.y.shape[1] != 1:
            return None
        y = self.y[:, 0]
        return y if np.array_equal(y, np.round(y)) else None
