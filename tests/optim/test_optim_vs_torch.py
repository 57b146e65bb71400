"""Every optimizer, with every option that changes its arithmetic, against torch.optim.

Both libraries start from the same float64 parameters and see the same gradients for 100 steps:
the gradient of a fixed quadratic at the current parameters plus a seeded noise sequence, with
one parameter left without a gradient every seventh step (it must be skipped, state and all).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (2, 2, 2)]
STEPS = 100


def _problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    curvature = [rng.uniform(0.2, 2.0, s).astype(dtype) for s in SHAPES]
    noise = [[0.1 * rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return init, curvature, noise


def _grads(values, curvature, noise, t):
    """∇ of Σ ½·h·θ² plus noise; parameter 1 has no gradient every seventh step."""
    return [None if (i == 1 and t % 7 == 3) else h * v + n
            for i, (v, h, n) in enumerate(zip(values, curvature, noise[t]))]  # fmt: skip


def _groups(params, group_options):
    if group_options is None:
        return params
    return [{"params": params[:2], **group_options[0]}, {"params": params[2:], **group_options[1]}]


def run_chainrule(name, kwargs, steps=STEPS, group_options=None, dtype=np.float64):
    init, curvature, noise = _problem(dtype=dtype)
    params = [cr.tensor(v.copy(), requires_grad=True, dtype=dtype) for v in init]
    opt = getattr(optim, name)(_groups(params, group_options), **kwargs)
    for t in range(steps):
        for p, g in zip(params, _grads([p.data for p in params], curvature, noise, t)):
            p.grad = g
        opt.step()
    return [p.data for p in params], opt


def run_torch(name, kwargs, steps=STEPS, group_options=None, dtype=np.float64):
    init, curvature, noise = _problem(dtype=dtype)
    params = [torch.tensor(v.copy(), requires_grad=True) for v in init]
    opt = getattr(torch.optim, name)(_groups(params, group_options), **kwargs)
    for t in range(steps):
        values = [p.detach().numpy() for p in params]
        for p, g in zip(params, _grads(values, curvature, noise, t)):
            p.grad = None if g is None else torch.from_numpy(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.01, maximize=True)),
    ("SGD", dict(lr=0.01, momentum=0.5, dampening=0.1, weight_decay=0.2, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.05, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.05)),
    ("NAdam", dict(lr=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),  # β₂ = 0.999: ρ_t > 5 from step 6 on
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9))),  # ρ_∞ = 19: rectified from step 6 too
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5))),  # ρ_∞ = 3: never rectified
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, eps=1e-6, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("Adamax", dict(lr=0.01, weight_decay=0.05, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.95, eps=1e-4)),
    ("Adadelta", dict(lr=0.1, weight_decay=0.1)),
    ("Adadelta", dict(rho=0.0)),
    ("Adadelta", dict(lr=0.3, weight_decay=0.05, maximize=True)),
]


def _case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_100_steps_match_torch(case):
    name, kwargs = case
    ours, _ = run_chainrule(name, kwargs)
    theirs, _ = run_torch(name, kwargs)
    start = _problem()[0]
    for a, b, s in zip(ours, theirs, start):
        assert not np.array_equal(a, s)  # the parameters really moved
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "name, kwargs, group_options",
    [
        ("SGD", dict(lr=0.05, momentum=0.9), [{}, {"lr": 0.2, "nesterov": True}]),
        ("Adam", dict(lr=0.01), [{"lr": 0.05, "amsgrad": True}, {"weight_decay": 0.1}]),
        ("AdamW", dict(lr=0.01), [{"betas": (0.5, 0.9)}, {"lr": 0.001}]),
        ("RMSprop", dict(lr=0.01), [{"centered": True}, {"lr": 0.03, "momentum": 0.5}]),
        ("Adagrad", dict(lr=0.1), [{"lr_decay": 0.1}, {"lr": 0.3}]),
        ("NAdam", dict(lr=0.01), [{"momentum_decay": 0.1}, {"lr": 0.03, "weight_decay": 0.1}]),
        (
            "RAdam",
            dict(lr=0.01),
            [{"decoupled_weight_decay": True, "weight_decay": 0.1}, {"lr": 0.03}],
        ),
        ("Adamax", dict(lr=0.01), [{"betas": (0.5, 0.9)}, {"lr": 0.001}]),
        ("Adadelta", dict(lr=0.5), [{"rho": 0.5}, {"lr": 0.1, "weight_decay": 0.1}]),
    ],
)
def test_param_groups_with_their_own_options_match_torch(name, kwargs, group_options):
    ours, opt = run_chainrule(name, kwargs, group_options=group_options)
    theirs, _ = run_torch(name, kwargs, group_options=group_options)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert opt.param_groups[0]["lr"] != opt.param_groups[1]["lr"] or name == "RMSprop"


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.1)),
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
        ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
        ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
        ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1)),
        ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
        ("RAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
        ("Adamax", dict(lr=0.01, weight_decay=0.1)),
        ("Adadelta", dict(lr=0.5, weight_decay=0.1)),
    ],
)
def test_float32_stays_float32_and_tracks_torch(name, kwargs):
    ours, opt = run_chainrule(name, kwargs, steps=20, dtype=np.float32)
    theirs, _ = run_torch(name, kwargs, steps=20, dtype=np.float32)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    arrays = [v for state in opt.state.values() for v in state.values() if hasattr(v, "dtype")]
    assert arrays and all(v.dtype == np.float32 for v in arrays)


def test_training_through_the_engine_matches_torch():
    """Gradients from chainrule's own backward pass drive the optimizer, as in real training."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((32, 3)), rng.standard_normal((32, 1))
    W0, b0 = rng.standard_normal((1, 3)), rng.standard_normal(1)

    w, b = (
        cr.tensor(W0, requires_grad=True, dtype="float64"),
        cr.tensor(b0, requires_grad=True, dtype="float64"),
    )
    opt = optim.Adam([w, b], lr=0.05, amsgrad=True)
    tw, tb = torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    topt = torch.optim.Adam([tw, tb], lr=0.05, amsgrad=True)
    for _ in range(30):
        opt.zero_grad()
        loss = (
            (cr.linear(cr.tensor(X, dtype="float64"), w, b) - cr.tensor(y, dtype="float64")) ** 2
        ).mean()
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = (
            (torch.nn.functional.linear(torch.tensor(X), tw, tb) - torch.tensor(y)) ** 2
        ).mean()
        tloss.backward()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-10)
