"""train_step, its finite-value guard and the callback list: the one step fit and the playground
share."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.callback_list import CallbackList
from chainrule.train.callbacks import Callback, LambdaCallback
from chainrule.train.guard import FiniteGuard
from chainrule.train.step import train_step


def _xor_model(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))


def test_train_step_is_the_hand_written_loop():
    X, y = cr.datasets.xor()
    X = X.astype(np.float32)
    target = y.reshape(-1, 1).astype(np.float32)
    by_hand, stepped = _xor_model(), _xor_model()
    opt_a = optim.SGD(by_hand.parameters(), lr=0.5, momentum=0.9)
    opt_b = optim.SGD(stepped.parameters(), lr=0.5, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(5):
        opt_a.zero_grad()
        loss = loss_fn(by_hand(cr.tensor(X)), cr.tensor(target))
        loss.backward()
        opt_a.step()
        result = train_step(stepped, loss_fn, opt_b, X, y, guard=FiniteGuard(stepped))
        assert result.loss == pytest.approx(float(loss.item()), abs=0)
        assert result.output.shape == (4, 1)
    for a, b in zip(by_hand.parameters(), stepped.parameters()):
        np.testing.assert_array_equal(a.array, b.array)


def test_guard_stops_at_a_nan_input_before_backward():
    X, y = cr.datasets.xor()
    X = X.astype(np.float32)
    X[2, 1] = np.nan
    model = _xor_model()
    before = [p.array.copy() for p in model.parameters()]
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        cr.NonFiniteError, match=r"input batch contains NaN or inf \(rows \[2\]"
    ) as e:
        train_step(model, nn.BCEWithLogitsLoss(), opt, X, y, guard=FiniteGuard(model))
    assert (e.value.kind, e.value.stage) == ("loss", "loss") and math.isnan(e.value.value)
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.array, old)
        assert p.grad_array is None  # backward never ran


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN is the point
def test_guard_stops_at_a_nan_gradient_and_names_the_parameter():
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.array.copy()

    def sqrt_loss(out, target):  # d/dx sqrt(x) at 0 is inf; the loss itself is finite (0)
        return ((out - target) * 0.0).abs().sqrt().sum()

    with pytest.raises(cr.NonFiniteError, match="gradient of '(weight|bias)'") as e:
        train_step(
            model,
            sqrt_loss,
            opt,
            np.ones((2, 1), "float32"),
            np.ones((2, 1), "float32"),
            guard=FiniteGuard(model),
        )
    assert (e.value.kind, e.value.stage) == ("gradient", "gradient")
    np.testing.assert_array_equal(model.weight.array, before)  # the step was not taken


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_guard_with_restore_undoes_an_update_that_overflows():
    model = nn.Linear(1, 1, dtype="float64")
    model.weight.array[...] = 1e308
    model.bias.array[...] = 0.0
    opt = optim.SGD(model.parameters(), lr=1e308)  # w - lr * grad = 1e308 + 1e308 = inf
    before = [p.array.copy() for p in model.parameters()]
    x = np.array([[1.0]])
    with pytest.raises(cr.NonFiniteError, match="learning rate") as e:
        train_step(
            model, lambda out, t: -out.sum(), opt, x, x, guard=FiniteGuard(model, restore=True)
        )
    assert e.value.stage == "update"
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.array, old)


def test_fit_reports_the_guard_error_with_epoch_and_batch():
    X, y = cr.datasets.xor()
    X = X.astype(np.float32)
    X[3, 0] = np.nan
    model = _xor_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(cr.NonFiniteError, match=r"epoch 1/2, batch 2/2: .*X row 3 holds NaN") as e:
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            opt,
            epochs=2,
            batch_size=2,
            shuffle=False,
            verbose=False,
        )
    assert (e.value.kind, e.value.epoch, e.value.batch) == ("loss", 1, 2)


class _Recorder(Callback):
    def __init__(self, name, calls):
        super().__init__()
        self.name, self.calls = name, calls

    def on_train_begin(self, logs=None):
        self.calls.append((self.name, "train_begin"))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append((self.name, "epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append((self.name, "batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append((self.name, "batch_end", batch, logs["size"]))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append((self.name, "epoch_end", epoch))

    def on_train_end(self, logs=None):
        self.calls.append((self.name, "train_end"))


def test_fit_calls_callbacks_in_order_and_in_the_order_given():
    X, y = cr.datasets.xor()
    calls = []
    cbs = [_Recorder("a", calls), _Recorder("b", calls)]
    model = _xor_model()
    cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=3,
        shuffle=False,
        verbose=False,
        callbacks=cbs,
    )
    expected = [("a", "train_begin"), ("b", "train_begin")]
    for epoch in range(2):
        expected += [("a", "epoch_begin", epoch), ("b", "epoch_begin", epoch)]
        for batch, size in ((0, 3), (1, 1)):
            expected += [("a", "batch_begin", batch), ("b", "batch_begin", batch)]
            expected += [("a", "batch_end", batch, size), ("b", "batch_end", batch, size)]
        expected += [("a", "epoch_end", epoch), ("b", "epoch_end", epoch)]
    expected += [("a", "train_end"), ("b", "train_end")]
    assert calls == expected


def test_callback_list_sends_batch_hooks_only_to_callbacks_that_override_them():
    seen = []
    epoch_only = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)))
    batch_cb = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(("batch", batch)))
    cbs = CallbackList([epoch_only, batch_cb])
    assert cbs.has_batch_hooks and len(cbs) == 2
    cbs.on_batch_end(0, {"loss": 1.0, "size": 1})
    cbs.on_epoch_end(0, {})
    assert seen == [("batch", 0), ("epoch", 0)]
    batch_cb.stop_training = True
    assert cbs.stop_after_batch() and cbs.stop_training
    with pytest.raises(TypeError, match="playground: callbacks must be Callback objects"):
        CallbackList([object()], owner="playground")


@pytest.mark.parametrize(
    "settings",
    [
        {"dataset": "moons", "loss": "bce", "optimizer": "sgd", "momentum": 0.9},
        {"dataset": "blobs", "loss": "ce", "optimizer": "adam", "lr": 0.05},
    ],
)
def test_fit_and_the_playground_take_the_same_steps(settings):
    pytest.importorskip("chainrule.playground.session")
    from chainrule.playground.session import Session
    from chainrule.playground.validation import validate_config

    cfg = validate_config({"validation": 0.0, "batch_size": 16, "seed": 3, **settings})
    played, fitted = Session(cfg), Session(cfg)
    for _ in range(3):
        played.step_epoch()
    steps = played.step_count
    history = cr.fit(
        fitted.model,
        (fitted.X, fitted.targets(fitted.y)),
        fitted.loss_fn,
        fitted.optimizer,
        epochs=3,
        batch_size=cfg.batch_size,
        metrics=(),
        verbose=False,
        generator=cr.Generator(cfg.seed),
    )
    assert steps == 3 * played.steps_per_epoch and len(history.history["loss"]) == 3
    for (name, a), (_, b) in zip(played.model.named_parameters(), fitted.model.named_parameters()):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


def test_playground_step_calls_its_callbacks():
    from chainrule.playground.session import Session
    from chainrule.playground.validation import validate_config

    calls = []
    cfg = validate_config({"dataset": "xor", "batch_size": 2, "validation": 0.0})
    session = Session(cfg, callbacks=[_Recorder("p", calls)])
    session.step_epoch()
    assert calls == [
        ("p", "epoch_begin", 0),
        ("p", "batch_begin", 0),
        ("p", "batch_end", 0, 2),
        ("p", "batch_begin", 1),
        ("p", "batch_end", 1, 2),
        ("p", "epoch_end", 0),
    ]
