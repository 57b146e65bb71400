"""chainrule with ``cr.compile``: the same model, loss and optimizer as ``impl_chainrule``, the
forward and backward pass recorded once and replayed (cases a and b; see docs/benchmarks.md)."""

from __future__ import annotations

import chainrule as cr
from benchmarks import impl_chainrule

name = "compiled"


def build_mlp_step(case, params, batches=None):
    from chainrule import optim

    model, loss_fn = impl_chainrule.model_and_loss(case, params)
    opt = optim.SGD(model.parameters(), lr=case.lr)
    loss_and_grads = cr.compile(lambda x, y: loss_fn(model(x), y))

    def step(x, y):
        opt.zero_grad()
        loss = loss_and_grads(x, y)
        opt.step()
        return loss

    step.model = model
    return step
