"""``cr.fit(compile=...)``: train with the compiled step (``cr.compile``) when it applies.

The compiled step (the NumPy tier of :mod:`chainrule.autograd.compile`) runs the same ops as
the eager step, in the same order, without building a graph: the weights it gives are the
eager step's, bit for bit, and so is the model output it returns for the training metrics
(``compile_step(..., return_output=True)``). Eager and compiled steps can therefore be mixed
freely on one optimizer: a callback that watches the forward pass on some steps
(``Callback.needs_forward`` with ``wants_forward(batch)``, e.g. the diagnosis ``Recorder``)
gets the eager step on exactly those steps, and the others are compiled. The run stays eager:

* with a callback that watches the forward pass of every step (``needs_forward`` without its
  own ``wants_forward``),
* data-parallel (gradients are averaged over processes between backward and the update, a
  point the fused step does not stop at), and, for ``"auto"``,
* with a model or loss not made only of chainrule's own layers and losses: a tracer replays
  the ops of the first call, so a custom ``forward`` whose Python code reads tensor values
  (``if x.mean() > 0``) would be replayed with the first batch's decision. With your own
  modules, ``compile=True`` says you know their forward has no such branch.

The model is checked on the first compiled batch, before its step (two dry recordings, no
lasting effect); ``"auto"`` trains eagerly when it cannot compile, ``compile=True`` raises
saying why. ``History.compile_reason`` keeps the reason, ``History.compiled_steps`` and
``History.eager_steps`` count the steps each way.

The finite-value guard keeps eager's behaviour. The eager step checks the loss and the
gradients before the update and the parameters after it; a compiled step can only be looked at
afterwards, so the parameters are copied before each step. A non-finite loss or gradient puts
the copy back (eager would not have taken the step) and raises the eager step's
``NonFiniteError``; a non-finite parameter with finite gradients raises without putting the
copy back, as eager ``fit`` does. The optimizer's own state (momentum, Adam's moments and step
count) has taken the step in every case.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import GraphError, NonFiniteError
from chainrule.tensor import Tensor
from chainrule.train.batches import fit_target
from chainrule.train.guard import all_finite

_MODES = {"auto": "auto", True: "on", "on": "on", False: "off", "off": "off"}


def mode_of(value) -> str:
    """``"auto"``, ``"on"`` or ``"off"`` from fit's ``compile=`` argument."""
    try:
        return _MODES[value]
    except (KeyError, TypeError):
        raise ValueError(
            f"fit(compile=...) takes 'auto', True or False ('on'/'off' too), got {value!r}"
        ) from None


def why_not(run) -> str | None:
    """Why this run cannot use a compiled step (``None``: it can)."""
    watching = run.callbacks.forward_on_every_step()
    if watching:
        return (
            f"callback {', '.join(watching)} watches the forward pass of every step, which a "
            f"compiled step does not call (define wants_forward(batch) to name the steps it "
            f"watches)"
        )
    if run.dist is not None:
        return "data-parallel training averages gradients between backward and the update"
    if run.sample_weight is not None:
        return "sample_weight: the weighted loss is computed by the eager step"
    if getattr(run, "class_weight", None) is not None:
        return "class_weight: the weighted loss is computed by the eager step"
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


def check_model(
    model, loss_fn, optimizer, x: Tensor, y: np.ndarray, strict: bool = False, output=False
):
    """``(reason or None, target shape)`` for ``loss_fn(model(x), y)`` on one batch.

    Two dry recordings (no gradients, no running statistics, random generators put back): the
    first learns the output's shape, so that ``(N,)`` targets are reshaped as ``fit`` does,
    the second checks the step with the loss. An error other than ``GraphError`` (a shape
    mismatch, ...) is raised with ``strict``, else given as the reason: the eager step then
    raises it as usual. ``output``: the step must also return the model's output.
    """
    from chainrule.autograd.compile import check_compile_step

    shapes = []

    def output_sum(out, _y):
        shapes.append(out.array.shape)
        return out.sum()

    try:
        reason = check_compile_step(model, output_sum, optimizer, (x, y), "numpy")
        if reason is not None or not shapes:
            return reason or "the model's forward pass could not be recorded", None
        target = fit_target(np.empty(shapes[0], np.float32), y)
        reason = check_compile_step(model, loss_fn, optimizer, (x, target), "numpy", output)
    except Exception as err:  # noqa: BLE001 - the eager step then raises it where users expect
        if strict:
            raise
        return f"recording the step failed ({type(err).__name__}: {err})", None
    return reason, target.shape[1:]


