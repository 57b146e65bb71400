"""``torch.autograd.Function``: user-defined ops with static ``forward(ctx, ...)`` and
``backward(ctx, grad)`` working on tensors, adapted onto chainrule's op base.

The user's forward runs under ``no_grad`` on tensors; its result is recorded in the graph as
one op (a subclass of :class:`chainrule.autograd.function.Function` made once per user class,
named ``<Name>Backward``), whose backward calls the user's ``backward`` with the upstream
gradient as a tensor and hands the returned tensors' arrays to the engine. A forward
returning several outputs, or an input changed in place (``ctx.mark_dirty``), is recorded by
``custom_outputs.py``. Under
``create_graph=True`` the user's backward runs in grad mode, so its tensor ops are recorded and
its gradients can be differentiated again, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import custom_outputs as _outputs
from chainrule.autograd import function as _op
from chainrule.autograd.grad_mode import _GradMode, no_grad
from chainrule.errors import GraphError
from chainrule.tensor import Tensor


class FunctionCtx:
    """The ``ctx`` a custom Function's ``forward`` and ``backward`` share.

    ``ctx.save_for_backward(*tensors)`` keeps tensors for backward, which reads them from
    ``ctx.saved_tensors``; ``ctx.needs_input_grad`` says, per forward argument, whether its
    gradient is wanted. Any other attribute (``ctx.alpha = 2``) is kept as set.
    """

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: list = []  # outputs marked (held: an id could be reused)
        self._dirty: list = []

    def save_for_backward(self, *tensors) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward() takes tensors (or None), got {type(t).__name__}; "
                    f"keep other values as ctx attributes (ctx.value = ...)"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Mark outputs as not differentiable: they come back not requiring grad, outside the
        graph (PyTorch's; an index output, say, must not pass gradients to the inputs)."""
        self._non_differentiable.extend(tensors)

    def mark_dirty(self, *tensors) -> None:
        """Mark inputs the forward changed in place and returns: each comes back as the same
        tensor, its version bumped and this Function as its grad_fn (PyTorch's)."""
        self._dirty.extend(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _CustomOp(_op.Function):
    """The graph node of one call of a custom Function (subclassed per user class)."""

    user = None  # the user's Function subclass
    formulas = ("the custom backward",)

    def forward(self, *arrays, ctx, out, positions, outputs=None):
        self.ctx, self.positions, self.n_args = ctx, positions, len(ctx.needs_input_grad)
        self.outputs = outputs  # custom_outputs.Outputs where forward returned several
        # Nothing saved with save_for_backward: the op outlives a backward() without
        # retain_graph, as PyTorch's node, which frees only the saved tensors
        self.saves_tensors = bool(ctx.saved_tensors)
        # nor are its inputs: a later in-place write to one (mark_dirty twice) is harmless
        self.saves_inputs = self.saves_tensors
        return out

    def backward(self, grad):
        with no_grad():
            grads = self._user_grads(self._output_grads(Tensor._make(grad, False), grad))
        return tuple(None if g is None else np.asarray(g) for g in grads)

    def backward_graph(self, grad):
        """The user's backward run in grad mode, as PyTorch runs it under ``create_graph=True``:
        the tensor ops it does on ``grad`` and the saved tensors are recorded, so its gradients
        can be differentiated again (an op done on NumPy arrays, as in PyTorch, is not)."""
        once = getattr(self.user.backward, "_chainrule_once_differentiable", False)
        if once:
            with no_grad():
                grads = self._user_grads(self._output_grads(grad, grad, graph=True))
        else:
            grads = self._user_grads(self._output_grads(grad, grad, graph=True))
        out = []
        for g in grads:
            if g is not None and not isinstance(g, Tensor):
                g = Tensor._make(np.asarray(g), False)
            if once and g is not None and grad.requires_grad:
                g = _OnceDifferentiated.apply(grad, value=g.array, user=self.user.__name__)
            out.append(g)
        return tuple(out)

    def _output_grads(self, tensor, grad, graph=False) -> tuple:
        """The gradients the user's backward takes: the one output's, or one per output."""
        if self.outputs is None:
            return (tensor,)
        return self.outputs.split(grad, graph, self.ctx.materialize_grads)

    def name(self) -> str:
        return type(self).__name__  # PyTorch's name of a custom node: ``<Function>Backward``

    def __repr__(self) -> str:  # PyTorch's: <torch.autograd.function.MyFnBackward object at …>
        return _op.node_repr(f"{_outputs.CUSTOM_MODULE}.{self.name()}", self)

    def register_hook(self, fn):
        if self.outputs is not None:
            _outputs.refuse_hooks(type(self).__name__)
        return super().register_hook(fn)

    def register_prehook(self, fn):
        if self.outputs is not None:
            _outputs.refuse_hooks(type(self).__name__)
        return super().register_prehook(fn)

    def _user_grads(self, grads_out: tuple) -> tuple:
        """The user's backward on the outputs' gradients: one per recorded input, checked."""
        grads = self.user.backward(self.ctx, *grads_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) > self.n_args and all(g is None for g in grads[self.n_args :]):
            grads = grads[: self.n_args]  # extra trailing Nones are allowed, as in PyTorch
        if len(grads) != self.n_args:
            raise GraphError(
                f"{self.user.__name__}.backward returned {len(grads)} gradients for "
                f"{self.n_args} forward arguments; return one per argument (None for "
                f"arguments that need none)"
            )
        grads = tuple(grads[position] for position in self.positions)
        for grad, parent, position in zip(grads, self.parents, self.positions):
            shape = np.shape(grad.array if isinstance(grad, Tensor) else grad)
            if grad is not None and not _sums_to(shape, parent.shape):
                raise GraphError(  # the engine's sum-to-shape would fail with NumPy's words
                    f"{self.user.__name__}.backward returned a gradient of shape {shape} for "
                    f"argument {position} of shape {parent.shape}; return one of the "
                    f"argument's shape (or one that broadcasting it gives), as PyTorch requires"
                )
        return grads


def _sums_to(grad_shape: tuple, shape: tuple) -> bool:
    """Whether a gradient of ``grad_shape`` is one of ``shape`` or one that ``shape`` broadcasts
    to (the engine then sums it back), PyTorch's test for a custom backward's gradients."""
    if len(shape) > len(grad_shape):
        return False
    return all(n in (g, 1) for n, g in zip(reversed(shape), reversed(grad_shape)))


class _OnceDifferentiated(_op.Function):
    """A gradient from a backward marked ``@once_differentiable``: its value, in the graph only
    to refuse being differentiated again (PyTorch's ``DelayedError``)."""

    label = "once_differentiable"
    formulas = ("not differentiable (the backward was marked @once_differentiable)",)

    def forward(self, grad, value, user):
        self.user = user
        return value

    def backward(self, grad):
        raise GraphError(
            f"{self.user}.backward is marked @once_differentiable: its gradients cannot be "
            f"differentiated again; remove the decorator and write the backward with tensor "
            f"ops to get second derivatives"
        )

    backward_graph = backward


class Function:
    """Base class of user-defined differentiable functions, as ``torch.autograd.Function``.

    Subclass it with two static methods, ``forward(ctx, *args)`` returning a tensor (or a
    tuple of outputs), and ``backward(ctx, *grad_outputs)``, given one gradient per output and
    returning one gradient per forward argument (``None`` for arguments that need none); call
    it with ``MyFn.apply(*args)``. ``ctx.mark_dirty(x)`` declares an input changed in place
    and returned (custom_outputs.py). PyTorch's newer style,
    ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``, works too.

    Example:
        >>> import chainrule as cr
        >>> class Cube(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x ** 2
        >>> x = cr.tensor([2.0], requires_grad=True)
        >>> Cube.apply(x).sum().backward()
        >>> x.grad.tolist()
        [12.0]
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a custom Function must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a custom Function must define a static backward(ctx, grad)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def _node_class(cls):
        node = cls.__dict__.get("_chainrule_node")
        if node is None:
            node = type(
                f"{cls.__name__}Backward", (_CustomOp,), {"user": cls, "label": cls.__name__}
            )
            cls._chainrule_node = node
        return node

    @classmethod
    def apply(cls, *args, **kwargs):
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        new_style = cls.setup_context is not Function.setup_context
        with no_grad():
            if new_style:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        several = isinstance(out, tuple)
        outs = out if several else (out,)
        if not several and not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a tensor, got {type(out)}")
        recording = _GradMode.enabled and any(needs)
        dirty = _outputs.dirty_outputs(cls.__name__, ctx._dirty, outs, recording)
        if not recording:
            return out
        marked = ctx._non_differentiable
        differentiable = set()
        results = list(outs)
        for k, value in enumerate(outs):
            if not isinstance(value, Tensor):
                continue
            if any(t is value for t in marked) or value.array.dtype.kind not in "fc":
                # marked, or integer / bool (never differentiable): outside the graph, as
                # PyTorch's (an input given back as is)
                results[k] = value.detach() if value.requires_grad else value
            else:
                differentiable.add(k)
        if not differentiable:
            return tuple(results) if several else results[0]
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        tensors = [args[i] for i in positions]
        stand_ins = {}
        if dirty:  # the node's inputs: the dirty tensors as they were before the write
            stand_ins = _outputs.before_writes(cls.__name__, [outs[k] for k in dirty])
            tensors = [stand_ins.get(id(t), t) for t in tensors]
        node = cls._node_class()
        if several:
            results = _outputs.record_several(
                node, tensors, results, differentiable, ctx=ctx, positions=positions
            )
        else:
            results = [node.apply(*tensors, ctx=ctx, out=np.asarray(out), positions=positions)]
        for k in dirty:
            results[k] = _outputs.adopt(outs[k], results[k], stand_ins[id(outs[k])])
        return tuple(results) if several else results[0]


class once_differentiable:  # noqa: N801 - PyTorch's decorator name
    """Marks a custom Function's backward as differentiable once, as in PyTorch: it runs
    without recording a graph, and differentiating its gradients again raises ``GraphError``."""

    def __new__(cls, fn):
        target = fn.__func__ if isinstance(fn, staticmethod) else fn
        target._chainrule_once_differentiable = True
        return fn
