"""Regression targets of a tiny spread (returns, rates: a standard deviation of 0.001) trained
silently into a model of validation r2 -8: every Adam step moves the outputs by more than the
targets vary. ``fit`` warned of targets of a large scale only; it now names this case too."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + 0.5 * X[:, 1]) * scale
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    return cr.fit(model, (X, y), nn.MSELoss(), optim.Adam(model.parameters(), lr=0.01),
                  epochs=50, verbose=False, metrics=["r2"], validation_split=0.2)  # fmt: skip


def test_tiny_targets_warn_and_do_train_badly():
    with pytest.warns(UserWarning, match=r"not scaled .* spread is so small .* standardise"):
        history = _fit(1e-3)
    assert history.history["val_r2"][-1] < 0  # what the warning is about


def test_targets_of_spread_one_and_standardised_ones_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _fit(1.0).history["val_r2"][-1] > 0.99
        _fit(0.05)


def test_a_constant_target_is_not_called_unscaled():
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = nn.Linear(2, 1).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.fit(model, (X, np.full(20, 1e-4)), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
               epochs=1, verbose=False)  # fmt: skip
