"""``cr.compile``: record a loss computation once, then replay it without graph bookkeeping.

The first call runs the function normally while an observer of ``Function.apply`` watches. The
ops, their order and the backward order become a plan. Later calls with arrays of the same
shapes and dtypes run the plan: each op's own ``forward`` and ``backward`` methods, in the same
order, with the same gradient sums. No tensors, modules, argument checks or topological sort
are involved, so the results are bit-for-bit those of the uncompiled function, only sooner.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import engine
from chainrule.autograd.function import add_observer, remove_observer
from chainrule.autograd.grad_mode import _GradMode
from chainrule.errors import GraphError
from chainrule.tensor import Tensor

# kinds of op inputs in a plan
_ARG, _OP, _LEAF, _CONST = 0, 1, 2, 3
_PARAM_TYPES = (type(None), bool, int, float, str, np.dtype, np.generic)


def compile(fn):  # noqa: A001 - the public name is cr.compile, as in torch.compile
    """Compile ``fn(*batch) -> scalar loss`` into a callable that also runs the backward pass.

    Calling the result with arrays (or tensors) computes the loss, fills ``.grad`` of every
    parameter exactly as ``loss.backward()`` would, and returns the loss as a tensor cut from
    the graph. Step the optimizer as usual afterwards. The first call, and any call whose
    arrays differ in shape or dtype, records; the others replay.

    What can be compiled: functions whose ops read only the arguments, parameters
    (``nn.Parameter`` or any tensor with ``requires_grad=True``), scalar constants and each
    other's outputs, with plain option values (numbers, strings, tuples). Anything else, such
    as a dropout mask drawn per call, or class-index targets turned into a one-hot array,
    raises ``GraphError`` at the first call, naming the op. Like any tracer, it replays the
    ops of the first call: Python ``if``s on tensor values are not re-evaluated.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        >>> loss_fn = nn.BCEWithLogitsLoss()
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> loss_and_grads = cr.compile(lambda x, y: loss_fn(model(x), y))
        >>> x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     loss = loss_and_grads(x, y)
        ...     opt.step()
        >>> loss.shape
        ()
    """
    return Compiled(fn)


class Compiled:
    """The callable that :func:`compile` returns (see there)."""

    def __init__(self, fn):
        self.fn = fn
        self.plan = None
        self.records = 0  # how many times the function was (re)recorded
        self.__wrapped__ = fn

    def __call__(self, *args):
        arrays = [a.array if isinstance(a, Tensor) else np.asarray(a) for a in args]
        if not _GradMode.enabled:  # nothing to differentiate: just run the function
            return self.fn(*[Tensor._make(a, False) for a in arrays])
        key = tuple([(a.shape, a.dtype) for a in arrays])  # a list first: no generator
        plan = self.plan
        if plan is None or plan.key != key or not plan.leaves_unchanged():
            return self._record(arrays, key)
        return plan.run(arrays)

    def _record(self, arrays, key):
        inputs = [Tensor._make(a, False) for a in arrays]
        calls = []

        def record(cls, tensors, params, result):
            calls.append((cls, tensors, params, result))

        add_observer(record)
        try:
            loss = self.fn(*inputs)
        finally:
            remove_observer(record)
        self.plan = _Plan.build(key, inputs, calls, loss)  # before backward() frees the graph
        self.records += 1
        loss.backward()
        return loss.detach()


class _Plan:
    """Straight-line forward and backward steps recorded from one call."""

    def __init__(self, key, forward, backward, root, leaves):
        self.key = key
        self.forward = forward  # [(cls, refs, params, needs_grad)]
        self.backward = backward  # [(op index, [(ref, needed), ...])] in the engine's order
        self.root = root
        self.leaves = leaves  # [(tensor, requires_grad at recording)]

    @classmethod
    def build(cls, key, inputs, calls, loss):
        if not isinstance(loss, Tensor) or loss.array.size != 1:
            raise GraphError("cr.compile: the function must return a single-element loss tensor")
        if loss._ctx is None or not loss.requires_grad:
            raise GraphError(
                "cr.compile: the loss does not depend on any parameter that requires grad"
            )
        arg_index = {id(t): i for i, t in enumerate(inputs)}
        out_index = {}
        leaves = {}
        forward = []
        for k, (op, tensors, params, result) in enumerate(calls):
            for name, value in params.items():
                if not _plain(value):
                    raise GraphError(
                        f"cr.compile: op {op.__name__} gets option {name}= of type "
                        f"{type(value).__name__}, which may change from call to call (an array "
                        f"made inside the function?); only numbers, strings and tuples of them "
                        f"can be compiled. Call the function uncompiled instead."
                    )
            refs = []
            for t in tensors:
                if id(t) in out_index:
                    refs.append((_OP, out_index[id(t)]))
                elif id(t) in arg_index:
                    refs.append((_ARG, arg_index[id(t)]))
                elif t.requires_grad or t._is_parameter:  # frozen parameters too
                    refs.append((_LEAF, t))
                    leaves[id(t)] = t
                elif t.array.ndim == 0:
                    refs.append((_CONST, t.array))
                else:
                    raise GraphError(
                        f"cr.compile: op {op.__name__} reads a tensor of shape {t.array.shape} "
                        f"that is not an argument, a parameter or an op's output (made inside "
                        f"the function, e.g. a converted copy of an argument or a random mask). "
                        f"Pass it as an argument, or call the function uncompiled."
                    )
            out_index[id(result)] = k
            needs_grad = result._ctx.needs_grad if result._ctx is not None else None
            forward.append((op, refs, params, needs_grad))
        if id(loss) not in out_index:
            raise GraphError("cr.compile: the loss is not the output of an op in the function")
        ctx_index = {id(result._ctx): out_index[id(result)] for _, _, _, result in calls}
        backward = []
        for fn in engine.topological_order(loss._ctx):
            k = ctx_index[id(fn)]
            refs = forward[k][1]
            backward.append((k, list(zip(refs, fn.needs_grad))))
        return cls(
            key,
            forward,
            backward,
            out_index[id(loss)],
            [(t, t.requires_grad) for t in leaves.values()],
        )

    def leaves_unchanged(self) -> bool:
        for t, flag in self.leaves:  # a loop, not all() over a generator: called every step
            if t.requires_grad != flag:
                return False
        return True

    def run(self, arrays):
        values = []
        fns = []
        for op, refs, params, needs_grad in self.forward:
            ins = []
            for kind, i in refs:
                if kind == _OP:
                    ins.append(values[i])
                elif kind == _ARG:
                    ins.append(arrays[i])
                elif kind == _LEAF:
                    ins.append(i.array)  # read now: the optimizer updates parameters in place
                else:
                    ins.append(i)
            fn = op()
            values.append(fn.forward(*ins, **params) if params else fn.forward(*ins))
            if needs_grad is not None:
                fn.needs_grad = needs_grad
            fns.append(fn)
        loss = values[self.root]
        grads = [None] * len(values)
        seed = np.empty_like(loss)
        seed.fill(1)
        grads[self.root] = seed
        # the engine's loop, on plain arrays: same order, same sums (see engine.backward)
        for k, parents in self.backward:
            grad = grads[k]
            if grad is None:
                continue
            grads[k] = None
            grads_in = fns[k].backward(grad)
            j = 0
            for (kind, i), needed in parents:
                grad_in = grads_in[j]
                j += 1
                if grad_in is None or not needed:
                    continue
                if kind == _OP:
                    shape = values[i].shape
                    if grad_in.shape != shape:
                        grad_in = engine.sum_to_shape(grad_in, shape)
                    grads[i] = grad_in if grads[i] is None else grads[i] + grad_in
                elif kind == _LEAF:
                    shape = i.array.shape
                    if grad_in.shape != shape:
                        grad_in = engine.sum_to_shape(grad_in, shape)
                    if (
                        i.grad_array is None
                        and grad_in.base is None
                        and grad_in is not grad
                        and grad_in.dtype == i.array.dtype
                    ):
                        i.grad_array = grad_in  # as in engine.backward: the common case inline
                    else:
                        engine._accumulate_leaf(i, grad_in, grad)
        return Tensor._make(loss, False)


def _plain(value) -> bool:
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, _PARAM_TYPES)
