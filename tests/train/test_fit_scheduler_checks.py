"""Schedulers handed to ``fit`` that changed nothing, or the wrong way, without a word.

``ReduceLROnPlateau(opt, mode="max")`` (meant for an accuracy) was stepped with ``val_loss``:
the learning rate fell 1000-fold in 8 epochs while the loss improved. A scheduler built over
another optimizer left the run's rate where it was. Both are refused before training; the
``mode="min"`` scheduler keeps PyTorch's behaviour on the logged validation losses.
"""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim


def _data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    return X, (X[:, 0] - X[:, 1] > 0).astype(np.float64)


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).double()


def test_plateau_in_max_mode_is_refused():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1)
    with pytest.raises(ValueError, match="mode='min'"):
        cr.fit(model, _data(), nn.BCEWithLogitsLoss(), opt, epochs=2, scheduler=sched,
               validation_split=0.25, verbose=False)  # fmt: skip


def test_scheduler_over_another_optimizer_is_refused():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    other = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        cr.fit(model, _data(), nn.BCEWithLogitsLoss(), opt, epochs=2,
               scheduler=optim.lr_scheduler.StepLR(other, 1, 0.1), verbose=False)  # fmt: skip


def test_plateau_follows_val_loss_as_torch_does():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=0.05)
    history = cr.fit(model, _data(), nn.BCEWithLogitsLoss(), opt, epochs=15, scheduler=sched,
                     validation_split=0.25, verbose=False)  # fmt: skip
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        t_opt, factor=0.5, patience=1, threshold=0.05
    )
    expected = []
    for val_loss in history.history["val_loss"]:
        expected.append(t_opt.param_groups[0]["lr"])
        t_sched.step(val_loss)
    assert history.history["lr"] == expected
    assert expected[-1] < 1.0  # the case exercises a reduction


def test_a_plateau_callback_on_val_accuracy_works_as_the_error_says():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0)
    step = cr.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: sched.step(logs["val_accuracy"])
    )
    history = cr.fit(model, _data(), nn.BCEWithLogitsLoss(), opt, epochs=4, callbacks=[step],
                     validation_split=0.25, verbose=False)  # fmt: skip
    assert len(history.history["lr"]) == 4
