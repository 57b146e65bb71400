"""``cr.compile`` and ``cr.compile_step``: record a training step once, then run generated code.

The first call runs the function eagerly while a recorder watches ``Function.apply``
(``compile_graph``). What it saw becomes a graph, and the graph becomes code: one straight-line
Python function calling each op's ``forward`` and ``backward`` (``compile_python``, bit for bit
the eager step), or, with the optional ``[jit]`` extra and a fused optimizer, one Numba kernel
(``compile_numba``, equal to rounding). Later calls with arrays of the same shapes and dtypes
run that code. See docs/compile.md.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import hooks as _hooks
from chainrule.autograd.compile_graph import Recorder, build_graph
from chainrule.autograd.compile_python import Fallback, build_python_step
from chainrule.autograd.grad_mode import _GradMode
from chainrule.errors import GraphError
from chainrule.tensor import Tensor

BACKENDS = ("auto", "numpy", "numba")
# "auto" picks the Numba kernel only below this many multiply-adds per forward pass: above it,
# both tiers spend their time in BLAS and the NumPy tier keeps eager's exact bits
# (measured in docs/compile.md).
_JIT_MAX_MACS = 1_000_000
# Below this many planned steps, try_compile_step's "auto" stays on the NumPy tier: Numba's
# compilation (1-5 s) against 10-30 µs saved per step on small networks.
JIT_MIN_STEPS = 100_000


# torch.compile's backends: each means "compile as best you can", chainrule's "auto"
_TORCH_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")


def compile(  # noqa: A001 - as torch.compile
    fn=None,
    optimizer=None,
    backend: str | None = "auto",
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    mode: str | None = None,
    options: dict | None = None,
    disable: bool = False,
):
    """Compile ``fn(*batch) -> scalar loss`` into a callable that also runs the backward pass.

    PyTorch's call forms are taken too: ``cr.compile(model)`` with an ``nn.Module`` returns
    PyTorch's ``OptimizedModule`` wrapper around it, which runs the model as it is (same
    outputs, ``state_dict`` names prefixed ``_orig_mod.``; autograd/compile_module.py);
    ``cr.compile(mode=...)`` without a function returns a decorator; ``disable=True`` returns
    ``fn`` itself; ``fullgraph``, ``dynamic``, ``mode`` and ``options`` are PyTorch's tuning
    knobs and change nothing here, and PyTorch's backend names mean ``"auto"``.

    Without ``optimizer``, calling the result with arrays (or tensors) computes the loss, fills
    ``.grad`` of every parameter exactly as ``loss.backward()`` would, and returns the loss as
    a tensor cut from the graph. With ``optimizer``, each call is a whole training step:
    ``zero_grad()``, forward, backward and ``optimizer.step()``.

    The first call, and any call whose arrays differ in shape or dtype, records (eagerly);
    the others run generated code. ``backend``: ``"numpy"`` (straight-line Python calling each
    op's own forward and backward: the eager step's bits), ``"numba"`` (one Numba kernel with
    the optimizer fused in: needs the ``[jit]`` extra and an optimizer; results equal to
    rounding) or ``"auto"`` (Numba when installed and the graph is small and covered, else
    NumPy).

    What can be compiled: ops that read the arguments, parameters, scalar constants, each
    other's outputs and arrays drawn per call (dropout masks), with plain options or options
    that are arguments (class-index targets). Anything else raises ``GraphError`` at the first
    call, naming the op. Like any tracer, it replays the ops of the first call: Python ``if``s
    on tensor values are not re-evaluated.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        >>> loss_fn = nn.BCEWithLogitsLoss()
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> step = cr.compile(lambda x, y: loss_fn(model(x), y), optimizer=opt, backend="numpy")
        >>> x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
        >>> for _ in range(3):
        ...     loss = step(x, y)
        >>> loss.shape
        ()
    """
    if backend is None or backend in _TORCH_BACKENDS:
        backend = "auto"
    if fn is None:  # @cr.compile(mode=...) as a decorator
        return lambda f: compile(f, optimizer, backend, disable=disable)
    if disable:
        return fn
    from chainrule.nn.module import Module

    if isinstance(fn, Module) and optimizer is None:
        from chainrule.autograd.compile_module import OptimizedModule

        return OptimizedModule(fn)
    return Compiled(fn, optimizer=optimizer, backend=backend)


def compile_step(model, loss_fn, optimizer, backend: str = "auto", return_output: bool = False):
    """``step(x, y) -> loss``: one compiled training step of ``loss_fn(model(x), y)``.

    The same as ``cr.compile(lambda x, y: loss_fn(model(x), y), optimizer=optimizer)``, and it
    also records again when the model switches between ``train()`` and ``eval()``.

    With ``return_output=True`` each call returns ``(loss, output)``: ``output`` is the tensor
    ``model(x)`` gave in this step (for training metrics), equal bit for bit to the eager
    step's, in an array of its own that later steps do not overwrite. The NumPy tier returns
    it; ``backend="auto"`` then picks the NumPy tier, ``"numba"`` raises ``GraphError``.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> step = cr.compile_step(model, nn.CrossEntropyLoss(), opt, return_output=True)
        >>> x, y = np.ones((4, 2), np.float32), np.array([0, 1, 1, 0])
        >>> for _ in range(3):
        ...     loss, out = step(x, y)
        >>> out.shape
        (4, 2)
    """
    if not return_output:

        def loss_only(x, y):
            return loss_fn(_stateless_call(model, x), y)

        return Compiled(loss_only, optimizer, backend, model=model)

    def loss_and_output(x, y):
        out = _stateless_call(model, x)
        return loss_fn(out, y), out

    return Compiled(loss_and_output, optimizer, backend, model=model, output=True)


def _tensor_state(model) -> dict:
    """Each module attribute that holds tensors outside its parameters and buffers (a
    recurrent state kept as ``self.hidden``), by (module, name)."""
    state = {}
    for module in model.modules() if hasattr(model, "modules") else ():
        for name, value in vars(module).items():
            parts = value if isinstance(value, (tuple, list)) else (value,)
            if any(isinstance(part, Tensor) for part in parts):
                state[(id(module), name)] = (module, name, value)
    return state


def _stateless_call(model, x):
    """``model(x)``, refused when the call stores tensors on the model for the next one: a
    traced step replays this call's ops and would never read them (silently, when the first
    call starts from ``None``)."""
    before = _tensor_state(model)
    out = model(x)
    for key, (module, name, value) in _tensor_state(model).items():
        if key not in before or before[key][2] is not value:
            raise GraphError(
                f"cr.compile_step: {type(module).__name__}.{name} is set to tensors in forward "
                "(a state kept for the next call, as in truncated backpropagation through time, "
                "or a value kept to look at); a compiled step replays its first call's ops and "
                "would neither update nor read it. Train this model eagerly"
            )
    return out


def check_compile_step(
    model, loss_fn, optimizer, batch, backend: str = "auto", return_output: bool = False
) -> str | None:
    """Why ``loss_fn(model(x), y)`` on ``batch = (x, y)`` cannot be compiled, or None.

    The check records the forward pass without lasting effects: no gradients, no running
    statistics, random generators put back. Used by :func:`try_compile_step`.
    ``return_output``: check that the step can also return ``model(x)`` (see
    :func:`compile_step`).
    """
    if backend not in BACKENDS:
        return f"backend must be one of {BACKENDS}, got {backend!r}"
    if not _GradMode.enabled:
        return "grad mode is off (no_grad)"
    inputs = [Tensor._make(_array(a), False) for a in batch]
    recorder = Recorder(dry=True)
    seen = []

    def step(x, y):
        seen.append(_stateless_call(model, x))  # as compile_step calls it: the same refusals
        return loss_fn(seen[0], y)

    # a forward hook may change buffers in place (spectral_norm's power iteration on u, v)
    buffers = [(b, b.array.copy()) for b in model.buffers()] if hasattr(model, "buffers") else []
    try:
        loss = recorder.run(step, inputs)
        graph = build_graph(recorder, inputs, loss, seen if return_output else ())
    except GraphError as error:
        return str(error)
    finally:
        for buffer, array in buffers:
            if buffer.array.shape == array.shape and buffer.array.dtype == array.dtype:
                np.copyto(buffer.array, array)
            else:
                buffer.array = array
    if backend == "numba":
        if return_output:
            return _NO_JIT_OUTPUT
        from chainrule.autograd import compile_numba

        return compile_numba.unsupported(graph, optimizer)
    return None


def try_compile_step(
    model,
    loss_fn,
    optimizer,
    batch=None,
    backend: str = "auto",
    steps: int | None = None,
    return_output: bool = False,
):
    """A compiled training step, or None when it does not apply (for ``cr.fit``).

    ``backend="auto"`` here means the NumPy tier (eager's bits, no start-up cost) unless
    ``steps``, the number of steps the caller plans, is at least ``JIT_MIN_STEPS``: the jit
    tier's one-off Numba compilation (1-5 s) only pays off over a long run.

    With an example ``batch = (x, y)`` the step is checked at once (see
    :func:`check_compile_step`, which gives the reason) and None comes back when it cannot
    compile. Without one, the step checks itself at its first call and, if it cannot compile,
    runs eagerly from then on; ``step.reason`` then says why. Either way the step's results are
    those of ``optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()``.
    ``return_output``: each call returns ``(loss, model output)`` (see :func:`compile_step`).
    """
    if backend == "auto" and (steps is None or steps < JIT_MIN_STEPS or return_output):
        backend = "numpy"
    if batch is not None:
        reason = check_compile_step(model, loss_fn, optimizer, batch, backend, return_output)
        try_compile_step.reason = reason
        if reason is not None:
            return None
    step = compile_step(model, loss_fn, optimizer, backend, return_output)
    step.fallback = True
    return step


try_compile_step.reason = None
_NO_JIT_OUTPUT = "the jit tier does not return the model's output (return_output=True)"


def _array(a) -> np.ndarray:
    return a.array if isinstance(a, Tensor) else np.asarray(a)


class Compiled:
    """The callable that :func:`compile` and :func:`compile_step` return (see there).

    ``output=True``: ``fn`` returns ``(loss, output)`` and so does each call, the output a
    tensor with an array of its own (see :func:`compile_step`'s ``return_output``).
    """

    def __init__(self, fn, optimizer=None, backend: str = "auto", model=None, output=False):
        if backend not in BACKENDS:
            raise ValueError(f"cr.compile: backend must be one of {BACKENDS}, got {backend!r}")
        self.fn, self.optimizer, self.backend, self.model = fn, optimizer, backend, model
        self.output = output
        self.plans: dict = {}
        self.records = 0  # how many times the function was (re)recorded
        self.fallback = False  # True: run eagerly when something cannot compile
        self.reason = None  # why the last recording could not compile, if it could not
        self.eager = False
        self.__wrapped__ = fn

    def __call__(self, *args):
        arrays = [a.array if isinstance(a, Tensor) else np.asarray(a) for a in args]
        if not _GradMode.enabled:  # nothing to differentiate: just run the function
            return self.fn(*[Tensor._make(a, False) for a in arrays])
        key = [(a.shape, a.dtype) for a in arrays]
        if self.model is not None:
            key.append(self.model.training)
        key = tuple(key)
        plan = self.plans.get(key)
        if self.eager or plan is None or plan.flags != plan.graph.leaf_flags():
            return self._record(arrays, key)
        if _hooks.LEAF_HOOKS and any(_hooks.hooks_of(t) for t in plan.graph.leaves):
            return self._eager(arrays)  # generated code runs no hooks: this call runs eagerly
        try:
            result = plan.run(arrays)
        except Fallback:  # inputs this code does not cover (labels out of range): eager
            return self._eager(arrays)
        if self.output:
            return Tensor._make(result[0], False), Tensor._make(result[1], False)
        return Tensor._make(result, False)

    def _eager(self, arrays):
        opt = self.optimizer
        if opt is not None:
            opt.zero_grad()
        loss, out = self._split(self.fn(*[Tensor._make(a, False) for a in arrays]))
        loss.backward()
        if opt is not None:
            opt.step()
        return self._result(loss, out)

    def _split(self, result):
        """``(loss, model output or None)`` from what ``fn`` returned."""
        return result if self.output else (result, None)

    def _result(self, loss, out):
        if not self.output:
            return loss.detach()
        return loss.detach(), Tensor._make(np.copy(out.array), False)

    def _record(self, arrays, key):
        if self.eager:
            return self._eager(arrays)
        opt = self.optimizer
        if opt is not None:
            opt.zero_grad()
        inputs = [Tensor._make(a, False) for a in arrays]
        recorder = Recorder()
        loss, out = self._split(recorder.run(self.fn, inputs))
        try:
            # before backward() frees the graph
            graph = build_graph(recorder, inputs, loss, () if out is None else (out,))
            plan = self._plan(graph)
        except (GraphError, ValueError) as error:
            if not self.fallback:
                raise
            self.reason, self.eager = str(error), True
            plan = None
        loss.backward()
        if opt is not None:
            opt.step()
        if plan is not None:
            self.plans[key] = plan
            self.records += 1
        return self._result(loss, out)

    def _plan(self, graph):
        from chainrule.autograd import compile_numba

        backend = self.backend
        if backend != "numpy":
            reason = compile_numba.unsupported(graph, self.optimizer)
            if self.output:
                reason = _NO_JIT_OUTPUT
            if reason is None and backend == "auto" and _macs(graph) > _JIT_MAX_MACS:
                reason = "large layers: the NumPy tier is as fast and exact"
            if reason is not None and backend == "numba":
                raise GraphError(f"cr.compile(backend='numba'): {reason}")
            if reason is None:
                return _Plan(graph, compile_numba.NumbaStep(graph, self.optimizer).run, "numba")
        step, source = build_python_step(graph)
        opt = self.optimizer
        if opt is None:

            def run(arrays):
                return step(*arrays)

        else:

            def run(arrays):
                opt.zero_grad()
                loss = step(*arrays)
                opt.step()
                return loss

        plan = _Plan(graph, run, "numpy")
        plan.source = source
        return plan


class _Plan:
    """Generated code for one recorded graph, with the leaf flags it was recorded under."""

    def __init__(self, graph, run, backend):
        self.graph, self.run, self.backend = graph, run, backend
        self.flags = graph.leaf_flags()
        self.source = None


def _macs(graph) -> int:
    from chainrule.ops.matmul import Linear

    total = 0
    for node in graph.nodes:
        if node.cls is Linear:
            total += int(np.prod(node.shape)) * int(node.shape[-1] and _in_features(graph, node))
    return total


def _in_features(graph, node) -> int:
    kind, i = node.refs[0]
    shape = graph.nodes[i].shape if kind == "v" else graph.arg_shapes[i] if kind == "a" else (1,)
    return shape[-1] if shape else 1
