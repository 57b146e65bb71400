"""``torch.autograd.Function``: user-defined ops with static ``forward(ctx, ...)`` and
``backward(ctx, grad)`` working on tensors, adapted onto chainrule's op base.

The user's forward runs under ``no_grad`` on tensors; its result is recorded in the graph as
one op (a subclass of :class:`chainrule.autograd.function.Function` made once per user class,
named ``<Name>Backward``), whose backward calls the user's ``backward`` with the upstream
gradient as a tensor and hands the returned tensors' arrays to the engine.
"""

from __future__ import annotations

import numpy as np

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
        """Accepted for PyTorch code; the outputs' gradients are still passed to backward."""

    def mark_dirty(self, *tensors) -> None:
        raise NotImplementedError(
            "ctx.mark_dirty (in-place custom Functions) is not supported; return a new tensor"
        )

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _CustomOp(_op.Function):
    """The graph node of one call of a custom Function (subclassed per user class)."""

    user = None  # the user's Function subclass
    formulas = ("the custom backward",)

    def forward(self, *arrays, ctx, out, positions):
        self.ctx, self.positions, self.n_args = ctx, positions, len(ctx.needs_input_grad)
        return out

    def backward(self, grad):
        with no_grad():
            grads = self.user.backward(self.ctx, Tensor._make(grad, False))
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != self.n_args:
            raise GraphError(
                f"{self.user.__name__}.backward returned {len(grads)} gradients for "
                f"{self.n_args} forward arguments; return one per argument (None for "
                f"arguments that need none)"
            )
        out = []
        for position in self.positions:
            g = grads[position]
            out.append(None if g is None else np.asarray(g))
        return tuple(out)


class Function:
    """Base class of user-defined differentiable functions, as ``torch.autograd.Function``.

    Subclass it with two static methods, ``forward(ctx, *args)`` returning a tensor, and
    ``backward(ctx, grad_output)`` returning one gradient per forward argument (``None`` for
    arguments that need none); call it with ``MyFn.apply(*args)``. PyTorch's newer style,
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
        if isinstance(out, tuple):
            raise NotImplementedError(
                f"{cls.__name__}.forward returned {len(out)} outputs; custom Functions with "
                f"several outputs are not supported yet: return one tensor (or write two)"
            )
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a tensor, got {type(out)}")
        if not (_GradMode.enabled and any(needs)):
            return out
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        tensors = [args[i] for i in positions]
        return cls._node_class().apply(*tensors, ctx=ctx, out=np.asarray(out), positions=positions)


class once_differentiable:  # noqa: N801 - PyTorch's decorator name
    """Accepted for PyTorch code: backward already runs without building a graph here."""

    def __new__(cls, fn):
        return fn
