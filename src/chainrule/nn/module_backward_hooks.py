"""Module backward hooks, as PyTorch's: the machinery behind
``register_full_backward_hook`` and ``register_full_backward_pre_hook``.

A call of a module with backward hooks passes its positional tensor inputs, and then its
outputs, through one identity op each side (:class:`BackwardHookFunction`, PyTorch's name). In
the backward pass the op on the outputs runs first, before any op inside the module: it sees
every output's gradient at once, runs the pre-hooks (which may replace them) and keeps them.
The op on the inputs runs last, after every op inside the module: it sees every input's
gradient, runs the full hooks with both tuples (a returned tuple replaces the inputs'
gradients) and forgets the outputs' ones, so the hooks fire once per backward pass through
that call.

One op has one output here, so a side with several tensors is an op whose output is a
placeholder, and one :class:`_Pick` op per tensor that needs a gradient gives that tensor
back: in backward each pick leaves its tensor's gradient with the op and hands it a zero
placeholder gradient, and the op reads them all when it runs (after every pick, as it is their
input). A side with a single tensor is the identity op alone.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import _GradMode
from chainrule.autograd.hooks import _check_returned_shape
from chainrule.errors import GraphError
from chainrule.tensor import Tensor

_NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See "
    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
    "#torch.nn.Module.register_full_backward_hook for more details."
)


class BackwardHookFunction(Function):
    """Identity on the tensors of one side (inputs or outputs) of one module call; its
    backward runs that call's backward hooks with the gradients of all of them."""

    label = "backward hook"
    formulas = ("1 (identity; the module's backward hooks see the gradient here)",)
    saves_inputs = False
    compile_refusal = (
        "the function calls a module with backward hooks (register_full_backward_hook or "
        "register_full_backward_pre_hook); compiled steps run no hooks. Remove the hooks, or "
        "call the function uncompiled."
    )

    def forward(self, *arrays, call, outputs):
        self.call, self.outputs = call, outputs
        self.left = [None] * len(arrays)  # the picks' gradients, for a side of several
        if len(arrays) == 1:
            return arrays[0]
        return np.zeros((), np.float32)  # a placeholder: the _Pick ops give the tensors

    def backward(self, grad):
        return self._run(grad, graph=False)

    def backward_graph(self, grad):
        return self._run(grad, graph=True)

    def _run(self, grad, graph: bool) -> tuple:
        if len(self.parents) == 1:
            grads = [grad]
        else:
            grads, self.left = self.left, [None] * len(self.parents)
        if self.outputs:
            return self.call.outputs_backward(grads, graph)
        return self.call.inputs_backward(grads, self.parents, graph)


class _Pick(Function):
    """One tensor of a several-tensor side: identity on ``array``; its gradient is left with
    the :class:`BackwardHookFunction` op that made its input."""

    label = "backward hook"
    formulas = ("1",)
    saves_inputs = False
    grads_match_inputs = True

    def forward(self, placeholder, *, array, slot):
        self.slot = slot
        return array

    def backward(self, grad):
        self.parents[0]._ctx.left[self.slot] = grad
        return (np.zeros((), np.float32),)

    def backward_graph(self, grad):
        self.parents[0]._ctx.left[self.slot] = grad
        return (Tensor._make(np.zeros((), np.float32), False),)


def _wrap(grad, graph: bool):
    """A gradient as the hooks see it: a tensor (already one on the graph path)."""
    if grad is None or graph:
        return grad
    return Tensor._make(grad, False)


def _unwrap(value, handed, like: np.ndarray, graph: bool, where: str):
    """A hook's gradient back as the engine's: an array (a tensor on the graph path), checked
    against the tensor's shape and copied unless it is the one the hook was given."""
    if value is None or value is handed:
        return None if value is None else (value if graph else value.array)
    if graph and isinstance(value, Tensor):
        _check_returned_shape(value.shape, like.shape, where)
        return value
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    _check_returned_shape(array.shape, like.shape, where)
    array = np.array(array, dtype=like.dtype if like.dtype.kind in "fc" else None, copy=True)
    return Tensor._make(array, False) if graph else array


