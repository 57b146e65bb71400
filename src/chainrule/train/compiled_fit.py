"""``cr.fit(compile=...)``: train with the compiled step (``cr.compile``) when it applies.

The compiled step (the NumPy tier of :mod:`chainrule.autograd.compile`) runs the same ops as
the eager step, in the same order, without building a graph: the weights it gives are the
eager step's, bit for bit. It returns only the loss, so ``fit`` uses it when nothing in the run
needs more from a step:

* no training metrics (they read every batch's model output; the validation metrics, computed
  after each epoch, are fine),
* no data-parallel run (gradients are averaged between backward and the update), and, for
  ``"auto"``, a model and loss made only of chainrule's own layers and losses: a tracer
  replays the ops of the first call, so a custom ``forward`` whose Python code reads tensor
  values (``if x.mean() > 0``) would be replayed with the first batch's decision. With your
  own modules, ``compile=True`` says you know their forward has no such branch.

The finite-value guard still holds: the parameters are copied before each step, and when the
loss or a parameter comes out non-finite the copy is put back and the same
``NonFiniteError`` as the eager step's is raised (the optimizer's own state, such as momentum,
has taken that step). ``compile="auto"`` falls back to the eager step, silently, when the model
cannot be compiled; ``compile=True`` raises, saying why.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.tensor import Tensor
from chainrule.train.batches import fit_target
from chainrule.train.step import train_step

_MODES = {"auto": "auto", True: "on", "on": "on", False: "off", "off": "off"}


def mode_of(value) -> str:
    """``"auto"``, ``"on"`` or ``"off"`` from fit's ``compile=`` argument."""
    try:
        return _MODES[value]
    except (KeyError, TypeError):
        raise ValueError(f"fit(compile=...) takes 'auto', True or False, got {value!r}") from None


def why_not(run) -> str | None:
    """Why this run cannot use a compiled step (``None``: it can)."""
    if run.train_metrics:
        names = ", ".join(m.name for m in run.train_metrics)
        return f"training metrics ({names}) need every batch's output; pass metrics=() to compile"
    if run.dist is not None:
        return "data-parallel training averages gradients between backward and the update"
    if run.compile == "auto":
        custom = [type(m).__name__ for m in run.model.modules() if not _builtin(m)]
        if not _builtin(run.loss_fn):
            custom.append(getattr(run.loss_fn, "__name__", type(run.loss_fn).__name__))
        if custom:
            return (
                f"{', '.join(sorted(set(custom)))} not chainrule's own: a traced step would "
                f"replay its Python branches as they went on the first batch; pass compile=True "
                f"if its forward has none"
            )
    return None


def _builtin(obj) -> bool:
    """A chainrule layer or loss (a module instance, or a function such as F.mse_loss)."""
    module = obj.__module__ if callable(obj) and hasattr(obj, "__name__") else type(obj).__module__
    return str(module).startswith("chainrule.")


class CompiledSteps:
    """The per-batch step of a compiled ``fit``: built at the first batch (which runs eagerly
    and fixes the target's shape), then the compiled step for every later batch."""

    def __init__(self, run, mode: str):
        self.run, self.mode = run, mode
        self.step = None
        self.reason = None
        self.params = [p for p in run.model.parameters() if p.requires_grad]
        self._saved = None

    def __call__(self, x: Tensor, y: np.ndarray):
        """One training step: ``(loss value, model output or None)``."""
        run = self.run
        if self.step is None:
            value, out = train_step(run.model, run.loss_fn, run.optimizer, x, y, guard=run.guard)
            self._build(x, fit_target(out.array, y))
            return value, out
        return self._compiled(x, fit_target_like(self.target_shape, y)), None

    def _build(self, x: Tensor, y: np.ndarray) -> None:
        from chainrule.autograd.compile import check_compile_step, compile_step

        run = self.run
        self.target_shape = y.shape[1:]
        self.reason = check_compile_step(run.model, run.loss_fn, run.optimizer, (x, y), "numpy")
        if self.reason is not None:
            if self.mode == "on":
                raise ChainruleError(
                    f"fit(compile=True): this model cannot be compiled: {self.reason}"
                )
            self.step = _Eager(run)
            return
        self.step = compile_step(run.model, run.loss_fn, run.optimizer, backend="numpy")

    def _compiled(self, x: Tensor, y: np.ndarray) -> float:
        if isinstance(self.step, _Eager):
            return self.step(x, y)
        guard = self.run.guard
        if guard is not None:
            self._save()
        value = float(self.step(x, y).array)
        if guard is not None and not (math.isfinite(value) and _finite(self.params)):
            self._restore()
            guard.check_loss(value, x.array, y)  # names the data or the forward pass
            guard.check_parameters(value)
        return value

    def _save(self) -> None:
        if self._saved is None:
            self._saved = [np.empty_like(p.array) for p in self.params]
        for buffer, p in zip(self._saved, self.params):
            np.copyto(buffer, p.array)

    def _restore(self) -> None:
        for buffer, p in zip(self._saved, self.params):
            np.copyto(p.array, buffer)


class _Eager:
    """The eager step with fit's guard, for a model that cannot be compiled."""

    def __init__(self, run):
        self.run = run

    def __call__(self, x, y) -> float:
        run = self.run
        return train_step(run.model, run.loss_fn, run.optimizer, x, y, guard=run.guard)[0]


def fit_target_like(shape: tuple, y: np.ndarray) -> np.ndarray:
    """``y`` in the target shape the first batch had (``(N,)`` → ``(N, 1)`` for one output)."""
    if y.shape[1:] != shape and y.ndim == 1 and shape == (1,):
        return y.reshape(-1, 1)
    return y


def _finite(params) -> bool:
    return all(np.isfinite(p.array).all() for p in params)
