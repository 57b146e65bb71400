"""cr.fit(compile=...): the compiled step gives the eager weights, bit for bit, and falls back."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.function import Function


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


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("compile", ["auto", True])
def test_training_metrics_compile_and_equal_the_eager_metrics(classes, compile):
    make = lambda p: optim.SGD(p, lr=0.1, momentum=0.9)  # noqa: E731
    metrics = ("accuracy", "f1") if classes == 2 else ("accuracy",)
    eager, h_eager = _run(False, classes, make, True, metrics=metrics)
    compiled, h_compiled = _run(compile, classes, make, True, metrics=metrics)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    for key in ("loss", *metrics):  # the metrics read the compiled step's outputs
        assert h_compiled.history[key] == h_eager.history[key]
    assert (h_compiled.compiled_steps, h_compiled.eager_steps) == (18, 0)
    assert h_compiled.compile_reason is None
    assert (h_eager.compiled_steps, h_eager.eager_steps) == (0, 18)
    assert h_eager.compile_reason == "compile=False"


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
    with pytest.raises(cr.NonFiniteError, match="X row 50 holds inf"):
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


def _weighted_ce_run(compile, **kw):
    """Class-index CE with class weights: an array option the compiled step cannot take."""
    X, y = _data(3)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    start = [p.array.copy() for p in model.parameters()]
    loss = nn.CrossEntropyLoss(weight=cr.tensor(np.array([1.0, 2.0, 0.5], np.float32)))
    history = cr.fit(
        model,
        (X, y),
        loss,
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        epochs=3,
        batch_size=16,
        seed=1,
        metrics=(),
        verbose=False,
        compile=compile,
        **kw,
    )
    return model, start, history


def test_a_loss_that_cannot_compile_trains_eagerly_under_auto_and_is_refused_under_true():
    off, _, h_off = _weighted_ce_run(False)
    auto, _, h_auto = _weighted_ce_run("auto")
    for a, b in zip(off.parameters(), auto.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert h_off.history["loss"] == h_auto.history["loss"]
    assert h_auto.eager_steps == 18 and h_auto.compiled_steps == 0
    assert "op CrossEntropy gets option q=" in h_auto.compile_reason  # found on the first batch
    X, y = _data(3)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    before = [p.array.copy() for p in model.parameters()]
    weighted = nn.CrossEntropyLoss(weight=cr.tensor(np.array([1.0, 2.0, 0.5], np.float32)))
    with pytest.raises(cr.GraphError, match=r"cannot be compiled: .*op CrossEntropy.*option q="):
        cr.fit(
            model,
            (X, y),
            weighted,
            optim.SGD(model.parameters(), lr=0.1),
            metrics=(),
            verbose=False,
            compile=True,
        )
    for a, b in zip(before, model.parameters()):  # refused before the first step
        np.testing.assert_array_equal(a, b.array)


class _WatchEveryForward(cr.callbacks.Callback):
    """Watches every step's forward pass and does not say per step (no wants_forward)."""

    needs_forward = True

    def on_train_begin(self, logs=None):
        self.seen = 0
        model = self.model

        def watched(x, _forward=model.forward):
            self.seen += 1
            return _forward(x)

        object.__setattr__(model, "forward", watched)

    def on_train_end(self, logs=None):
        self.model.__dict__.pop("forward", None)


