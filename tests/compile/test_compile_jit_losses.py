"""The jit tier's kernels for BCELoss on probabilities, the regression losses and LeakyReLU:
the same training as eager to rounding, PyTorch's clamped logarithms included."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

pytest.importorskip("numba")

RTOL, ATOL = 1e-4, 1e-6  # docs/compile.md, as in test_compile_jit.py

OPTIMIZERS = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3),
}

CASES = {  # layers, loss, batch, binary targets
    "a2_seed_bce": (
        lambda: [nn.Linear(2, 1), nn.Sigmoid(), nn.Linear(1, 1), nn.Sigmoid()],
        nn.BCELoss,
        1,
        True,
    ),
    "tanh_bce_batch": (
        lambda: [nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2), nn.Sigmoid()],
        nn.BCELoss,
        16,
        True,
    ),
    "tanh_mse": (lambda: [nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)], nn.MSELoss, 16, False),
    "leaky_l1": (
        lambda: [nn.Linear(3, 8), nn.LeakyReLU(0.1), nn.Linear(8, 1)],
        nn.L1Loss,
        16,
        False,
    ),
    "relu_huber": (
        lambda: [nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)],
        lambda: nn.HuberLoss(delta=0.5),
        16,
        False,
    ),
}


def _pair(make_layers):
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(nn.Sequential(*make_layers()))
    return models


def _batches(rng, batch, n_in, n_out, binary, count=20, scale=1.0):
    out = []
    for _ in range(count):
        x = (scale * rng.standard_normal((batch, n_in))).astype(np.float32)
        if binary:
            y = (rng.random((batch, n_out)) < 0.5).astype(np.float32)
        else:
            y = rng.standard_normal((batch, n_out)).astype(np.float32)
        out.append((x, y))
    return out


def _train_both(eager, model, loss_fn, opt_e, step, batches):
    losses_e = []
    for x, y in batches:
        opt_e.zero_grad()
        value = loss_fn(eager(cr.tensor(x)), cr.tensor(y))
        value.backward()
        opt_e.step()
        losses_e.append(value.item())
    losses_c = [step(x, y).item() for x, y in batches]
    assert [p.backend for p in step.plans.values()] == ["numba"]
    np.testing.assert_allclose(losses_c, losses_e, rtol=RTOL, atol=ATOL)
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_allclose(q.array, p.array, rtol=RTOL, atol=ATOL)
        assert q.array.dtype == np.float32 and q.grad_array.dtype == np.float32
        np.testing.assert_allclose(q.grad_array, p.grad_array, rtol=1e-3, atol=1e-6)
    return losses_e


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_jit_loss_kernels_match_eager_to_rounding(rng, case, opt_name):
    layers, make_loss, batch, binary = CASES[case]
    eager, model = _pair(layers)
    loss_fn = make_loss()
    opt_e = OPTIMIZERS[opt_name](eager.parameters())
    opt_c = OPTIMIZERS[opt_name](model.parameters())
    step = cr.compile_step(model, loss_fn, opt_c, backend="numba")
    n_in, n_out = model[0].in_features, model[2].out_features
    _train_both(eager, model, loss_fn, opt_e, step, _batches(rng, batch, n_in, n_out, binary))


def test_bce_saturated_sigmoid_takes_the_clamped_logarithms(rng):
    """Logits of ±hundreds: σ rounds to exactly 0 or 1, ln 0 is clamped at −100 and the
    guarded derivative (p − t)/max(p(1 − p), 1e-12) stays finite, as eagerly. Small learning
    rate and 8 steps: near the floor the factor 1e12 makes the trajectory ill-conditioned
    (one ulp of σ, 1 against 1 − 2⁻²⁴, moves a row's loss from 16.6 to 100), so 20 steps of
    training at the documented tolerance test the conditioning more than the kernels."""
    eager, model = _pair(lambda: [nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid()])
    for m in (eager, model):
        m[2].weight.array[...] = np.array([[60.0, -60.0, 50.0, -50.0]], np.float32)
    loss_fn = nn.BCELoss()
    opt_e = optim.SGD(eager.parameters(), lr=1e-5)
    step = cr.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=1e-5), "numba")
    batches = _batches(rng, 8, 2, 1, True, count=8, scale=3.0)
    losses = _train_both(eager, model, loss_fn, opt_e, step, batches)
    assert max(losses) > 100 / 8  # some row of some batch paid the clamp's full 100


def test_bce_probabilities_of_exactly_zero_and_one(rng):
    """p = w·x reaches 0 and 1 exactly: both logarithms clamp, the gradient floor is 1e-12."""
    ws = [cr.tensor(np.ones((4, 1), np.float32), requires_grad=True) for _ in range(2)]
    x = np.array([[0.0], [1.0], [0.5], [0.25]], np.float32)
    y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
    opts = [optim.SGD([w], lr=1e-14) for w in ws]

    def loss_of(w):
        return lambda x, y: nn.functional.binary_cross_entropy(w * x, y)

    step = cr.compile(loss_of(ws[1]), optimizer=opts[1], backend="numba")
    losses = []
    for _ in range(4):
        opts[0].zero_grad()
        value = loss_of(ws[0])(cr.tensor(x), cr.tensor(y))
        value.backward()
        opts[0].step()
        np.testing.assert_allclose(step(x, y).item(), value.item(), rtol=RTOL)
        np.testing.assert_allclose(ws[1].array, ws[0].array, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(ws[1].grad_array, ws[0].grad_array, rtol=1e-3)
        losses.append(value.item())
    assert losses[0] > 200 / 4 and losses[1] > 100 / 4  # rows at the clamp: p = 0, then p = 1
    assert [p.backend for p in step.plans.values()] == ["numba"]


def test_bce_out_of_range_call_is_undone_and_raises_as_eagerly():
    """p outside [0, 1] makes the kernel stop before any update; the call then runs eagerly,
    which raises DataError, and the weights and Adam's state are as before it."""
    w = cr.tensor(np.full((3, 1), 0.5, np.float32), requires_grad=True)
    opt = optim.Adam([w], lr=1e-2)
    step = cr.compile(
        lambda x, y: nn.functional.binary_cross_entropy(w * x, y), optimizer=opt, backend="numba"
    )
    y = np.zeros((3, 1), np.float32)
    ok = np.full((3, 1), 0.5, np.float32)
    step(ok, y)
    step(ok, y)
    before = w.array.copy()
    moments = [a.copy() for a in (opt.state[w]["exp_avg"], opt.state[w]["exp_avg_sq"])]
    with pytest.raises(cr.DataError, match=r"\[0, 1\]"):
        step(np.full((3, 1), 4.0, np.float32), y)
    np.testing.assert_array_equal(w.array, before)
    assert opt.state[w]["step"] == 2
    np.testing.assert_array_equal(opt.state[w]["exp_avg"], moments[0])
    np.testing.assert_array_equal(opt.state[w]["exp_avg_sq"], moments[1])
    step(ok, y)
    assert opt.state[w]["step"] == 3 and [p.backend for p in step.plans.values()] == ["numba"]


# the eager loss's error message takes nanmin of all-NaN probabilities
@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_bce_nan_call_draws_the_dropout_mask_once_as_eagerly(rng):
    """The undone kernel call puts the generator back: only the eager rerun draws a mask."""
    eager, model = _pair(
        lambda: [nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1), nn.Sigmoid()]
    )
    loss_fn = nn.BCELoss()
    opt_e, opt_c = (optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, model))
    step = cr.compile_step(model, loss_fn, opt_c, backend="numba")
    batches = _batches(rng, 4, 2, 1, True, count=3)
    bad = np.full((4, 2), np.nan, np.float32)
    states = []
    for run in ("eager", "compiled"):
        cr.manual_seed(7)
        for x, y in batches:
            if run == "eager":
                opt_e.zero_grad()
                loss_fn(eager(cr.tensor(x)), cr.tensor(y)).backward()
                opt_e.step()
            else:
                step(x, y)
        with pytest.raises(cr.DataError):
            if run == "eager":
                loss_fn(eager(cr.tensor(bad)), cr.tensor(batches[0][1]))
            else:
                step(bad, batches[0][1])
        states.append(cr.random.default_generator.state_as_dict())
    assert states[0] == states[1]
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_allclose(q.array, p.array, rtol=RTOL, atol=ATOL)


