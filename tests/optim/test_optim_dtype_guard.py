"""Guard against NumPy's dtype traps in training: a float32 array times a float64 NumPy scalar
(``np.float64(0.1) * w``) or a float64 array silently gives float64. Hyperparameters that
arrive as NumPy float64 scalars (from a config, ``np.linspace``, a scheduler's arithmetic) and
float64 targets must leave float32 parameters, gradients and optimizer state float32, across
every optimizer (with weight decay, momentum, ...), every learning-rate scheduler and every
loss."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler

F64 = np.float64

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=F64(0.05)),
    "SGD momentum+wd": lambda p: optim.SGD(
        p, lr=F64(0.05), momentum=F64(0.9), weight_decay=F64(1e-3), dampening=F64(0.1)
    ),
    "SGD nesterov+maximize": lambda p: optim.SGD(
        p, lr=F64(0.01), momentum=F64(0.9), nesterov=True, maximize=True
    ),
    "Adam": lambda p: optim.Adam(p, lr=F64(1e-3), betas=(F64(0.9), F64(0.999)), eps=F64(1e-8)),
    "Adam wd+amsgrad": lambda p: optim.Adam(p, lr=F64(1e-3), weight_decay=F64(1e-2), amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=F64(1e-3), weight_decay=F64(1e-2)),
    "RMSprop centered+momentum+wd": lambda p: optim.RMSprop(
        p, lr=F64(1e-3), alpha=F64(0.9), momentum=F64(0.5), centered=True, weight_decay=F64(1e-3)
    ),
    "Adagrad lr_decay+wd": lambda p: optim.Adagrad(
        p,
        lr=F64(0.01),
        lr_decay=F64(1e-3),
        weight_decay=F64(1e-3),
        initial_accumulator_value=F64(0.1),
    ),
    "NAdam decoupled": lambda p: optim.NAdam(
        p,
        lr=F64(1e-3),
        weight_decay=F64(1e-2),
        momentum_decay=F64(4e-3),
        decoupled_weight_decay=True,
    ),
    "RAdam wd": lambda p: optim.RAdam(
        p, lr=F64(1e-3), betas=(F64(0.9), F64(0.9)), weight_decay=F64(1e-2)
    ),
    "Adamax wd": lambda p: optim.Adamax(p, lr=F64(1e-3), eps=F64(1e-8), weight_decay=F64(1e-2)),
}

SCHEDULERS = {
    "none": None,
    "StepLR": lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=F64(0.5)),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 3], gamma=F64(0.5)),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, gamma=F64(0.9)),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=F64(1e-4)),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, start_factor=F64(0.5), total_iters=3),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(
        o,
        max_lr=F64(0.05),
        total_steps=10,
        cycle_momentum="momentum" in o.defaults or "betas" in o.defaults,
    ),
    "ReduceLROnPlateau": lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=F64(0.5), patience=0),
}

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 3))  # float64 on purpose: the model's input is cast once
LOSSES = {
    # name: (loss module, output width, float64 target or int labels, output transform)
    "MSELoss": (nn.MSELoss(), 2, RNG.standard_normal((8, 2)), None),
    "L1Loss": (nn.L1Loss(), 2, RNG.standard_normal((8, 2)), None),
    "HuberLoss": (nn.HuberLoss(delta=F64(0.5)), 2, RNG.standard_normal((8, 2)), None),
    "BCELoss": (nn.BCELoss(), 1, (RNG.random((8, 1)) < 0.5).astype(F64), "sigmoid"),
    "BCEWithLogitsLoss": (
        nn.BCEWithLogitsLoss(pos_weight=np.array([2.0])),
        1,
        RNG.random((8, 1)),
        None,
    ),
    "CrossEntropyLoss": (nn.CrossEntropyLoss(label_smoothing=0.1), 4, RNG.integers(0, 4, 8), None),
    "CrossEntropyLoss plain": (nn.CrossEntropyLoss(), 4, RNG.integers(0, 4, 8), None),
    "NLLLoss": (nn.NLLLoss(), 4, RNG.integers(0, 4, 8), "log_softmax"),
}


def _train(make_opt, make_sched, loss_name, steps=5):
    cr.manual_seed(0)
    loss_fn, width, target, transform = LOSSES[loss_name]
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, width))
    opt = make_opt(model.parameters())
    sched = make_sched(opt) if make_sched else None
    x = cr.tensor(X.astype(np.float32))
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        if transform == "sigmoid":
            out = out.sigmoid()
        elif transform == "log_softmax":
            out = cr.functional.log_softmax(out, dim=1)
        loss = loss_fn(out, target)
        assert loss.array.dtype == np.float32, (loss_name, loss.array.dtype)
        loss.backward()
        opt.step()
        if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
            sched.step(F64(loss.item()))
        elif sched is not None:
            sched.step()
    return model, opt


def _assert_float32(model, opt, label):
    for name, p in model.named_parameters():
        assert p.array.dtype == np.float32, (label, name, p.array.dtype)
        assert p.grad_array is not None and p.grad_array.dtype == np.float32, (label, name)
        assert np.isfinite(p.array).all(), (label, name)
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray) and value.ndim:
                assert value.dtype == np.float32, (label, key, value.dtype)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("sched_name", sorted(SCHEDULERS))
def test_float64_hyperparameters_and_schedules_keep_everything_float32(opt_name, sched_name):
    model, opt = _train(OPTIMIZERS[opt_name], SCHEDULERS[sched_name], "MSELoss")
    _assert_float32(model, opt, (opt_name, sched_name))


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_every_loss_with_float64_targets_keeps_everything_float32(loss_name, opt_name):
    model, opt = _train(OPTIMIZERS[opt_name], SCHEDULERS["StepLR"], loss_name)
    _assert_float32(model, opt, (loss_name, opt_name))


def test_a_learning_rate_set_to_a_numpy_float64_keeps_the_update_float32():
    """The trap itself, set by hand after construction: group["lr"] = np.float64(...)."""
    for make in OPTIMIZERS.values():
        model = nn.Linear(3, 2)
        opt = make(model.parameters())
        for group in opt.param_groups:
            group["lr"] = F64(0.01)
        model(cr.tensor(X.astype(np.float32))).sum().backward()
        opt.step()
        _assert_float32(model, opt, type(opt).__name__)
