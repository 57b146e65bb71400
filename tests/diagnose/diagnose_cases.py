"""Deliberately broken trainings and healthy ones, each small enough to run in well under a second.

Every broken case names the finding it must get first; every healthy case must get none.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim


def mlp(sizes, act=nn.Tanh):
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), act()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def moons(n=256):
    return cr.datasets.moons(n=n, seed=0)


def _scale(model, factor):
    for p in model.parameters():
        np.asarray(p)[...] *= factor
    return model


# ---- broken: (expected first code, builder) -------------------------------------------------
def deep_sigmoid():
    X, y = moons()
    model = mlp([2] + [16] * 8 + [1], nn.Sigmoid)
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), 8, {}


def bad_init_tanh():
    X, y = moons()
    model = _scale(mlp([2, 32, 32, 1]), 30.0)
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.01), 8, {}


def relu_killed_by_bias():
    X, y = moons()
    model = mlp([2, 32, 1], nn.ReLU)
    np.asarray(model[0].bias)[...] = -20.0
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), 8, {}


def lr_far_too_high():
    X, y = moons()
    model = mlp([2, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=5.0), 20, {}


def lr_far_too_low():
    X, y = moons()
    model = mlp([2, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=1e-6), 20, {}


def unscaled_targets():
    X, y = cr.datasets.linear_regression(n=256, features=3, seed=0)
    model = mlp([3, 16, 1])
    y = (y * 1000 + 5000).astype(np.float32)
    return model, (X, y), nn.MSELoss(), optim.Adam(model.parameters(), lr=0.01), 8, {}


def unscaled_features():
    X, y = moons()
    X = X * np.array([1000.0, 1.0]) + np.array([5000.0, 0.0])
    model = mlp([2, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01), 8, {}


def leaked_label():
    X, y = moons()
    X = np.concatenate([X, y[:, None].astype(np.float64)], axis=1)
    model = mlp([3, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01), 8, {}


def imbalanced_classes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 2))
    y = (rng.random(400) < 0.05).astype(np.int64)
    model = mlp([2, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01), 10, {}


def tiny_data_overfitting():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 10))
    y = np.arange(40) % 2
    model = mlp([10, 128, 1], nn.ReLU)
    opt = optim.Adam(model.parameters(), lr=0.01)
    return model, (X, y), nn.BCEWithLogitsLoss(), opt, 80, {"validation_split": 0.5}


def constant_target():
    X, y = moons()
    model = mlp([2, 16, 1])
    y = np.ones_like(y)
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01), 5, {}


def divergence_to_nan():
    X, y = cr.datasets.linear_regression(n=256, features=3, seed=0)
    model = mlp([3, 16, 1])
    return model, (X, y), nn.MSELoss(), optim.SGD(model.parameters(), lr=5.0), 5, {}


def loss_ends_far_above_start():
    X, y = moons()
    model = mlp([2, 16, 1])
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=1e6), 5, {}


def exploding_gradients():
    X, y = cr.datasets.linear_regression(n=256, features=3, seed=0)
    model = _scale(mlp([3] + [32] * 6 + [1], nn.ReLU), 4.0)
    return model, (X, y), nn.MSELoss(), optim.SGD(model.parameters(), lr=1e-9), 5, {}


def plateau_linear_on_circles():
    X, y = cr.datasets.circles(n=256, seed=0)
    model = nn.Sequential(nn.Linear(2, 1))
    return model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01), 20, {}


BROKEN = {
    "deep_sigmoid": ("VANISHING_GRADIENTS", deep_sigmoid),
    "bad_init_tanh": ("SATURATED", bad_init_tanh),
    "relu_killed_by_bias": ("DEAD_RELU", relu_killed_by_bias),
    "lr_far_too_high": ("LR_TOO_HIGH", lr_far_too_high),
    "lr_far_too_low": ("LR_TOO_LOW", lr_far_too_low),
    "unscaled_targets": ("UNSCALED_TARGETS", unscaled_targets),
    "unscaled_features": ("UNSCALED_FEATURES", unscaled_features),
    "leaked_label": ("LEAKED_TARGET", leaked_label),
    "imbalanced_classes": ("CLASS_IMBALANCE", imbalanced_classes),
    "tiny_data_overfitting": ("OVERFITTING", tiny_data_overfitting),
    "constant_target": ("CONSTANT_TARGET", constant_target),
    "divergence_to_nan": ("DIVERGED", divergence_to_nan),
    "loss_ends_far_above_start": ("LOSS_ROSE", loss_ends_far_above_start),
    "exploding_gradients": ("EXPLODING_GRADIENTS", exploding_gradients),
    "plateau_linear_on_circles": ("PLATEAU", plateau_linear_on_circles),
}


# ---- healthy: the built-in datasets with good settings --------------------------------------
def _adam(model, lr=0.01):
    return optim.Adam(model.parameters(), lr=lr)


def _sgd(model, lr=0.1):
    return optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def _digits():
    X, y = cr.datasets.digits()
    return X[:600] / 16.0, y[:600]


def _regression(features=3):
    return cr.datasets.linear_regression(n=256, features=features, seed=0)


def healthy(name):
    bce, ce, mse = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss(), nn.MSELoss()
    if name == "moons_tanh_adam":
        m = mlp([2, 16, 1])
        return m, moons(), bce, _adam(m), 30, {}
    if name == "moons_relu_sgd_validation":
        m = mlp([2, 32, 1], nn.ReLU)
        return m, moons(), bce, _sgd(m), 30, {"validation_split": 0.2}
    if name == "circles_relu_adam":
        m = mlp([2, 16, 16, 1], nn.ReLU)
        return m, cr.datasets.circles(n=256, seed=0), bce, _adam(m), 40, {}
    if name == "circles_tanh_sgd":
        m = mlp([2, 16, 1])
        return m, cr.datasets.circles(n=256, seed=0), bce, _sgd(m), 40, {}
    if name == "blobs_relu_ce_sgd":
        m = mlp([2, 16, 3], nn.ReLU)
        X, y = cr.datasets.blobs(n=300, seed=0)
        return m, (X / 5.0, y), ce, _sgd(m, 0.05), 20, {}
    if name == "blobs_sigmoid_ce_adam":
        m = mlp([2, 16, 3], nn.Sigmoid)
        X, y = cr.datasets.blobs(n=300, seed=1)
        return m, (X / 5.0, y), ce, _adam(m), 30, {"validation_split": 0.2}
    if name == "spirals_relu_adam":
        m = mlp([2, 32, 32, 2], nn.ReLU)
        return m, cr.datasets.spirals(n=300, seed=0), ce, _adam(m), 40, {}
    if name == "xor_tanh_adam":
        m = mlp([2, 8, 1])
        X, y = cr.datasets.xor()
        return m, (X, y), bce, _adam(m, 0.05), 150, {"batch_size": 4}
    if name == "seed_example_sigmoid_sgd":
        m = mlp([2, 2, 1], nn.Sigmoid)
        return m, cr.datasets.seed_example(n=200, seed=0), bce, _sgd(m, 0.5), 20, {}
    if name == "linear_regression_linear":
        m = nn.Sequential(nn.Linear(3, 1))
        return m, _regression(), mse, _sgd(m, 0.05), 30, {}
    if name == "linear_regression_mlp_adam":
        m = mlp([3, 16, 1])
        return m, _regression(), mse, _adam(m), 30, {"validation_split": 0.2}
    if name == "digits_relu_adam":
        m = mlp([64, 32, 10], nn.ReLU)
        return m, _digits(), ce, _adam(m, 3e-3), 15, {"validation_split": 0.2}
    if name == "digits_tanh_sgd":
        m = mlp([64, 32, 10])
        return m, _digits(), ce, _sgd(m, 0.05), 15, {}
    raise KeyError(name)


HEALTHY = (
    "moons_tanh_adam",
    "moons_relu_sgd_validation",
    "circles_relu_adam",
    "circles_tanh_sgd",
    "blobs_relu_ce_sgd",
    "blobs_sigmoid_ce_adam",
    "spirals_relu_adam",
    "xor_tanh_adam",
    "seed_example_sigmoid_sgd",
    "linear_regression_linear",
    "linear_regression_mlp_adam",
    "digits_relu_adam",
    "digits_tanh_sgd",
)


def train(case, recorder=None):
    """Train a case with a Recorder; returns (recorder, history or the error raised)."""
    from chainrule.diagnose import Recorder

    cr.manual_seed(0)
    model, (X, y), loss_fn, opt, epochs, options = case()
    recorder = recorder or Recorder(every=1)
    options = {"batch_size": 32, **options}
    try:
        history = cr.fit(
            model,
            (X, y),
            loss_fn,
            opt,
            epochs=epochs,
            callbacks=[recorder],
            verbose=False,
            seed=0,
            **options,
        )
    except cr.NonFiniteError as err:
        return recorder, err
    return recorder, history