def test_a_callback_that_watches_every_forward_pass_keeps_eager_steps():
    make = lambda p: optim.Adam(p, lr=0.01)  # noqa: E731
    eager, _ = _run(False, 2, make, True)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))
    watch = _WatchEveryForward()
    history = cr.fit(
        model,
        _data(2),
        nn.BCEWithLogitsLoss(),
        make(model.parameters()),
        epochs=3,
        batch_size=16,
        seed=1,
        metrics=(),
        callbacks=[watch],
        verbose=False,
    )
    for a, b in zip(eager.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert watch.seen == 18  # every step called forward: all eager
    assert (history.compiled_steps, history.eager_steps) == (0, 18)
    assert "_WatchEveryForward watches the forward pass of every step" in history.compile_reason
    with pytest.raises(ValueError, match="_WatchEveryForward watches the forward pass"):
        cr.fit(
            model,
            _data(2),
            nn.BCEWithLogitsLoss(),
            make(model.parameters()),
            metrics=(),
            callbacks=[_WatchEveryForward()],
            verbose=False,
            compile=True,
        )


class _NaNGradAbove(Function):
    """Identity forward; its derivative is NaN where the input exceeds 1e3 (read from data,
    so the compiled step reproduces it)."""

    label = "nan-above"
    formulas = ("1",)

    def forward(self, x):
        self.x = x
        return x

    def backward(self, grad):
        return (np.where(self.x > 1e3, np.float32(np.nan), grad),)


class _NaNGradLayer(nn.Module):
    def forward(self, x):
        return _NaNGradAbove.apply(x)


def _failing_run(compile, case):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.float32)
    cr.manual_seed(0)
    layers = [nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)]
    lr = 0.1
    if case == "loss":
        X[37, 1] = np.nan
    elif case == "gradient":
        X[45] = 1e6  # finite loss (tanh saturates), NaN derivative in batch 6
        layers.insert(1, _NaNGradLayer())
    else:
        lr = 1e39  # the first update overflows
    model = nn.Sequential(*layers)
    with pytest.raises(cr.NonFiniteError) as info, np.errstate(all="ignore"):
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            optim.SGD(model.parameters(), lr=lr, momentum=0.9),
            epochs=2,
            batch_size=8,
            shuffle=False,
            metrics=(),
            verbose=False,
            compile=compile,
        )
    return model, info.value


@pytest.mark.parametrize("case", ["loss", "gradient", "parameter"])
def test_the_guard_under_the_compiled_step_stops_as_the_eager_step_does(case):
    eager, err_eager = _failing_run(False, case)
    compiled, err_compiled = _failing_run(True, case)
    assert err_compiled.kind == err_eager.kind == case
    assert (err_compiled.stage, err_compiled.epoch, err_compiled.batch) == (
        err_eager.stage,
        err_eager.epoch,
        err_eager.batch,
    )
    assert str(err_compiled) == str(err_eager)
    # the same weights: the step eager never took is undone; an overflowing update stays
    for a, b in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    finite = all(np.isfinite(p.array).all() for p in compiled.parameters())
    assert finite == (case != "parameter")


def test_auto_takes_the_compiled_step_only_when_the_run_allows_it(monkeypatch):
    import chainrule.train.fit as fit_module

    calls = []
    eager_step = fit_module.train_step

    def counting(*args, **kw):
        calls.append(1)
        return eager_step(*args, **kw)

    monkeypatch.setattr(fit_module, "train_step", counting)
    make = lambda p: optim.SGD(p, lr=0.1)  # noqa: E731
    _run("auto", 2, make, True)
    assert calls == []  # 3 epochs of 6 batches, none eager
    _run("auto", 2, make, True, metrics=("accuracy",))
    assert calls == []  # the training metrics read the compiled step's outputs
    X, y = _data(2)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), _Peek(), nn.Linear(3, 1))
    history = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        batch_size=16,
        verbose=False,
    )
    assert len(calls) == 18  # a custom layer: every step eager, and the reason kept
    assert (history.compiled_steps, history.eager_steps) == (0, 18)
    assert history.compile_reason.startswith("_Peek not chainrule's own")


@pytest.mark.parametrize("compile", ["auto", True])
def test_a_model_that_fails_on_the_first_batch_raises_its_own_error(compile):
    model = nn.Sequential(nn.Linear(3, 2))
    X, y = np.ones((16, 4), np.float32), np.zeros(16, np.int64)
    with pytest.raises(cr.ShapeError, match=r"Linear\(in_features=3\) got input of shape"):
        cr.fit(
            model,
            (X, y),
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            metrics=(),
            verbose=False,
            compile=compile,
        )
