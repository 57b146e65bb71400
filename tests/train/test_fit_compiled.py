"""cr.fit(compile=...): the compiled step gives the eager weights, bit for bit, and falls back."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _data(classes: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32) if classes == 2 else rng.integers(0, classes, 96)
    return X, y


def _run(compile, classes, make_opt, dropout, metrics=()):
    cr.manual_seed(0)
    layers = [nn.Linear(4, 8), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(0.2))
    layers.append(nn.Linear(8, 1 if classes == 2 else classes))
    model = nn.Sequential(*layers)
    loss = nn.BCEWithLogitsLoss() if classes == 2 else nn.CrossEntropyLoss()
    opt = make_opt(model.parameters())
    history = cr.fit(
        model,
        _data(classes),
        loss,
        opt,
        epochs=3,
        batch_size=16,
        seed=1,
        metrics=metrics,
        verbose=False,
        compile=compile,
    )
    return model, history


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize(
    "make_opt",
    [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.01)],
    ids=["sgd-momentum", "adam"],
)
def test_compiled_fit_gives_the_eager_weights_bit_for_bit(classes, dropout, make_opt):
    eager, h_eager = _run(False, classes, make_opt, dropout)
    compiled, h_compiled = _run(True, classes, make_opt, dropout)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert h_eager.history["loss"] == h_compiled.history["loss"]


def test_auto_falls_back_when_the_run_needs_outputs_or_the_model_cannot_compile():
    make = lambda p: optim.SGD(p, lr=0.1)  # noqa: E731
    eager, _ = _run(False, 2, make, False, metrics=("accuracy",))
    auto, history = _run("auto", 2, make, False, metrics=("accuracy",))
    for a, b in zip(eager.parameters(), auto.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert "accuracy" in history.history
    with pytest.raises(ValueError, match="training metrics"):
        _run(True, 2, make, False, metrics=("accuracy",))


class _Peek(nn.Module):
    """A layer whose forward reads a tensor's value in Python: a tracer cannot replay it."""

    def forward(self, x):
        return x * float(x.array.mean() > 0) + x


def test_a_custom_layer_trains_eagerly_under_auto():
    X, y = _data(2)

    def run(compile):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), _Peek(), nn.Linear(3, 1))
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            epochs=2,
            batch_size=16,
            seed=1,
            metrics=(),
            verbose=False,
            compile=compile,
        )
        return [p.array.copy() for p in model.parameters()]

    off, auto = run(False), run("auto")
    for a, b in zip(off, auto):
        np.testing.assert_array_equal(a, b)


def test_the_guard_still_stops_and_restores_weights_under_the_compiled_step():
    X, y = _data(2)
    X[50] = np.inf  # a batch after the first (the first runs eagerly)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(cr.NonFiniteError, match="input batch contains NaN or inf"):
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            batch_size=16,
            shuffle=False,
            metrics=(),
            verbose=False,
            compile=True,
        )
    assert all(np.isfinite(p.array).all() for p in model.parameters())


def test_bad_compile_values_are_refused():
    with pytest.raises(ValueError, match="compile"):
        _run("maybe", 2, lambda p: optim.SGD(p, lr=0.1), False)