def test_auto_picks_the_jit_tier_for_the_seed_network_with_bceloss(rng):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid(), nn.Linear(1, 1), nn.Sigmoid())
    step = cr.compile_step(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5))
    x, y = _batches(rng, 1, 2, 1, True, count=1)[0]
    step(x, y)
    step(x, y)
    assert [p.backend for p in step.plans.values()] == ["numba"]


@pytest.mark.parametrize("loss_fn", [nn.MSELoss(reduction="sum"), nn.BCELoss(reduction="sum")])
def test_jit_losses_it_lacks_stay_in_the_numpy_tier(rng, loss_fn):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
    step = cr.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    x, y = _batches(rng, 4, 2, 1, True, count=1)[0]
    step(x, y)
    step(x, y)
    assert [p.backend for p in step.plans.values()] == ["numpy"]
    jit = cr.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), "numba")
    with pytest.raises(cr.GraphError, match="only reduction='mean'"):
        jit(x, y)


@pytest.mark.parametrize("size", [12, 4096])  # both of eager ReLU's paths
def test_relu_kernels_equal_eager_relu_bit_for_bit_at_nan_and_signed_zero(size):
    from chainrule.autograd.compile_kernels import relu_bwd, relu_fwd
    from chainrule.ops.activation import ReLU

    rng = np.random.default_rng(3)
    z = rng.normal(size=size).astype(np.float32)
    z[:6] = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0]
    g = rng.normal(size=size).astype(np.float32)
    g[6] = np.nan
    op = ReLU()
    eager_out = op.forward(z)
    (eager_grad,) = op.backward(g)
    out = relu_fwd(z)
    assert np.array_equal(out, eager_out, equal_nan=True)
    assert np.array_equal(np.signbit(out), np.signbit(eager_out))  # −0 stays −0 in both
    assert np.array_equal(relu_bwd(out, g), eager_grad, equal_nan=True)


def test_l1_kernel_gives_eager_l1s_gradient_at_nan_and_zero():
    from chainrule.autograd.compile_kernels import l1_bwd
    from chainrule.ops.loss_regression import L1

    x = np.array([np.nan, 1.0, 2.0, -3.0, 0.5], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, np.nan], dtype=np.float32)
    op = L1()
    op.needs_grad = (True, False)
    op.forward(x, t)
    (eager, _) = op.backward(np.array(1.0, dtype=np.float32))
    assert np.sign(eager).tolist() == [0.0, 0.0, 1.0, -1.0, 0.0]  # 0 at NaN and at 0, as PyTorch
    assert np.array_equal(l1_bwd(x, t, np.float32(1.0)), eager)
