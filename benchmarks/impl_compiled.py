"""chainrule with ``cr.compile_step``: the same model, loss and optimizer as ``impl_chainrule``,
the whole training step (forward, backward, SGD update) recorded once and then run as generated
code: one Numba kernel when the ``[jit]`` extra is installed and the network is small, else
straight-line NumPy (see docs/compile.md)."""

from __future__ import annotations

import chainrule as cr
from benchmarks import impl_chainrule

name = "compiled"
BACKEND = "auto"  # bench_compile sets "numpy" to time the NumPy tier alone


def build_mlp_step(case, params, batches=None):
    from chainrule import optim

    model, loss_fn = impl_chainrule.model_and_loss(case, params)
    opt = optim.SGD(model.parameters(), lr=case.lr)
    step = cr.compile_step(model, loss_fn, opt, backend=BACKEND)
    step.model = model
    return step
