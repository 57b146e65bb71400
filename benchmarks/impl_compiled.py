"""chainrule with ``cr.compile_step``: the same model, loss and optimizer as ``impl_chainrule``,
the whole training step (forward, backward, SGD update) recorded once and then run as generated
code: one Numba kernel when the ``[jit]`` extra is installed and the network is small, else
straight-line NumPy (see docs/compile.md)."""

from __future__ import annotations

import numpy as np

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


def build_per_op(chain: int, size: int):
    """The per-op chain (f) through ``cr.compile``'s NumPy tier: forward and backward only.

    The chain's start is a parameter (a compiled function differentiates parameters); its sum
    is the scalar ``cr.compile`` needs, one op more than the eager row's ``backward(ones)``,
    counted in the per-op time against chainrule.
    """
    from chainrule import nn

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(size).astype(np.float32)
    c = (1.0 + 0.001 * rng.standard_normal(size)).astype(np.float32)
    x = nn.Parameter(cr.tensor(x_np.copy()))

    def chain_sum(factor):
        h = x
        for _ in range(chain):
            h = h * factor
        return h.sum()

    step = cr.compile(chain_sum, backend="numpy")

    def forward_backward():
        loss = step(c)
        x.grad = None
        return loss

    return {"forward_backward": forward_backward}
