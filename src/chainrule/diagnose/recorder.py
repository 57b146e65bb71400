"""Recorder: the callback that watches backpropagation during :func:`chainrule.fit`.

Every few steps it keeps, per layer, the gradient norm, the weight norm, the size of the
update relative to the weights, and statistics of each activation layer's output (ReLUs that
never fire, sigmoid/tanh outputs in their flat tails, mean and spread); every step it keeps the
loss, every epoch the epoch's logs. At the end it turns the record into findings
(:mod:`chainrule.diagnose.findings`).

Recording costs little: on a recorded step it copies the weights before the optimizer step
and, for that one forward pass only, wraps the forward of the activation layers, the model and
the loss (an instance attribute removed right after, so the model is left as it was). By
default the recorder picks its own interval so that recording takes at most ``budget`` of the
training time (plus a few milliseconds, so short runs get enough records). Only the recorded
steps need ``fit`` to call ``forward``: ``wants_forward`` names them, and ``fit(compile=...)``
takes the compiled step on all the others.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from chainrule.errors import NonFiniteError
from chainrule.nn.module import Module
from chainrule.train.callbacks import Callback

__all__ = ["Recorder", "load_record"]

MARKER = "chainrule.diagnose"
FORMAT_VERSION = 1

# What the recorder looks at in each kind of activation layer.
ACTIVATION_KINDS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
SATURATION = {"sigmoid": 0.01, "tanh": 0.01}  # how close to the asymptotes counts as saturated
FREE_SECONDS = 0.001  # recording time allowed on top of the budget (short runs need it)
MAX_SAMPLE_ROWS = 1024  # rows of inputs and targets kept for the data checks ...
MAX_SAMPLE_CELLS = 100_000  # ... and at most this many numbers of them
MAX_LOSSES = 20_000  # batch losses kept; beyond it neighbours are averaged in pairs


def _norm(a: np.ndarray) -> float:
    v = a.reshape(-1)
    return math.sqrt(float(np.dot(v, v)))


def _kind(module) -> str | None:
    for cls in type(module).__mro__:
        kind = ACTIVATION_KINDS.get(cls.__name__)
        if kind is not None:
            return kind
    return None


def _array(value) -> np.ndarray:
    return np.asarray(value)


class Recorder(Callback):
    """Record what backpropagation does during training, and diagnose the run at its end.

    Pass it to :func:`chainrule.fit`; afterwards ``recorder.findings`` (also
    ``history.findings``) lists what went wrong, most severe first, and ``recorder.record``
    holds every number recorded (JSON-able). When ``fit`` is verbose the diagnosis is printed
    at the end of training.

    Args:
        every: record every ``every`` optimizer steps; ``None`` (default) chooses the interval
            so that recording costs at most ``budget`` of the training time.
        budget: the share of training time recording may take when ``every`` is ``None``.
        path: a JSON file to write the record to after every epoch and at the end (what
            ``chainrule diagnose`` reads); ``None`` writes nothing.
        verbose: print the diagnosis at the end of training: ``None`` follows ``fit``'s
            ``verbose``; ``True`` or ``False`` force it.
        loss_fn: the loss, when ``fit`` does not tell it (``fit`` does); used to keep a sample
            of the targets and to explain a finding with the chain rule.
        explain: explain vanishing-gradient and dead-ReLU findings with the chain rule on one
            training sample (``cr.explain``); costs one explained backward pass at the end.

    Attributes:
        record: the recorded data (see ``docs/diagnose.md``).
        findings: a list of :class:`~chainrule.diagnose.Finding`, most severe first (empty
            before training ends).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> X, y = cr.datasets.moons(n=200, seed=0)
        >>> model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        >>> rec = cr.diagnose.Recorder()
        >>> h = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(),
        ...            optim.Adam(model.parameters(), lr=0.01), epochs=20, callbacks=[rec],
        ...            verbose=False)
        >>> [f.code for f in h.findings]
        []
    """

    # It wraps the layers' forward on the steps it records (wants_forward): fit takes the eager
    # step there and the compiled step on the other steps.
    needs_forward = True

    def __init__(
        self,
        every: int | None = None,
        budget: float = 0.01,
        path=None,
        verbose: bool | None = None,
        loss_fn=None,
        explain: bool = True,
    ):
        super().__init__()
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(f"Recorder: every must be a positive integer or None, got {every!r}")
        if not isinstance(budget, (int, float)) or not 0 < budget < 1:
            raise ValueError(f"Recorder: budget must be a fraction in (0, 1), got {budget!r}")
        self.every = every
        self.budget = float(budget)
        self.path = None if path is None else os.fspath(path)
        self.verbose = verbose
        self.loss_fn = loss_fn
        self.explain = explain
        self.findings: list = []
        self.record: dict = self._empty()
        self._restored = False
        self._wrapped: list = []
        self._recording = False
        self._before: list = []
        self._captured: dict = {}

    # ---- the record --------------------------------------------------------------------------
    @staticmethod
    def _empty() -> dict:
        return {
            "marker": MARKER,
            "version": FORMAT_VERSION,
            "params": [],
            "activations": {},
            "loss_name": None,
            "optimizer": None,
            "steps_recorded": [],
            "epoch_of_record": [],
            "grad_norm": {},
            "weight_norm": {},
            "update_ratio": {},
            "batch_loss": [],
            "loss_stride": 1,
            "epochs": {},
            "sample": {"x": None, "y": None},
            "error": None,
            "record_seconds": 0.0,
            "train_seconds": 0.0,
            "steps": 0,
            "shapes": {},
            "x_integer": False,
        }

    def _setup(self) -> None:
        model = self.model
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._acts = []
        modules = list(model.named_modules())
        # the index of the last module with weights of its own: an activation after it is the
        # model's output, and its findings get other fixes (BCEWithLogitsLoss, not ReLU)
        last_weighted = max(
            (i for i, (_, m) in enumerate(modules) if any(m.named_parameters(recurse=False))),
            default=-1,
        )
        outputs = set()
        # until a recorded step shows the call order, definition order says what is the output
        self._weighted = [
            (n, m) for n, m in modules if n and any(m.named_parameters(recurse=False))
        ]
        self._order_known = False
        for i, (name, module) in enumerate(modules):
            kind = _kind(module)
            if kind is not None:
                self._acts.append((name or type(module).__name__, module, kind))
                if i > last_weighted:
                    outputs.add(name or type(module).__name__)
        if not self._restored:
            self.record = self._empty()
        rec = self.record  # a resumed run's record goes on; a new parameter starts its series
        rec["params"] = [n for n, _ in self._params]
        rec["shapes"] = {n: list(np.shape(_array(p))) for n, p in self._params}
        for n, _ in self._params:
            for key in ("grad_norm", "weight_norm", "update_ratio"):
                rec[key].setdefault(n, [])
        for name, module, kind in self._acts:
            rec["activations"].setdefault(
                name,
                {
                    "kind": kind,
                    "layer": type(module).__name__,
                    "output": name in outputs,
                    "dead": [],
                    "saturated": [],
                    "mean": [],
                    "std": [],
                },
            )
        loss_fn = self.loss_fn if self.loss_fn is not None else self.params.get("loss_fn")
        self._loss_fn = loss_fn
        if loss_fn is not None:
            rec["loss_name"] = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
        if self.optimizer is not None:
            rec["optimizer"] = type(self.optimizer).__name__
            groups = getattr(self.optimizer, "param_groups", None) or [{}]
            rec["lr"] = float(groups[0].get("lr", math.nan))
        self._step = int(rec["steps"])
        self._losses = rec["batch_loss"]
        self._reservoir = _Reservoir(rec["sample"])

    # ---- hooks -------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._setup()
        self._restored = False
        self.findings = []
        self._t0 = time.perf_counter()
        self._spent = 0.0
        self._due = self._first = self._step
        self._consider()

    # One hook per step: the end of step s also prepares step s + 1 when it is to be recorded
    # (the weights then are the ones step s + 1 updates), so no on_batch_begin is needed.
    def on_batch_end(self, batch, logs=None):
        self._losses.append(logs["loss"] if logs else math.nan)
        if self._recording:
            started = time.perf_counter()
            self._end_record()
            self._spent += time.perf_counter() - started
        self._step += 1
        if self._step >= self._due:
            self._consider()

    def wants_forward(self, batch: int) -> bool:
        """True on the steps it records (their forward is watched), False on the others."""
        return self._recording

    def _consider(self) -> None:
        """Decide whether step ``self._step`` is recorded; if so, prepare it."""
        step = self._step
        if self.every is not None:
            self._due = step + self.every
        else:
            now = time.perf_counter()
            over = self._spent - FREE_SECONDS - self.budget * (now - self._t0)
            if over > 0:  # over budget: wait as many steps as it takes to earn it back
                seconds_per_step = (now - self._t0) / max(step - self._first, 1)
                self._due = step + max(1, math.ceil(over / (self.budget * seconds_per_step)))
                return
            self._due = step + 1
        started = time.perf_counter()
        self._begin_record()
        self._spent += time.perf_counter() - started

    def on_epoch_end(self, epoch, logs=None):
        if len(self._losses) >= MAX_LOSSES:
            self._halve_losses()
        self.record["steps"] = int(self._step)  # current in what is saved after each epoch
        epochs = self.record["epochs"]
        numbers = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float))}
        n = len(epochs.get("epoch", []))
        for key, value in {"epoch": float(epoch), **numbers}.items():
            epochs.setdefault(key, [math.nan] * n).append(value)
        for values in epochs.values():
            while len(values) < n + 1:
                values.append(math.nan)
        if self.path is not None:
            self._flush_sample()
            self.save(self.path)

    def on_train_end(self, logs=None):
        started = time.perf_counter()
        self._unwrap()
        self._recording = False
        rec = self.record
        rec["steps"] = int(self._step)
        rec["record_seconds"] = float(rec.get("record_seconds", 0.0)) + self._spent
        rec["train_seconds"] = float(rec.get("train_seconds", 0.0)) + (
            time.perf_counter() - self._t0
        )
        error = sys.exc_info()[1]
        if isinstance(error, NonFiniteError):
            rec["error"] = {
                "kind": getattr(error, "kind", None),
                "epoch": getattr(error, "epoch", None),
                "batch": getattr(error, "batch", None),
                "message": str(error),
                "data": getattr(error, "part", None),  # NaN/inf in X or y, not a divergence
            }
        self._flush_sample()
        from chainrule.diagnose.findings import diagnose

        context = None
        if self.explain and self._loss_fn is not None:
            context = (self.model, self._loss_fn)
        self.findings = diagnose(rec, explain_with=context)
        rec["diagnose_seconds"] = time.perf_counter() - started
        if self.path is not None:
            self.save(self.path)
        show = self.verbose
        if show is None:
            show = self._display is not None and getattr(self._display, "mode", "") != "silent"
        if show:
            from chainrule.diagnose.findings import summary

            self._message(summary(self.findings))

    # ---- one recorded step -------------------------------------------------------------------
    def _begin_record(self) -> None:
        self._recording = True
        self._before = [np.array(_array(p)) for _, p in self._params]
        captured = self._captured = {}
        for name, module, _ in self._acts:
            self._wrap(module, name, captured, "out")
        if not self._order_known:
            captured["__order__"] = []
            for name, module in self._weighted:
                self._wrap(module, name, captured, "ran")
        if self._reservoir.usable:
            self._wrap(self.model, "__x__", captured, "in")
            loss_fn = self._loss_fn
            if isinstance(loss_fn, Module):
                self._wrap(loss_fn, "__y__", captured, "target")

    def _wrap(self, module, key: str, captured: dict, what: str) -> None:
        original = module.__dict__.get("forward")
        forward = module.forward

        def watched(*args, **kwargs):
            out = forward(*args, **kwargs)
            if what == "out":
                captured[key] = out  # the last call's: a module used twice is counted
                calls = captured.setdefault("__calls__", {})
                calls[key] = calls.get(key, 0) + 1
                if "__order__" in captured:
                    captured["__order__"].append(key)
            elif what == "ran":
                captured["__order__"].append((key,))  # a module with weights of its own ran
            elif what == "in" and args:
                captured[key] = args[0]
            elif what == "target" and len(args) >= 2:
                captured[key] = args[1]
            return out

        object.__setattr__(module, "forward", watched)
        self._wrapped.append((module, original))

    def _unwrap(self) -> None:
        for module, original in reversed(self._wrapped):
            if original is None:
                module.__dict__.pop("forward", None)
            else:
                object.__setattr__(module, "forward", original)
        self._wrapped = []

    def _end_record(self) -> None:
        self._unwrap()
        self._recording = False
        if len(self._losses) >= MAX_LOSSES:
            self._halve_losses()
        rec = self.record
        rec["steps_recorded"].append(self._step)
        epochs = rec["epochs"].get("epoch", [])
        rec["epoch_of_record"].append(len(epochs))
        grad_norm, weight_norm, ratio = rec["grad_norm"], rec["weight_norm"], rec["update_ratio"]
        for (name, p), before in zip(self._params, self._before):
            g = p.grad_array
            gn = math.nan if g is None else _norm(_array(g))
            bn = _norm(before)
            un = _norm(np.subtract(_array(p), before, out=before))  # the update, in place
            grad_norm[name].append(gn)
            weight_norm[name].append(bn)
            ratio[name].append(un / bn if bn > 0 else (0.0 if un == 0 else math.inf))
        self._before = []
        captured = self._captured
        self._mark_outputs(captured.get("__order__"))
        for name, _, kind in self._acts:
            stats = rec["activations"][name]
            calls = captured.get("__calls__", {}).get(name, 0)
            if calls > 1:  # one module at several places of the forward pass: say so
                stats["calls"] = max(int(stats.get("calls", 1)), calls)
            out = captured.get(name)
            if out is None:
                for key in ("dead", "saturated", "mean", "std"):
                    stats[key].append(math.nan)
                continue
            a = _array(out)
            a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
            if kind == "relu":
                fired = np.count_nonzero((a > 0).any(axis=0))
                stats["dead"].append(1.0 - fired / a.shape[1])
                stats["saturated"].append(math.nan)
            else:
                edge = SATURATION[kind]
                centre, reach = (0.5, 0.5 - edge) if kind == "sigmoid" else (0.0, 1.0 - edge)
                flat = np.count_nonzero(np.abs(a - centre) > reach)
                stats["saturated"].append(flat / a.size)
                stats["dead"].append(math.nan)
            v = a.reshape(-1)
            mean = float(v.sum()) / v.size
            stats["mean"].append(mean)
            stats["std"].append(math.sqrt(max(float(v.dot(v)) / v.size - mean * mean, 0.0)))
        x, y = captured.get("__x__"), captured.get("__y__")
        if x is not None:
            x = _array(x)
            if x.dtype.kind in "iu":
                rec["x_integer"] = True
            if x.ndim >= 1 and x.dtype.kind in "fiub" and len(x):
                rec["x_row_shape"] = list(x.shape[1:])
                y = None if y is None else _array(y)
                if y is not None and len(y) != len(x):
                    y = None
                self._reservoir.add(x.reshape(len(x), -1), y)
        self._captured = {}

    def _mark_outputs(self, order: list | None) -> None:
        """An activation is the model's output when no module with weights ran after its last
        call: the call order of the first recorded step, not the order the modules were
        defined in (``self.act = nn.Sigmoid()`` defined after the layers it sits between)."""
        if not order:
            return
        self._order_known = True
        ran_at = [i for i, key in enumerate(order) if isinstance(key, tuple)]
        last_weighted = ran_at[-1] if ran_at else -1
        ran = [order[i][0] for i in ran_at]
        # the layers in the order they ran: "the first layer" of the gradient rules
        self.record["module_order"] = list(dict.fromkeys(ran))
        for name, _, _ in self._acts:
            calls = [i for i, key in enumerate(order) if key == name]
            if calls:
                self.record["activations"][name]["output"] = calls[-1] > last_weighted

    def _halve_losses(self) -> None:
        losses = self.record["batch_loss"]
        n = len(losses) // 2 * 2
        pairs = np.asarray(losses[:n], dtype=np.float64).reshape(-1, 2).mean(axis=1)
        self.record["batch_loss"] = self._losses = pairs.tolist() + losses[n:]
        self.record["loss_stride"] = int(self.record.get("loss_stride", 1)) * 2

    def _flush_sample(self) -> None:
        self._reservoir.write(self.record["sample"])

    # ---- saving and resuming -----------------------------------------------------------------
    def save(self, path) -> str:
        """Write the record as JSON (atomically); returns the path."""
        from chainrule.io.atomic import atomic_write

        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        text = json.dumps(_jsonable(self.record), allow_nan=True)
        atomic_write(path, text.encode("utf-8"))
        return path

    def state_dict(self) -> dict:
        return {"marker": MARKER, "record_json": json.dumps(_jsonable(self.record))}

    def load_state_dict(self, state: dict) -> None:
        text = state.get("record_json")
        if text:
            self.record = json.loads(text)
            self._restored = True


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_record(path) -> dict:
    """A record written by :meth:`Recorder.save` (or ``chainrule train``'s ``diagnose.json``)."""
    from chainrule.errors import DataError

    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        try:
            record = json.load(f)
        except ValueError as err:
            raise DataError(f"{path}: not a diagnosis record (invalid JSON: {err})") from None
    if not isinstance(record, dict) or record.get("marker") != MARKER:
        raise DataError(f"{path}: not a diagnosis record (written by cr.diagnose.Recorder)")
    return record


class _Reservoir:
    """A uniform sample of the rows seen on recorded steps, over the whole run.

    Reservoir sampling (each row seen so far is kept with the same chance), so data ordered by
    class and read without shuffling still gives a fair sample once the recorded steps have
    covered it. Each recorded batch adds at most a quarter of the sample's rows; the row
    choices come from a private generator seeded with 0 (training's randomness is untouched).
    """

    def __init__(self, sample: dict):
        self.rng = np.random.default_rng(0)
        self.x = self.y = None
        self.seen = 0
        self.usable = True
        if sample.get("x") is not None:  # a resumed run: continue its sample
            x = np.asarray(sample["x"], dtype=np.float64)
            if x.ndim == 2 and len(x):
                self._start(x.shape[1], None if sample.get("y") is None else sample["y"])
                n = min(len(x), self.limit)
                self.x[:n] = x[:n]
                if self.y is not None:
                    self.y[:n] = np.asarray(sample["y"])[:n]
                self.seen = n

    def _start(self, width: int, y) -> None:
        self.limit = min(MAX_SAMPLE_ROWS, max(32, MAX_SAMPLE_CELLS // max(width, 1)))
        self.x = np.empty((self.limit, width), dtype=np.float64)
        if y is not None:
            y = np.asarray(y)
            self.y = np.empty((self.limit, int(np.prod(y.shape[1:], dtype=np.int64))), y.dtype)

    def add(self, x: np.ndarray, y) -> None:
        if self.x is None:
            self._start(x.shape[1], y)
        if x.shape[1] != self.x.shape[1] or (self.y is None) != (y is None):
            self.usable = False  # inputs of changing shape: no data checks for this run
            return
        take = max(1, self.limit // 4)
        x = x[:take]
        if y is not None:
            y = y.reshape(len(y), -1)[:take]
            if y.shape[1] != self.y.shape[1]:
                self.usable = False
                return
        n = len(x)
        slots = np.arange(self.seen, self.seen + n)
        fill = slots < self.limit  # the first rows fill the sample ...
        # ... later ones replace a random kept row with probability limit / (rows seen)
        chosen = np.where(fill, slots, self.rng.integers(0, slots + 1))
        keep = chosen < self.limit
        self.x[chosen[keep]] = x[keep]
        if y is not None:
            self.y[chosen[keep]] = y[keep]
        self.seen += n

    def write(self, sample: dict) -> None:
        if self.x is None or not self.usable:
            return
        n = min(self.seen, self.limit)
        sample["x"] = self.x[:n].copy()
        sample["y"] = None if self.y is None else self.y[:n].copy()
