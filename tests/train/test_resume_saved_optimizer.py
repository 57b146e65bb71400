"""Resuming from ``cr.save(model, path, optimizer=opt)``: 5 epochs, save, load the model and
``load_optimizer``, 5 more, equal to 10 uninterrupted epochs bit for bit, for each optimizer.
The rebuilt optimizer's ``defaults`` were the class's (Adam's lr 0.001 for a run at 0.01), so
a parameter group added later trained at another rate than torch gives it; they are now the
saved run's (its starting rate under a scheduler), as torch keeps the constructor's."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import load_optimizer

OPTIMIZERS = [
    (optim.Adam, {"lr": 0.01}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.AdamW, {"lr": 0.01, "amsgrad": True}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1}),
]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 5))
    return X, (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.float64)


def _make(cls, options):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1)).double()
    return model, cls(model.parameters(), **options)


def _fit(model, opt, **options):
    cr.fit(model, _data(), nn.BCEWithLogitsLoss(), opt, batch_size=16, verbose=False, seed=7,
           **options)  # fmt: skip


@pytest.mark.parametrize(("cls", "options"), OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_five_plus_five_epochs_equal_ten(tmp_path, cls, options):
    model, opt = _make(cls, options)
    _fit(model, opt, epochs=10)
    expected = [p.detach().numpy().copy() for p in model.parameters()]

    model, opt = _make(cls, options)
    _fit(model, opt, epochs=5)
    rng_state = cr.get_rng_state()
    cr.save(model, tmp_path / "m.safetensors", optimizer=opt)
    cr.manual_seed(99)
    model = cr.load(tmp_path / "m.safetensors").train()
    opt = load_optimizer(tmp_path / "m.safetensors", model)
    cr.set_rng_state(rng_state)
    _fit(model, opt, epochs=10, initial_epoch=5)
    for got, want in zip(model.parameters(), expected):
        np.testing.assert_array_equal(got.detach().numpy(), want)


@pytest.mark.parametrize(("cls", "options"), OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_rebuilt_optimizers_defaults_are_torchs(tmp_path, cls, options):
    model, opt = _make(cls, options)
    cr.save(model, tmp_path / "m.safetensors", optimizer=opt)
    rebuilt = load_optimizer(tmp_path / "m.safetensors", cr.load(tmp_path / "m.safetensors"))
    t_opt = getattr(torch.optim, cls.__name__)([torch.zeros(1, requires_grad=True)], **options)
    for key, value in rebuilt.defaults.items():
        if key in t_opt.defaults:
            assert value == t_opt.defaults[key], key


def test_defaults_under_a_scheduler_keep_the_starting_rate(tmp_path):
    model, opt = _make(optim.SGD, {"lr": 0.1})
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    _fit(model, opt, epochs=2, scheduler=sched)
    cr.save(model, tmp_path / "m.safetensors", optimizer=opt)
    rebuilt = load_optimizer(tmp_path / "m.safetensors", cr.load(tmp_path / "m.safetensors"))
    assert rebuilt.defaults["lr"] == 0.1
    assert rebuilt.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.025
