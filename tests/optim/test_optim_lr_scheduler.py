"""Every learning-rate scheduler against torch.optim.lr_scheduler, step by step.

Each scheduler drives an optimizer with two parameter groups (different learning rates) for
100 steps; the learning rates (and momenta, for OneCycleLR) must agree to 1e-12 at every step
and the parameters to 1e-10 at the end.
"""

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 100


def _data(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    noise = [[rng.standard_normal(v.shape) for v in init] for _ in range(150)]
    metrics = np.exp(-np.arange(STEPS) / 30) + 0.05 * rng.standard_normal(STEPS)
    return init, noise, metrics


def _momenta(opt):
    if "betas" in opt.defaults:
        return [g["betas"][0] for g in opt.param_groups]
    return [g.get("momentum", 0.0) for g in opt.param_groups]


def _drive(lib, opt_name, opt_kwargs, sched_specs, steps=STEPS):
    """Train with one or more chained schedulers; record lrs and momenta after every step."""
    init, noise, metrics = _data()
    if lib == "torch":
        params = [torch.tensor(v.copy(), requires_grad=True) for v in init]
        opt_mod, sched_mod = torch.optim, torch.optim.lr_scheduler
    else:
        params = [cr.tensor(v.copy(), requires_grad=True, dtype="float64") for v in init]
        opt_mod, sched_mod = optim, lr_scheduler
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.03}]
    opt = getattr(opt_mod, opt_name)(groups, **opt_kwargs)
    scheds = [getattr(sched_mod, name)(opt, **kw) for name, kw in sched_specs]
    lrs = [[g["lr"] for g in opt.param_groups]]
    momenta = [_momenta(opt)]
    for t in range(steps):
        for p, n in zip(params, noise[t]):
            value = p.detach().numpy() if lib == "torch" else p.data
            g = value + n
            p.grad = torch.from_numpy(g) if lib == "torch" else g
        opt.step()
        for sched in scheds:
            if isinstance(sched, (sched_mod.ReduceLROnPlateau,)):
                sched.step(metrics[t])
            else:
                sched.step()
        lrs.append(list(scheds[-1].get_last_lr()))
        momenta.append(_momenta(opt))
    values = [p.detach().numpy().copy() if lib == "torch" else p.data for p in params]
    return np.array(lrs), np.array(momenta), values


SCHEDULES = [
    [("StepLR", dict(step_size=7, gamma=0.5))],
    [("MultiStepLR", dict(milestones=[10, 30, 30, 60], gamma=0.3))],
    [("ExponentialLR", dict(gamma=0.97))],
    [("CosineAnnealingLR", dict(T_max=100))],
    [("CosineAnnealingLR", dict(T_max=30, eta_min=0.001))],  # past T_max: climbs back up
    [("LinearLR", dict(start_factor=0.1, total_iters=20))],
    [("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=50))],
    [("LinearLR", dict())],
    [("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=100))],
    [("OneCycleLR", dict(max_lr=0.3, total_steps=120, anneal_strategy="linear"))],
    [("OneCycleLR", dict(max_lr=0.3, epochs=10, steps_per_epoch=10, three_phase=True))],
    [("OneCycleLR", dict(max_lr=0.3, total_steps=100, pct_start=0.25, cycle_momentum=False))],
    [("ReduceLROnPlateau", dict(patience=3))],
    [("ReduceLROnPlateau", dict(threshold=0.01, threshold_mode="abs", cooldown=2, patience=1))],
    [("ReduceLROnPlateau", dict(mode="max", patience=2, factor=0.5, min_lr=0.01))],
    [("ReduceLROnPlateau", dict(mode="max", threshold_mode="abs", min_lr=[0.02, 0.001]))],
    # chained: a warm-up composed with a decay, both acting on the same rates
    [("LinearLR", dict(start_factor=0.2, total_iters=10)), ("ExponentialLR", dict(gamma=0.98))],
]


def _sched_id(specs):
    return "+".join(name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"
                    for name, kw in specs)  # fmt: skip


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5)),
]
COMBOS = [
    (specs, opt)
    for specs in SCHEDULES
    for opt in (OPTIMIZERS[:1] if specs[0][0] == "ReduceLROnPlateau" else OPTIMIZERS)
]


@pytest.mark.parametrize(
    "specs, opt_name, opt_kwargs",
    [(specs, name, kw) for specs, (name, kw) in COMBOS],
    ids=[f"{name}-{_sched_id(specs)}" for specs, (name, _) in COMBOS],
)
def test_scheduler_matches_torch_step_by_step(specs, opt_name, opt_kwargs):
    steps = 100 if specs[0][0] != "OneCycleLR" else specs[0][1].get("total_steps", 100)
    ours = _drive("chainrule", opt_name, opt_kwargs, specs, steps)
    theirs = _drive("torch", opt_name, opt_kwargs, specs, steps)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=0)  # learning rates
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=0)  # momenta / beta1
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert len(np.unique(ours[0][:, 0])) > 1  # the schedule really changed the rate


