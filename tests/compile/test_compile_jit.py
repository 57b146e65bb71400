"""The Numba tier (optional [jit] extra): the same training as eager, to rounding."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

pytest.importorskip("numba")

# After 20 float32 steps the jit tier's weights and losses stay within this of eager's: its
# sums run in another order and exp/log come from libm, a few ulp per op (docs/compile.md).
RTOL, ATOL = 1e-4, 1e-6

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, dampening=0),
    "adam": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}

CASES = {  # (layers, loss, target kind)
    "a_sigmoid_bce": (lambda: [nn.Linear(2, 1), nn.Sigmoid(), nn.Linear(1, 1)], "bce", 1),
    "b_tanh_bce": (
        lambda: [nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)],
        "bce",
        32,
    ),
    "relu_dropout_ce": (
        lambda: [nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4)],
        "ce",
        16,
    ),
}


def _batches(rng, loss, batch, n_in, n_out, count=20):
    out = []
    for _ in range(count):
        x = rng.standard_normal((batch, n_in)).astype(np.float32)
        if loss == "bce":
            y = (rng.random((batch, 1)) < 0.5).astype(np.float32)
        else:
            y = rng.integers(0, n_out, batch).astype(np.int64)
        out.append((x, y))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_jit_step_matches_eager_to_rounding(rng, case, opt_name):
    layers, loss, batch = CASES[case]
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(nn.Sequential(*layers()))
    (eager, model) = models
    loss_fn = nn.BCEWithLogitsLoss() if loss == "bce" else nn.CrossEntropyLoss()
    opt_e, opt_c = (
        OPTIMIZERS[opt_name](eager.parameters()),
        OPTIMIZERS[opt_name](model.parameters()),
    )
    step = cr.compile_step(model, loss_fn, opt_c, backend="numba")
    n_in, n_out = model[0].in_features, model[len(model) - 1].out_features
    batches = _batches(rng, loss, batch, n_in, n_out)
    cr.manual_seed(7)
    losses_e = []
    for x, y in batches:
        opt_e.zero_grad()
        value = loss_fn(eager(cr.tensor(x)), cr.tensor(y))
        value.backward()
        opt_e.step()
        losses_e.append(value.item())
    cr.manual_seed(7)  # the same dropout masks: drawn from the same generator in the same order
    losses_c = [step(x, y).item() for x, y in batches]
    assert [p.backend for p in step.plans.values()] == ["numba"]
    np.testing.assert_allclose(losses_c, losses_e, rtol=RTOL, atol=ATOL)
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_allclose(q.array, p.array, rtol=RTOL, atol=ATOL)
        assert q.array.dtype == np.float32 and q.grad_array.dtype == np.float32
        np.testing.assert_allclose(q.grad_array, p.grad_array, rtol=1e-3, atol=1e-6)
    # the optimizer state is the eager optimizer's: switching to eager steps continues it
    for p in model.parameters():
        assert (opt_name in ("sgd",)) or opt_c.state[p]


def test_auto_picks_numba_for_small_graphs_and_numpy_for_what_it_lacks(rng):
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    step = cr.compile_step(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = _batches(rng, "bce", 8, 2, 1, 1)[0]
    step(x, y)
    step(x, y)
    assert [p.backend for p in step.plans.values()] == ["numba"]
    model2 = nn.Sequential(nn.Linear(2, 4), nn.Softplus(), nn.Linear(4, 1))
    step2 = cr.compile_step(model2, nn.BCEWithLogitsLoss(), optim.SGD(model2.parameters(), lr=0.1))
    step2(x, y)
    assert [p.backend for p in step2.plans.values()] == ["numpy"]


def test_jit_step_follows_the_learning_rate_scheduler_and_hands_state_to_eager(rng):
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)))
    eager, model = models
    loss_fn = nn.BCEWithLogitsLoss()
    opt_e = optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    opt_c = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched_e = optim.lr_scheduler.StepLR(opt_e, step_size=3, gamma=0.1)
    sched_c = optim.lr_scheduler.StepLR(opt_c, step_size=3, gamma=0.1)
    step = cr.compile_step(model, loss_fn, opt_c, backend="numba")
    batches = _batches(rng, "bce", 8, 3, 1, count=12)
    for i, (x, y) in enumerate(batches):
        opt_e.zero_grad()
        loss_fn(eager(cr.tensor(x)), cr.tensor(y)).backward()
        opt_e.step()
        sched_e.step()
        if i < 8:
            step(x, y)
        else:  # eager steps continue from the momentum buffers the kernel kept
            opt_c.zero_grad()
            loss_fn(model(cr.tensor(x)), cr.tensor(y)).backward()
            opt_c.step()
        sched_c.step()
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_allclose(q.array, p.array, rtol=RTOL, atol=ATOL)
