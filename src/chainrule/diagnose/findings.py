"""Findings: what went wrong in a training run, in one sentence each, with numbers and a fix.

Each rule is one small function that reads a :class:`~chainrule.diagnose.Recorder`'s record
and returns a :class:`Finding` or ``None``. :func:`diagnose` runs them all and ranks what they
find: by severity first (``critical``, ``warning``, ``info``), then causes before symptoms
(a dead ReLU layer also makes the early gradients vanish; the dead layer is named first).
The thresholds are the named constants below; ``docs/diagnose.md`` explains each one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["RULES", "Finding", "diagnose", "summary"]

# ---- thresholds ----------------------------------------------------------------------------
LOSS_ROSE_FACTOR = 2.0  # the loss ending this many times above its start: the run made it worse
LOSS_ROSE_MIN = 0.1  # ... and by at least this much in absolute terms
LR_HIGH_RATIO = 1e-2  # median |Δw| / |w| per step above this, with a loss that rises/oscillates
LR_HUGE_RATIO = 0.5  # median |Δw| / |w| per step above this: too high whatever the loss does
LR_LOW_RATIO = 1e-5  # |Δw| / |w| per step of every weight layer below this, loss barely moving
LOW_PROGRESS = 0.05  # "barely moves": the loss fell by less than this share of its start
RISE_FROM_BEST = 1.3  # "rises": the last epoch's loss this many times its best epoch's
OSCILLATION_SHARE = 0.4  # "oscillates": at least this share of epoch-to-epoch changes are rises
OSCILLATION_SIZE = 0.05  # ... changes averaging at least this share of the largest loss
GIVE_BACK = 0.25  # a rise from the best must give back this share of the progress made
EXPLODING_NORM = 100.0  # a layer's gradient norm above this
GRADIENT_RATIO = 100.0  # first vs last weight layer's gradient RMS differing by this factor
DEAD_FRACTION = 0.5  # share of a ReLU layer's units that never fire on a batch
SATURATED_FRACTION = 0.4  # share of a sigmoid/tanh layer's outputs in the flat tails
LEARNED = 0.5  # a run whose loss fell by this share has learned (late saturation is fine)
FEATURE_SCALE = 20.0  # a feature whose |mean| or standard deviation exceeds this
TARGET_SCALE = 10.0  # regression targets whose root mean square exceeds this
LEAK_CORRELATION = 0.9999  # |correlation| of a feature with a numeric target
IMBALANCE_SHARE = 0.8  # the majority class's share of the targets
MAJORITY_MARGIN = 0.01  # accuracy within this of the majority share: "at the majority rate"
OVERFIT_RISE = 0.1  # validation loss this share above its best ...
OVERFIT_MIN_RISE = 0.02  # ... and by at least this much
OVERFIT_TRAIN_DROP = 0.1  # while the training loss fell by this share after the best epoch
PLATEAU_PROGRESS = 0.05  # the loss fell by less than this share of its start over the run
MIN_EPOCHS_CURVE = 5  # epochs needed before reading trends (oscillation, overfitting, plateau)
MIN_STEPS_CURVE = 30  # or optimizer steps, for runs with few long epochs
MIN_SAMPLE_ROWS = 20  # rows of data needed for the data checks

SEVERITIES = ("critical", "warning", "info")


@dataclass
class Finding:
    """One thing that went wrong, said in plain language.

    Attributes:
        code: a stable identifier (``"VANISHING_GRADIENTS"``, ``"DEAD_RELU"``, ...).
        severity: ``"critical"`` (the run's result is not usable), ``"warning"`` or ``"info"``.
        sentence: what happened, with the numbers that show it.
        fix: what to change.
        evidence: the numbers behind the sentence, by name.
        explanation: for vanishing gradients and dead ReLUs, the chain rule written out along
            one path with the real numbers (``None`` when it could not be computed).
        chain: the data behind ``explanation`` (factors with their values), JSON-able.
    """

    code: str
    severity: str
    sentence: str
    fix: str
    evidence: dict = field(default_factory=dict)
    explanation: str | None = None
    chain: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.code}: {self.sentence}\n  fix: {self.fix}"
        if self.explanation:
            text += "\n" + "\n".join("  " + line for line in self.explanation.splitlines())
        return text


# ---- reading the record ----------------------------------------------------------------------
def _g(v: float) -> str:
    """A number for a sentence: 3 significant digits."""
    if v is None or not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _median(values) -> float:
    """The median of the non-NaN values (NaN when there are none); plain Python, as the lists
    are short and NumPy's median costs more in overhead than in work here."""
    kept = sorted(float(v) for v in values if v is not None and v == v)
    if not kept:
        return math.nan
    mid = len(kept) // 2
    return kept[mid] if len(kept) % 2 else 0.5 * (kept[mid - 1] + kept[mid])


class _Run:
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
        return _median(head.tolist()), _median(tail.tolist())

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
        return _median(values[len(values) // 2 :])

    def early(self, series) -> float:
        values = list(series)
        return _median(values[: max(1, len(values) // 4)])

    def lr(self) -> float | None:
        """The learning rate of the last epoch (schedulers change it), else the first one."""
        rates = self.curve("lr")
        rates = rates[np.isfinite(rates)]
        return float(rates[-1]) if rates.size else self.rec.get("lr")

    def weights(self) -> list[str]:
        """Weight matrices (2 or more dimensions), first layer first."""
        names = [n for n in self.params if len(self.shapes.get(n, ())) >= 2]
        return names or [n for n in self.params if n.endswith("weight")]

    def grad_rms(self, name: str) -> float:
        size = int(np.prod(self.shapes.get(name, (1,)))) or 1
        return self.late(self.rec.get("grad_norm", {}).get(name, [])) / math.sqrt(size)

    def median_ratio(self) -> float:
        ratios = [self.late(self.rec.get("update_ratio", {}).get(n, [])) for n in self.weights()]
        ratios = [r for r in ratios if math.isfinite(r)]
        return _median(ratios)

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


# ---- the rules: each reads the run and returns a Finding or None ---------------------------
def diverged(run: _Run) -> Finding | None:
    error = run.rec.get("error")
    bad = ~np.isfinite(run.losses)
    curve = run.curve("loss")
    if error is None and not bad.any() and np.isfinite(curve).all():
        return None
    finite = run.finite_losses()
    start = _g(finite[0]) if finite.size else "?"
    last = _g(finite[-1]) if finite.size else "?"
    if error is not None:
        kind = error.get("kind") or "loss"
        where = f"epoch {error.get('epoch')}, batch {error.get('batch')}"
        what = {"gradient": "a gradient", "parameter": "a parameter"}.get(kind, "the loss")
        sentence = (
            f"Training diverged: {what} became NaN or infinite at {where}, after the loss had "
            f"gone from {start} to {last}."
        )
    else:
        step = int(np.argmax(bad)) * int(run.rec.get("loss_stride", 1)) if bad.any() else None
        where = f"at step {step + 1}" if step is not None else "in an epoch's logs"
        sentence = (
            f"Training diverged: the loss became NaN or infinite {where}, after going from "
            f"{start} to {last}."
        )
    ratio = run.median_ratio()
    return Finding(
        "DIVERGED",
        "critical",
        sentence,
        "Lower the learning rate (try 10x smaller) and standardise the inputs and targets; if "
        "one bad batch sets it off, clip the gradients' norm before each step.",
        {"loss_start": start, "loss_last_finite": last, "median_update_ratio": ratio},
    )


def loss_rose(run: _Run) -> Finding | None:
    ends = run.start_end()
    if ends is None or run.rec.get("error") is not None:
        return None
    # the first batch's loss is the only one before any step: a huge learning rate has
    # already wrecked the model by the second
    start, end = float(run.losses[0]), ends[1]
    if not (end > LOSS_ROSE_FACTOR * start and end - start > LOSS_ROSE_MIN):
        return None
    ratio = run.median_ratio()
    return Finding(
        "LOSS_ROSE",
        "critical",
        f"The loss ended at {_g(end)}, {_g(end / start)}x where it began ({_g(start)}): "
        f"training made the model worse (each step changed the weights by "
        f"{_g(ratio)} of their size).",
        "Lower the learning rate by 10x or more until the loss falls in the first epochs; "
        "standardise inputs and targets.",
        {"loss_start": start, "loss_end": end, "median_update_ratio": ratio},
    )


def _rises(run: _Run) -> tuple[bool, str]:
    """Whether the loss rises (ends well above its best) or oscillates, and how it does."""
    curve = run.smooth_curve()
    curve = curve[np.isfinite(curve)]
    if len(curve) < 3:
        return False, ""
    best, first, top = float(curve.min()), float(curve[0]), float(np.abs(curve).max())
    # a rise counts when it gives back a real share of the progress made (near a loss of 0,
    # 0.018 -> 0.027 is noise, not a learning rate problem)
    gave_back = curve[-1] - best >= GIVE_BACK * max(first - best, 0.0)
    if best > 0 and curve[-1] > RISE_FROM_BEST * best and gave_back:
        return True, f"the loss ends at {_g(curve[-1])}, above its best {_g(best)}"
    changes = np.diff(curve)
    ups = changes > 0
    size = float(np.abs(changes).mean()) / max(top, 1e-12)
    if ups.mean() >= OSCILLATION_SHARE and size >= OSCILLATION_SIZE:
        return True, (
            f"the loss went up in {int(ups.sum())} of {len(changes)} epochs, by "
            f"{_pct(size)} of its largest value on average"
        )
    return False, ""


def lr_too_high(run: _Run) -> Finding | None:
    ratio = run.median_ratio()
    if not math.isfinite(ratio) or ratio <= LR_HIGH_RATIO:
        return None
    rising, how = _rises(run)
    if not rising and ratio <= LR_HUGE_RATIO:
        return None
    lr = run.lr()
    lr_text = f" (lr {_g(lr)})" if lr is not None else ""
    because = f"{how}, and " if rising else ""
    return Finding(
        "LR_TOO_HIGH",
        "warning",
        f"The learning rate{lr_text} is too high: {because}each step changes the weights by "
        f"{_g(ratio)} of their size (median |Δw|/|w|; about 1e-3 is healthy, above "
        f"{_g(LR_HIGH_RATIO)} the steps overshoot).",
        "Divide the learning rate by 10 (or use a scheduler such as ReduceLROnPlateau).",
        {"median_update_ratio": ratio, "lr": lr, "curve": how},
    )


def exploding(run: _Run) -> Finding | None:
    weights = run.weights()
    norms = {n: run.late(run.rec.get("grad_norm", {}).get(n, [])) for n in run.params}
    norms = {n: v for n, v in norms.items() if math.isfinite(v)}
    if not norms:
        return None
    name, top = max(norms.items(), key=lambda kv: kv[1])
    spread = None
    if len(weights) >= 2:
        first, last = run.grad_rms(weights[0]), run.grad_rms(weights[-1])
        if last > 0 and math.isfinite(first) and first / last >= GRADIENT_RATIO:
            spread = first / last
    if top <= EXPLODING_NORM and spread is None:
        return None
    if spread is not None:
        sentence = (
            f"Gradients explode on their way back: the first layer's ({weights[0]}) are "
            f"{_g(spread)}x larger than the last layer's ({weights[-1]}) per weight, and the "
            f"largest gradient norm is {_g(top)} ({name})."
        )
    else:
        sentence = (
            f"Gradients explode: the gradient norm of {name} is {_g(top)} (above "
            f"{_g(EXPLODING_NORM)}), so each step throws the weights around."
        )
    return Finding(
        "EXPLODING_GRADIENTS",
        "warning",
        sentence,
        "Initialise with smaller weights (Kaiming/He for ReLU: std = sqrt(2/fan_in); "
        "Xavier for tanh), lower the learning rate, clip gradients, or add normalisation.",
        {"max_grad_norm": top, "param": name, "first_to_last": spread},
    )


def dead_relu(run: _Run) -> Finding | None:
    worst = None
    for name, stats in (run.rec.get("activations") or {}).items():
        if stats.get("kind") != "relu":
            continue
        dead = run.late(stats.get("dead", []))
        if math.isfinite(dead) and dead >= DEAD_FRACTION and (worst is None or dead > worst[1]):
            worst = (name, dead, stats.get("layer", "ReLU"))
    if worst is None:
        return None
    name, dead, layer = worst
    return Finding(
        "DEAD_RELU",
        "warning",
        f"{_pct(dead)} of the units of layer {name} ({layer}) never fire on a batch: their "
        f"input z is negative for every sample, so relu'(z) = 0 and no gradient reaches the "
        f"weights before them. They have stopped learning.",
        "Initialise biases at 0 (not negative) with Kaiming/He weights, lower the learning "
        "rate, or use LeakyReLU/ELU, whose slope for z < 0 is not 0.",
        {"layer": name, "dead_fraction": dead},
    )


def saturated(run: _Run) -> Finding | None:
    # Saturated from the start (large weights or inputs) blocks learning; saturation reached
    # by a run that learned well is confidence on separable data, not a problem.
    ends = run.start_end()
    learned = ends is not None and ends[0] > 0 and (ends[0] - ends[1]) / ends[0] >= LEARNED
    worst = None
    for name, stats in (run.rec.get("activations") or {}).items():
        if stats.get("kind") not in ("sigmoid", "tanh"):
            continue
        series = stats.get("saturated", [])
        share = run.early(series)
        if not learned:
            share = max(share, run.late(series))
        if math.isfinite(share) and share >= SATURATED_FRACTION:
            if worst is None or share > worst[1]:
                worst = (name, share, stats["kind"], stats.get("layer", ""))
    if worst is None:
        return None
    name, share, kind, layer = worst
    where = "within 0.01 of 0 or 1" if kind == "sigmoid" else "within 0.01 of -1 or 1"
    slope = "σ'(z) < 0.01" if kind == "sigmoid" else "tanh'(z) < 0.02"
    return Finding(
        "SATURATED",
        "warning",
        f"{_pct(share)} of the outputs of layer {name} ({layer}) are saturated ({where}), "
        f"where {slope}: the gradient through them almost vanishes.",
        "Standardise the inputs and initialise with smaller weights (Xavier/Glorot: "
        "std = 1/sqrt(fan_in)), or use ReLU in hidden layers.",
        {"layer": name, "saturated_fraction": share, "activation": kind},
    )


def vanishing(run: _Run) -> Finding | None:
    weights = run.weights()
    if len(weights) < 2:
        return None
    first, last = run.grad_rms(weights[0]), run.grad_rms(weights[-1])
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return None
    if first > 0 and last / first < GRADIENT_RATIO:
        return None
    ratio = last / first if first > 0 else math.inf
    how = (
        f"gradients {_g(ratio)}x smaller than the last layer's ({weights[-1]}) — RMS "
        f"{_g(first)} vs {_g(last)} per weight"
        if first > 0
        else f"no gradient at all, while the last layer's ({weights[-1]}) have RMS {_g(last)}"
    )
    return Finding(
        "VANISHING_GRADIENTS",
        "warning",
        f"Gradients vanish on their way back: the first layer's weights ({weights[0]}) get "
        f"{how}, so the early layers barely learn.",
        "Use ReLU (or tanh) instead of sigmoid in hidden layers, fewer layers, Kaiming/Xavier "
        "initialisation, or normalisation (BatchNorm/LayerNorm) between layers.",
        {
            "first": weights[0],
            "last": weights[-1],
            "first_rms": first,
            "last_rms": last,
            "ratio": ratio,
        },
    )


def unscaled_features(run: _Run) -> Finding | None:
    x = run.x
    if x is None or run.x_integer or len(x) < MIN_SAMPLE_ROWS:
        return None
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.maximum(np.abs(mean), std)
    j = int(np.argmax(scale))
    if scale[j] <= FEATURE_SCALE:
        return None
    big = int((scale > FEATURE_SCALE).sum())
    return Finding(
        "UNSCALED_FEATURES",
        "warning",
        f"The inputs are not scaled: feature {j} has mean {_g(mean[j])} and standard "
        f"deviation {_g(std[j])} ({big} of {x.shape[1]} features beyond ±{_g(FEATURE_SCALE)}), "
        f"so the first layer's pre-activations and gradients are huge for those weights.",
        "Standardise each feature (subtract the training mean, divide by the standard "
        "deviation), e.g. with cr.data.Preprocessor or sklearn's StandardScaler.",
        {"feature": j, "mean": float(mean[j]), "std": float(std[j]), "count": big},
    )


def unscaled_targets(run: _Run) -> Finding | None:
    y = run.y
    if y is None or len(y) < MIN_SAMPLE_ROWS or not run.regression():
        return None
    rms = float(np.sqrt(np.mean(y**2)))
    if rms <= TARGET_SCALE:
        return None
    return Finding(
        "UNSCALED_TARGETS",
        "warning",
        f"The regression targets are not scaled: they have mean {_g(float(y.mean()))} and "
        f"standard deviation {_g(float(y.std()))}, so the squared errors (and the gradients) "
        f"start huge and the learning rate that suits them is far from the usual.",
        "Standardise the targets (y - mean) / std for training and undo it on the predictions.",
        {"mean": float(y.mean()), "std": float(y.std()), "rms": rms},
    )


def constant_target(run: _Run) -> Finding | None:
    y = run.y
    if y is None or len(y) < MIN_SAMPLE_ROWS:
        return None
    if not np.all(y == y[0]):
        return None
    return Finding(
        "CONSTANT_TARGET",
        "critical",
        f"The target is constant: all {len(y)} sampled targets are {_g(float(y.flat[0]))}, so "
        f"there is nothing to learn beyond outputting that value.",
        "Check the target column (a wrong --target, a filter that kept one class, labels "
        "overwritten during preprocessing).",
        {"value": float(y.flat[0]), "rows": len(y)},
    )


def _determines(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether equal values of ``a`` always come with equal values of ``b``."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a))


def _distinct_per_column(x: np.ndarray) -> np.ndarray:
    """How many distinct values each column holds (one sort for all of them)."""
    ordered = np.sort(x, axis=0)
    return (np.diff(ordered, axis=0) != 0).sum(axis=0) + 1


def leaked_target(run: _Run) -> Finding | None:
    x, y = run.x, run.y
    if x is None or y is None or len(x) < MIN_SAMPLE_ROWS or len(x) != len(y):
        return None
    target = y[:, 0]
    if np.all(target == target[0]):
        return None
    labels = run.classes()
    found = None
    if labels is not None:
        classes = len(np.unique(labels))
        # a column can match the classes one-to-one only with as many distinct values
        for j in np.flatnonzero(_distinct_per_column(x) == classes):
            column = x[:, j]
            if _determines(column, labels) and _determines(labels, column):
                found = int(j), "determines the class exactly (one value per class)"
                break
    else:
        sd_x, sd_y = x.std(axis=0), target.std()
        if sd_y > 0:
            safe = np.where(sd_x > 0, sd_x, 1.0)
            r = ((x - x.mean(axis=0)) * (target - target.mean())[:, None]).mean(axis=0)
            r = np.where(sd_x > 0, r / (safe * sd_y), 0.0)
            j = int(np.argmax(np.abs(r)))
            if abs(r[j]) >= LEAK_CORRELATION:
                found = j, f"has correlation {r[j]:.4f} with the target"
    if found is None:
        return None
    j, how = found
    return Finding(
        "LEAKED_TARGET",
        "critical",
        f"Feature {j} is the target in disguise: on all {len(x)} sampled rows it {how}. The "
        f"model learns to copy it, and its scores say nothing about new data where that "
        f"feature is not known.",
        "Drop that feature (or the column derived from the label) before training.",
        {"feature": j, "rows": len(x)},
    )


def imbalance(run: _Run) -> Finding | None:
    labels = run.classes()
    if labels is None or len(labels) < MIN_SAMPLE_ROWS:
        return None
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        return None
    share = float(counts.max() / counts.sum())
    majority = values[int(np.argmax(counts))]
    if share < IMBALANCE_SHARE:
        return None
    key = "val_accuracy" if "val_accuracy" in run.epochs else "accuracy"
    acc = run.curve(key)
    acc = acc[np.isfinite(acc)]
    if acc.size == 0 or acc[-1] > share + MAJORITY_MARGIN:
        return None
    return Finding(
        "CLASS_IMBALANCE",
        "warning",
        f"{_pct(share)} of the targets are class {majority:g} and the {key.replace('_', ' ')} "
        f"is {_pct(float(acc[-1]))}, the majority rate: the model has learned to predict "
        f"class {majority:g} for (nearly) everything.",
        "Weight the loss by class (CrossEntropyLoss(weight=...), BCEWithLogitsLoss("
        "pos_weight=...)) or resample the classes, and judge by F1 or recall, not accuracy.",
        {"majority_class": float(majority), "share": share, "accuracy": float(acc[-1])},
    )


def lr_too_low(run: _Run) -> Finding | None:
    # the fastest-moving weight layer: slow early layers are vanishing gradients, not the lr;
    # a ratio of exactly 0 means no gradient at all (dead units), not a small step
    ratios = [run.late(run.rec.get("update_ratio", {}).get(n, [])) for n in run.weights()]
    ratios = [r for r in ratios if math.isfinite(r)]
    ratio = max(ratios) if ratios else math.nan
    ends = run.start_end()
    if ends is None or not math.isfinite(ratio) or not 0 < ratio < LR_LOW_RATIO:
        return None
    start, end = ends
    progress = (start - end) / abs(start) if start else 0.0
    if progress >= LOW_PROGRESS:
        return None
    lr = run.lr()
    lr_text = f" (lr {_g(lr)})" if lr is not None else ""
    return Finding(
        "LR_TOO_LOW",
        "warning",
        f"The learning rate{lr_text} is too low: each step changes the weights by only "
        f"{_g(ratio)} of their size (|Δw|/|w| of the fastest layer; about 1e-3 is healthy) and "
        f"the loss moved from {_g(start)} to {_g(end)} ({_pct(progress)}) over the run.",
        "Multiply the learning rate by 10-100 (Adam: try 1e-3; SGD: 0.01-0.1).",
        {"median_update_ratio": ratio, "lr": lr, "loss_start": start, "loss_end": end},
    )


def overfitting(run: _Run) -> Finding | None:
    val, train = run.curve("val_loss"), run.curve("loss")
    if val.size < MIN_EPOCHS_CURVE or train.size != val.size or not np.isfinite(val).all():
        return None
    best = int(np.argmin(val))
    final = float(val[-1])
    if not (final > val[best] * (1 + OVERFIT_RISE) and final - val[best] > OVERFIT_MIN_RISE):
        return None
    if not train[-1] < train[best] * (1 - OVERFIT_TRAIN_DROP):
        return None
    return Finding(
        "OVERFITTING",
        "warning",
        f"The model overfits: the validation loss rose from {_g(val[best])} at epoch "
        f"{best + 1} to {_g(final)} at epoch {val.size}, while the training loss kept falling "
        f"({_g(train[best])} -> {_g(train[-1])}).",
        "Stop at the best epoch (EarlyStopping(restore_best_weights=True)), get more data, "
        "add weight decay or dropout, or use a smaller model.",
        {"best_epoch": best + 1, "best_val_loss": float(val[best]), "final_val_loss": final},
    )


def plateau(run: _Run) -> Finding | None:
    ends = run.start_end()
    if ends is None or not run.long_enough():
        return None
    start, end = ends
    if start <= 0:
        return None
    progress = (start - end) / start
    if progress >= PLATEAU_PROGRESS or end > start * LOSS_ROSE_FACTOR:
        return None
    return Finding(
        "PLATEAU",
        "info",
        f"The loss is stuck on a plateau: it went from {_g(start)} to {_g(end)} "
        f"({_pct(progress)} lower) over {max(run.n_epochs, 1)} epoch(s), with gradients, "
        f"activations and step sizes that look healthy.",
        "Give the model more capacity (a hidden layer, more units) or nonlinearity, check "
        "that the features carry information about the target, or try another learning rate.",
        {"loss_start": start, "loss_end": end, "progress": progress},
    )


# In rank order within a severity: causes before their symptoms.
RULES = (
    diverged,
    loss_rose,
    constant_target,
    leaked_target,
    unscaled_targets,
    unscaled_features,
    lr_too_high,
    exploding,
    dead_relu,
    saturated,
    vanishing,
    imbalance,
    lr_too_low,
    overfitting,
    plateau,
)


def diagnose(record: dict, explain_with=None) -> list[Finding]:
    """Run every rule on a :class:`~chainrule.diagnose.Recorder` record; findings ranked.

    Args:
        record: ``Recorder.record`` (or the same dict read back from its JSON file).
        explain_with: ``(model, loss_fn)`` to explain vanishing-gradient and dead-ReLU
            findings with the chain rule on the first recorded training sample.

    Returns:
        The findings, most severe first (an empty list for a healthy run).
    """
    run = _Run(record)
    found = []
    for order, rule in enumerate(RULES):
        finding = rule(run)
        if finding is not None:
            found.append((SEVERITIES.index(finding.severity), order, finding))
    found.sort(key=lambda t: (t[0], t[1]))
    findings = [f for _, _, f in found]
    if len(findings) > 1:  # a plateau is news only when nothing else explains the stall
        findings = [f for f in findings if f.code != "PLATEAU"]
    if explain_with is not None:
        from chainrule.diagnose.chain import attach_explanations

        attach_explanations(findings, run, *explain_with)
    return findings


def summary(findings: list[Finding]) -> str:
    """The end-of-training diagnosis as text: one numbered block per finding."""
    if not findings:
        return "Diagnosis: no problems found (gradients, activations, loss and data look healthy)."
    lines = [f"Diagnosis: {len(findings)} finding(s), most severe first"]
    for n, f in enumerate(findings, 1):
        lines.append(f"{n}. [{f.severity}] {f.code}: {f.sentence}")
        lines.append(f"   fix: {f.fix}")
        if f.explanation:
            lines.extend("   " + line for line in f.explanation.splitlines())
    return "\n".join(lines)
