"""Step hooks run under cr.compile too: the Numba tier fuses the optimizer's update into its
kernel and would skip them, so an optimizer with step hooks keeps the NumPy tier."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

pytest.importorskip("numba")


def _step(backend, hooked):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    calls = []
    if hooked:
        opt.register_step_post_hook(lambda o, args, kwargs: calls.append(o))
    return cr.compile(lambda x, y: loss_fn(model(x), y), optimizer=opt, backend=backend), calls


def test_auto_backend_runs_the_hooks_at_every_step():
    step, calls = _step("auto", hooked=True)
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    for _ in range(4):
        step(x, y)
    assert len(calls) == 4


def test_numba_backend_names_the_hooks():
    step, _ = _step("numba", hooked=True)
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    with pytest.raises(cr.GraphError, match="step hooks"):
        for _ in range(2):
            step(x, y)