class CompiledSteps:
    """The per-batch step of a compiled ``fit``. The first batch it is asked for decides: the
    compiled step from then on, or (``"auto"``, a model that cannot compile) ``None`` from
    :meth:`setup`, and ``fit`` goes on eagerly. ``reason`` says why it cannot compile."""

    def __init__(self, run, mode: str):
        self.run, self.mode = run, mode
        self.step = None
        self.target_shape = None
        self.reason = None
        self.output = bool(run.train_metrics)  # the metrics read each batch's output
        self.params = [p for p in run.model.parameters() if p.requires_grad]
        self._saved = None

    def setup(self, x: Tensor, y: np.ndarray):
        """Check the model on the first batch: ``self`` when it compiles, else ``None``
        (``"auto"``) or an error (``compile=True``)."""
        from chainrule.autograd.compile import compile_step

        run = self.run
        self.config = configuration(run.model, run.loss_fn)
        reason, self.target_shape = check_model(
            run.model, run.loss_fn, run.optimizer, x, y, self.mode == "on", self.output
        )
        if reason is not None:
            if self.mode == "on":
                raise GraphError(f"fit(compile=True): this model cannot be compiled: {reason}")
            self.reason = reason
            return None
        self.step = compile_step(
            run.model, run.loss_fn, run.optimizer, backend="numpy", return_output=self.output
        )
        return self

    def outdated(self) -> bool:
        """Whether a callback changed what the step was traced with: a module's mode
        (``model[1].eval()`` to freeze a BatchNorm), a setting (Dropout's ``p``, LeakyReLU's
        slope) or the loss's weights. The traced step would go on with the old ones."""
        return configuration(self.run.model, self.run.loss_fn) != self.config

    def __call__(self, x: Tensor, y: np.ndarray):
        """One training step: ``(loss value, model output tensor or None)``; the output comes
        back when there are training metrics to compute from it."""
        y = fit_target_like(self.target_shape, y)
        guard = self.run.guard
        if guard is not None:
            self._save()
        loss, out = self.step(x, y) if self.output else (self.step(x, y), None)
        value = float(loss.array)
        if guard is not None and not (
            math.isfinite(value) and all_finite([p.array for p in self.params])
        ):
            self._explain(guard, value, x, y)
        return value, out

    def _explain(self, guard, value: float, x: Tensor, y: np.ndarray) -> None:
        """Raise the eager step's error; put the weights back where eager never stepped."""
        if not math.isfinite(value):
            self._restore()
            guard.check_loss(value, x.array, y)  # names a parameter, the data or the forward
        try:
            guard.check_gradients(value)
        except NonFiniteError:
            self._restore()
            raise
        guard.check_parameters(value)

    def _save(self) -> None:
        if self._saved is None:
            self._saved = [np.empty_like(p.array) for p in self.params]
        for buffer, p in zip(self._saved, self.params):
            np.copyto(buffer, p.array)

    def _restore(self) -> None:
        for buffer, p in zip(self._saved, self.params):
            np.copyto(p.array, buffer)


_PLAIN = (bool, int, float, str, type(None))


def configuration(model, loss_fn) -> list:
    """What a traced step fixes besides the parameters: each module's mode and plain
    settings, and the identity of the loss's tensors (``pos_weight``, ``weight``)."""
    modules = list(model.modules()) if hasattr(model, "modules") else []
    config = [
        [(k, v) for k, v in vars(m).items() if isinstance(v, _PLAIN) or _plain_tuple(v)]
        for m in modules
    ]
    if hasattr(loss_fn, "__dict__"):
        settings = [(k, v) for k, v in vars(loss_fn).items() if isinstance(v, _PLAIN)]
        buffers = getattr(loss_fn, "_buffers", None) or {}
        config.append(settings + [(k, id(v)) for k, v in buffers.items()])
    return config


def _plain_tuple(value) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, _PLAIN) for v in value)


def fit_target_like(shape: tuple, y: np.ndarray) -> np.ndarray:
    """``y`` in the target shape the first batch had (``(N,)`` → ``(N, 1)`` for one output)."""
    if y.shape[1:] != shape and y.ndim == 1 and shape == (1,):
        return y.reshape(-1, 1)
    return y