class BackwardHook:
    """One module call's backward hooks (PyTorch's ``torch.utils.hooks.BackwardHook``): the
    hooks as they were when the module was called, and the outputs' gradients between the
    two ops' backward."""

    def __init__(self, module, hooks: list, pre_hooks: list):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_index = self.output_index = None  # positions of the side's tensors
        self.output_arrays: list = []

    # ---- forward: route the call's tensors through the ops ---------------------------------
    def setup_inputs(self, args: tuple) -> tuple:
        args, self.input_index = self._route(args, outputs=False)
        self.n_inputs = len(args)
        return args

    def setup_outputs(self, result):
        if not isinstance(result, (Tensor, tuple)):
            warnings.warn(
                f"For backward hooks to be called, module output should be a Tensor or a "
                f"tuple of Tensors but received {type(result)}",
                stacklevel=4,  # the caller's module(x)
            )
        single = not isinstance(result, tuple)
        outputs, self.output_index = self._route((result,) if single else result, outputs=True)
        self.n_outputs = len(outputs)
        return outputs[0] if single else outputs

    def _route(self, values: tuple, outputs: bool):
        index = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        tensors = [values[i] for i in index]
        if not (_GradMode.enabled and any(t.requires_grad for t in tensors)):
            return values, None
        joined = BackwardHookFunction.apply(*tensors, call=self, outputs=outputs)
        routed = list(values)
        if len(tensors) == 1:
            routed[index[0]] = joined
        else:
            for slot, (i, t) in enumerate(zip(index, tensors)):
                if t.requires_grad:
                    routed[i] = _Pick.apply(joined, array=t.array, slot=slot)
        if outputs:
            self.output_arrays = [t.array for t in tensors]
        return tuple(routed), index

    # ---- backward ----------------------------------------------------------------------------
    def outputs_backward(self, grads: list, graph: bool) -> tuple:
        """The outputs' gradients arrived: pre-hooks, then (no input needing a gradient) the
        full hooks; what goes on into the module."""
        handed = [_wrap(g, graph) for g in grads]
        grad_outputs = self._pack(self.output_index, handed, self.n_outputs)
        grad_outputs = _chain(
            self.pre_hooks,
            lambda hook, current: hook(self.module, current),
            grad_outputs,
            "Backward pre hook returned an invalid number of grad_output",
        )
        self.grad_outputs = grad_outputs
        if self.input_index is None:  # the module's inputs need no gradient: the hooks run now
            warnings.warn(_NO_INPUT_GRAD_WARNING, stacklevel=2)
            nones = (None,) * self.n_inputs
            for hook in self.hooks:
                res = hook(self.module, nones, grad_outputs)
                if res is not None and not (
                    isinstance(res, tuple) and all(el is None for el in res)
                ):
                    raise GraphError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
            self.grad_outputs = None
        return tuple(
            _unwrap(grad_outputs[i], h, like, graph, "a module's output")
            for i, h, like in zip(self.output_index, handed, self.output_arrays)
        )

    def inputs_backward(self, grads: list, parents: tuple, graph: bool) -> tuple:
        """The inputs' gradients arrived: the full hooks; what goes on to the inputs."""
        handed = []
        for g, parent in zip(grads, parents):
            if g is None:  # no gradient reached it, or it needs none: zeros, as PyTorch's
                g = np.zeros_like(parent.array)
                g = Tensor._make(g, False) if graph else g
            handed.append(_wrap(g, graph))
        if self.grad_outputs is None:  # not reached through the outputs (or no hook to run)
            return tuple(h if graph else h.array for h in handed)
        res = self._pack(self.input_index, handed, self.n_inputs)
        res = _chain(
            self.hooks,
            lambda hook, current: hook(self.module, current, self.grad_outputs),
            res,
            "Backward hook returned an invalid number of grad_input",
        )
        self.grad_outputs = None
        return tuple(
            _unwrap(res[i], h, parent.array, graph, "a module's input")
            for i, h, parent in zip(self.input_index, handed, parents)
        )

    @staticmethod
    def _pack(index: list, values: list, size: int) -> tuple:
        packed = [None] * size
        for i, value in zip(index, values):
            packed[i] = value
        return tuple(packed)


def _chain(hooks: list, call, current: tuple, wrong_length: str) -> tuple:
    """Run ``hooks`` in order, each seeing the gradients the previous one left; a hook returns
    None (keep them) or a tuple of the same length (replace them), as PyTorch's."""
    for hook in hooks:
        replaced = call(hook, current)
        if replaced is None:
            continue
        if len(replaced) != len(current):
            raise GraphError(f"{wrong_length}, got {len(replaced)}, but expected {len(current)}")
        current = replaced
    return current
