"""LambdaLR, MultiplicativeLR, ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts,
SequentialLR, ChainedScheduler and CyclicLR against torch.optim.lr_scheduler: the learning
rates (and momenta) step by step over 50 steps, and a state_dict round trip through JSON
in the middle of a run."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

STEPS = 50


class Halving:
    """A callable object with state: LambdaLR's state_dict saves its __dict__."""

    def __init__(self, every):
        self.every = every

    def __call__(self, epoch):
        return 0.5 ** (epoch // self.every)


SCHEDULES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + 0.1 * e)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [Halving(7), lambda e: 0.97**e]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 3 else 1.0),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=8),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001
    ),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o,
        [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)],
        milestones=[5],
    ),
    "SequentialLR-3": lambda m, o: m.SequentialLR(
        o,
        [
            m.ConstantLR(o, factor=0.5, total_iters=4),
            m.CosineAnnealingLR(o, T_max=10),
            m.StepLR(o, step_size=4, gamma=0.5),
        ],
        milestones=[6, 20],
    ),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=3), m.ExponentialLR(o, gamma=0.95)]
    ),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=6),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=4, step_size_down=7, mode="triangular2"
    ),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97, base_momentum=0.7
    ),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"
    ),
}
OPTIMIZERS = [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1})]


def _momenta(opt):
    if "betas" in opt.defaults:
        return [g["betas"][0] for g in opt.param_groups]
    return [g.get("momentum", 0.0) for g in opt.param_groups]


def _setup(lib, opt_name, opt_kwargs, make, values):
    if lib is torch:
        params = [torch.tensor(v.copy(), requires_grad=True) for v in values]
        opt_mod, sched_mod = torch.optim, torch.optim.lr_scheduler
    else:
        params = [cr.tensor(v.copy(), requires_grad=True, dtype="float64") for v in values]
        opt_mod, sched_mod = optim, optim.lr_scheduler
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.03}]
    opt = getattr(opt_mod, opt_name)(groups, **opt_kwargs)
    return params, opt, make(sched_mod, opt)


def _run(lib, params, opt, sched, steps):
    rng = np.random.default_rng(1)
    noise = [[rng.standard_normal(p.shape) for p in params] for _ in range(STEPS)]
    lrs, momenta = [], []
    for t in steps:
        for p, n in zip(params, noise[t]):
            g = np.asarray(p.detach().numpy() if lib is torch else p.data) + n
            p.grad = torch.from_numpy(g) if lib is torch else g
        opt.step()
        sched.step()
        lrs.append([float(lr) for lr in sched.get_last_lr()])
        momenta.append(_momenta(opt))
    return lrs, momenta


def _values():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 2)), rng.standard_normal(4)]


@pytest.mark.parametrize("opt_name, opt_kwargs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_scheduler_matches_torch_step_by_step(name, opt_name, opt_kwargs):
    results = []
    for lib in (cr, torch):
        params, opt, sched = _setup(lib, opt_name, opt_kwargs, SCHEDULES[name], _values())
        first = [[float(lr) for lr in sched.get_last_lr()]]
        lrs, momenta = _run(lib, params, opt, sched, range(STEPS))
        values = [np.asarray(p.detach().numpy() if lib is torch else p.data) for p in params]
        results.append((first + lrs, momenta, values))
    (ours, our_m, our_v), (theirs, their_m, their_v) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_m, their_m, rtol=1e-12, atol=0)
    for a, b in zip(our_v, their_v):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert len({lr[0] for lr in ours}) > 1  # the schedule really changed the rate


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_round_trip_through_json_continues_as_torch(name):
    make = SCHEDULES[name]
    _, _, torch_sched = _setup(torch, "SGD", OPTIMIZERS[0][1], make, _values())
    torch_state = torch_sched.state_dict()
    params, opt, sched = _setup(cr, "SGD", OPTIMIZERS[0][1], make, _values())
    full = _run(cr, params, opt, sched, range(STEPS))

    params, opt, sched = _setup(cr, "SGD", OPTIMIZERS[0][1], make, _values())
    first = _run(cr, params, opt, sched, range(20))
    saved = json.loads(json.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()},
                                  default=lambda a: a.tolist()))  # fmt: skip
    assert set(sched.state_dict()) == set(torch_state)
    resumed = [p.array.copy() for p in params]
    params, opt, sched = _setup(cr, "SGD", OPTIMIZERS[0][1], make, resumed)
    opt.load_state_dict(saved["opt"])
    sched.load_state_dict(saved["sched"])
    rest = _run(cr, params, opt, sched, range(20, STEPS))
    assert first[0] + rest[0] == full[0] and first[1] + rest[1] == full[1]


def test_lambda_lr_state_dict_saves_a_callable_objects_dict_only():
    for lib, mod in ((cr, optim), (torch, torch.optim)):
        w = lib.zeros(1, requires_grad=True)
        opt = mod.SGD([w], lr=1.0)
        fn = Halving(3)
        sched = mod.lr_scheduler.LambdaLR(opt, fn)
        state = sched.state_dict()
        assert state["lr_lambdas"] == [{"every": 3}]
        fn.every = 10
        sched.load_state_dict(state)
        assert fn.every == 3
        plain = mod.lr_scheduler.LambdaLR(opt, lambda e: 1.0)
        assert plain.state_dict()["lr_lambdas"] == [None]


def test_integer_like_arguments_are_taken_as_torch_takes_them():
    specs = [
        ("StepLR", (np.int64(3),), {}),
        ("StepLR", (2.0,), {}),  # torch computes with the float; same rates
        ("LinearLR", (), {"total_iters": np.int64(4)}),
        ("PolynomialLR", (), {"total_iters": np.int32(4)}),
    ]
    rates = {}
    for lib, mod in ((cr, optim), (torch, torch.optim)):
        rates[lib] = []
        for name, args, kwargs in specs:
            opt = mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
            sched = getattr(mod.lr_scheduler, name)(opt, *args, **kwargs)
            lrs = []
            for _ in range(8):
                lrs.append(float(sched.get_last_lr()[0]))
                opt.step()
                sched.step()
            rates[lib].append(lrs)
    np.testing.assert_allclose(rates[cr], rates[torch], rtol=1e-15)
    opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="step_size must be an integer >= 1, got 2.5"):
        optim.lr_scheduler.StepLR(opt, 2.5)  # torch would decay at epochs 5, 10, ...
    with pytest.raises(ValueError, match="total_iters must be an integer"):
        optim.lr_scheduler.LinearLR(opt, total_iters=True)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda m, o: m.LambdaLR(o, [lambda e: 1.0] * 2), ValueError, "expected 1 lr_lambdas"),
        (lambda m, o: m.MultiplicativeLR(o, 0.5), TypeError, "must be a function"),
        (lambda m, o: m.ConstantLR(o, factor=1.5), ValueError, "factor must be in"),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0 must be"),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, T_mult=0), ValueError, "T_mult"),
        (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], [3]), ValueError, "0 milestones"),
        (lambda m, o: m.SequentialLR(o, [], []), ValueError, "at least one"),
        (lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]), ValueError, "the metric"),
        (lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="square"), ValueError, "mode must be"),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
    with pytest.raises(error, match=match):
        make(optim.lr_scheduler, opt)


def test_cyclic_lr_needs_momentum_to_cycle_it_and_is_stepped_per_batch():
    opt = optim.Adagrad([cr.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False)
    assert sched.per_batch and opt.param_groups[0]["lr"] == 0.01
    chained = optim.lr_scheduler.ChainedScheduler([sched])
    assert chained.per_batch and "CyclicLR" in repr(chained)