def test_onecycle_refuses_steps_past_the_end():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(4):
        sched.step()
    with pytest.raises(ValueError, match="total_steps=5"):
        sched.step()
        sched.step()


def test_onecycle_needs_momentum_to_cycle_it():
    opt = optim.Adagrad([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), "start_factor must be"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), "end_factor must be"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), "give total_steps"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1), "pct"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, anneal_strategy="x"), "anneal_strategy"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), "one value per"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor must be < 1"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), "mode must be"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    ],
)
def test_scheduler_arguments_are_validated(make, match):
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="expected a chainrule optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)


def test_resuming_needs_initial_lr():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=3, last_epoch=5)


def _to_json_and_back(state):
    def encode(value):
        if isinstance(value, np.ndarray):
            return value.tolist()
        raise TypeError(type(value))

    return json.loads(json.dumps(state, default=encode))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("MultiStepLR", dict(milestones=[5, 12, 12], gamma=0.5)),
        ("CosineAnnealingLR", dict(T_max=15, eta_min=0.01)),
        ("OneCycleLR", dict(max_lr=0.4, total_steps=40)),
        ("ReduceLROnPlateau", dict(patience=1)),
    ],
)
def test_scheduler_state_dict_round_trip_through_json(name, kwargs):
    """Save optimizer and scheduler mid-run, rebuild both, continue: the same rates result."""
    init, noise, metrics = _data()

    def make(values):
        params = [cr.tensor(v.copy(), requires_grad=True, dtype="float64") for v in values]
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
        return params, opt, getattr(lr_scheduler, name)(opt, **kwargs)

    def run(params, opt, sched, steps):
        lrs = []
        for t in steps:
            for p, n in zip(params, noise[t]):
                p.grad = p.data + n
            opt.step()
            sched.step(metrics[t]) if name == "ReduceLROnPlateau" else sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs

    full = make(init)
    lrs_full = run(*full, range(40))

    first = make(init)
    lrs_a = run(*first, range(20))
    saved = _to_json_and_back({"opt": first[1].state_dict(), "sched": first[2].state_dict()})
    second = make([p.array for p in first[0]])
    second[1].load_state_dict(saved["opt"])
    second[2].load_state_dict(saved["sched"])
    lrs_b = run(*second, range(20, 40))

    assert lrs_a + lrs_b == lrs_full
    for a, b in zip(second[0], full[0]):
        np.testing.assert_array_equal(a.data, b.data)


def test_get_last_lr_is_a_copy_and_tracks_the_groups():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    last = sched.get_last_lr()
    last[0] = 123.0
    sched.step()
    assert sched.get_last_lr() == [0.05] == [opt.param_groups[0]["lr"]]
    assert math.isclose(sched.base_lrs[0], 0.1)
