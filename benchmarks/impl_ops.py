"""chainrule's arithmetic without chainrule's engine: a diagnostic row, not a peer.

The step calls the library's own op objects (``Linear``, ``ReLU``/``Tanh``/``Sigmoid``,
``CrossEntropy``) directly on NumPy arrays: each op's ``forward``, then each op's ``backward`` in
the order the engine runs them, then SGD's update as ``optim.SGD`` makes it (BLAS axpy where it
applies). No tensors, no graph, no modules, no optimizer object. So, in one process
(``python -m benchmarks.alternate --impls chainrule,ops,numpy``):

- ``chainrule`` ÷ ``ops`` is what the engine's dispatch costs (modules, ``apply``, the backward
  loop, ``zero_grad``, the optimizer's loop), and
- ``ops`` ÷ ``numpy`` is what the ops' own arithmetic costs against the hand-written step (fresh
  arrays, BLAS column sums, cross-entropy's exact small gradients, the one-pass update).

Cases with class-index cross-entropy only: (c) and (d).
"""

from __future__ import annotations

import numpy as np

from chainrule._blas import axpy
from chainrule.ops.activation import ReLU, Sigmoid, Tanh
from chainrule.ops.loss_cross_entropy import CrossEntropy
from chainrule.ops.matmul import Linear

name = "ops"

_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def _update(param: np.ndarray, grad: np.ndarray, lr: float) -> None:
    """``optim.SGD``'s plain update: one BLAS pass where it can, else ``θ += ∇·(−η)``."""
    if not axpy(-lr, grad, param):
        param += grad * np.array(-lr, param.dtype)


def build_mlp_step(case, params, batches=None):
    """Return ``step(x, y) -> loss``: the eager step's op calls, by hand."""
    if case.loss != "ce":
        raise ValueError(f"impl_ops runs class-index cross-entropy cases only, not {case.loss!r}")
    layers = [(w.copy(), b.copy()) for w, b in params]
    activation = _ACTIVATIONS[case.hidden]
    lr = case.lr
    last = len(layers) - 1

    def step(x, y):
        linears, activations = [], []
        h = x
        for i, (w, b) in enumerate(layers):
            linear = Linear()
            linear.needs_grad = (i > 0, True, True)  # the batch itself needs no gradient
            h = linear.forward(h, w, b)
            linears.append(linear)
            if i < last:
                act = activation()
                h = act.forward(h)
                activations.append(act)
        loss_op = CrossEntropy()
        loss = loss_op.forward(h, labels=y, reduction="mean")
        (grad,) = loss_op.backward(np.ones((), loss.dtype))
        grads = []
        for i in range(last, -1, -1):
            grad_x, grad_w, grad_b = linears[i].backward(grad)
            grads.append((grad_w, grad_b))
            if i > 0:
                (grad,) = activations[i - 1].backward(grad_x)
        for (w, b), (grad_w, grad_b) in zip(layers, reversed(grads)):  # after backward, as SGD
            _update(w, grad_w, lr)
            _update(b, grad_b, lr)
        return loss

    step.params = layers
    return step
