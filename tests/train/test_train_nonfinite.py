"""Non-finite values stop training in the batch where they appear, and say where and what."""

import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.function import Function
from chainrule.train.callbacks import Callback, LambdaCallback, ModelCheckpoint, TerminateOnNaN

N, BATCH, EPOCHS = 64, 8, 4
STEPS = N // BATCH


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 2))
    return X, (X[:, 0] > X[:, 1]).astype(np.int64)


class _Step(Callback):
    """Counts optimizer steps; runs ``action(model)`` after global step ``at`` (0-based)."""

    def __init__(self, at=None, action=None):
        super().__init__()
        self.count, self.at, self.action = 0, at, action
        self.before = None
        self.ended = False

    def on_batch_begin(self, batch, logs=None):
        self.before = self.model.state_dict()

    def on_batch_end(self, batch, logs=None):
        if self.count == self.at:
            self.action(self.model)
        self.count += 1

    def on_train_end(self, logs=None):
        self.ended = True


def _fit(model, X, y, callbacks=(), **kw):
    opt = kw.pop("opt", None) or optim.SGD(model.parameters(), lr=0.1)
    kw.setdefault("shuffle", False)
    return cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        opt,
        epochs=EPOCHS,
        batch_size=BATCH,
        callbacks=list(callbacks),
        verbose=False,
        **kw,
    )


def _where(step):
    return step // STEPS + 1, step % STEPS + 1  # epoch, batch, counted from 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_in_the_data_stops_at_the_batch_holding_it():
    rng = np.random.default_rng(1)
    for _ in range(20):
        X, y = _data()
        row = int(rng.integers(N))
        X[row, int(rng.integers(2))] = rng.choice([np.nan, np.inf, -np.inf])
        spy = _Step()
        with pytest.raises(cr.NonFiniteError) as info:
            _fit(nn.Sequential(nn.Linear(2, 1)), X, y, [spy])
        err = info.value
        assert (err.kind, err.epoch, err.batch) == ("loss", 1, row // BATCH + 1)
        assert f"epoch 1/{EPOCHS}, batch {row // BATCH + 1}/{STEPS}" in str(err)
        assert f"X row {row} holds" in str(err) and err.rows == [row]
        assert spy.ended  # on_train_end ran
        assert spy.count == row // BATCH  # no step after the bad batch


def test_nan_written_into_the_weights_is_caught_in_the_next_batch():
    rng = np.random.default_rng(2)
    for _ in range(20):
        X, y = _data()
        step = int(rng.integers(STEPS * EPOCHS - 1))

        def poison(model):
            model[0].weight.data[0, 1] = np.nan

        spy = _Step(step, poison)
        with pytest.raises(cr.NonFiniteError) as info:
            _fit(nn.Sequential(nn.Linear(2, 1)), X, y, [spy])
        err = info.value
        assert (err.kind, (err.epoch, err.batch)) == ("parameter", _where(step + 1))
        assert "'0.weight' contains NaN" in str(err)
        assert spy.ended


class _Bomb(nn.Module):
    """Passes its input through, except at training call ``at``: +inf in the forward output."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls - 1 == self.at:
                return x * float("inf")
        return x


class _BadGrad(Function):
    """Identity forward; backward gives NaN when ``flag[0]`` is set."""

    label = "bad"
    formulas = ("1",)

    def forward(self, x, flag):
        self.flag = flag
        return x

    def backward(self, grad):
        return (grad * np.nan if self.flag[0] else grad,)


class _GradBomb(nn.Module):
    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, x):
        flag = [self.training and self.calls == self.at]
        self.calls += self.training
        return _BadGrad.apply(x, flag=flag)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("where", ["forward", "backward"])
def test_inf_from_the_graph_at_a_random_step(where):
    rng = np.random.default_rng(3 if where == "forward" else 4)
    for _ in range(20):
        X, y = _data()
        step = int(rng.integers(STEPS * EPOCHS))
        bomb = _Bomb(step) if where == "forward" else _GradBomb(step)
        cr.manual_seed(0)
        if where == "forward":  # inf in the logits: the loss itself is inf or NaN
            model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), bomb)
        else:
            model = nn.Sequential(nn.Linear(2, 4), bomb, nn.Tanh(), nn.Linear(4, 1))
        spy = _Step()
        with pytest.raises(cr.NonFiniteError) as info:
            _fit(model, X, y, [spy], opt=optim.Adam(model.parameters(), lr=0.01))
        err = info.value
        kind = "loss" if where == "forward" else "gradient"
        assert (err.kind, (err.epoch, err.batch)) == (kind, _where(step))
        assert spy.count == step and spy.ended
        # the bad step was never taken: the weights are those from before the batch
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, spy.before[name], err_msg=name)
        if where == "backward":
            assert "gradient of '0.weight' contains NaN" in str(err)


def test_an_optimizer_step_that_overflows_is_a_parameter_error():
    X, y = _data()
    model = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(cr.NonFiniteError) as info, np.errstate(over="ignore"):
        _fit(model, X, y, opt=optim.SGD(model.parameters(), lr=1e39))
    assert (info.value.kind, info.value.epoch, info.value.batch) == ("parameter", 1, 1)
    assert "learning rate" in str(info.value)


def test_nonfinite_weights_before_training_are_refused():
    X, y = _data()
    model = nn.Sequential(nn.Linear(2, 1))
    model[0].bias.data[0] = np.inf
    with pytest.raises(cr.NonFiniteError, match="'0.bias' contains inf before training"):
        _fit(model, X, y)


def test_checkpoints_are_never_written_with_nonfinite_parameters(tmp_path):
    X, y = _data()

    def poison(model):
        model[0].weight.data[0, 0] = np.nan

    # check_finite on: the error comes before the epoch ends, so nothing is written after it
    path = str(tmp_path / "a-{epoch}.safetensors")
    model = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(cr.NonFiniteError):
        _fit(model, X, y, [_Step(STEPS + 2, poison), ModelCheckpoint(path, monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["a-1.safetensors"]
    assert all(
        np.isfinite(v).all() for v in cr.load(tmp_path / "a-1.safetensors").state_dict().values()
    )
    # check_finite off: training goes on with NaN weights; the checkpoint refuses to save them
    path = str(tmp_path / "b.safetensors")
    model = nn.Sequential(nn.Linear(2, 1))
    ckpt = ModelCheckpoint(path, monitor="loss")
    ended = []
    spy = LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        _fit(model, X, y, [_Step(STEPS + 2, poison), ckpt, spy], check_finite=False)
    assert ended == [True]
    assert ckpt.skipped_nonfinite == EPOCHS - 1
    saved = cr.load(path).state_dict()
    assert all(np.isfinite(v).all() for v in saved.values())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_quietly_when_checks_are_off():
    X, y = _data()

    def poison(model):
        model[0].weight.data[0, 0] = np.nan

    stop = TerminateOnNaN()
    h = _fit(
        nn.Sequential(nn.Linear(2, 1)), X, y, [_Step(STEPS + 2, poison), stop], check_finite=False
    )
    assert stop.terminated_at == 3  # epoch 2, batch 4: the first batch after the poison
    # as in Keras, the stopped epoch is recorded: its loss averages the four batches run
    assert h.epoch == [0, 1] and math.isfinite(h.history["loss"][0])
    assert math.isnan(h.history["loss"][1])
    assert h.stopped_early


class _Samples:
    """A Dataset that is not array-backed (fit cannot search it for the bad row)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def test_bad_data_is_named_by_its_row_in_the_users_arrays_not_the_shuffled_batch():
    X, y = _data()
    X[37, 1] = np.nan
    X[50, 0] = np.inf
    yf = y.astype(np.float64)  # float targets: the compiled step takes them
    for compile_ in (False, True):
        with pytest.raises(cr.NonFiniteError) as info:
            _fit(nn.Sequential(nn.Linear(2, 1)), X, yf, shuffle=True, seed=3, compile=compile_)
        err = info.value
        assert err.rows in ([37], [50])
        if err.rows == [37]:
            assert "X row 37 holds NaN in column 1 (1 other row holds NaN or inf too: [50])" in str(
                err
            )
        else:
            assert "X row 50 holds inf in column 0 (1 other row holds NaN or inf too: [37])" in str(
                err
            )
    yf[[5, 6]] = np.nan
    with pytest.raises(cr.NonFiniteError, match=r"y rows \[5, 6\] hold NaN; clean the data"):
        _fit(nn.Sequential(nn.Linear(2, 1)), X[:32], yf[:32])
    model = nn.Sequential(nn.Linear(2, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=8, shuffle=True)
    with pytest.raises(cr.NonFiniteError, match=r"X row (37|50) holds"):
        cr.fit(model, loader, nn.BCEWithLogitsLoss(), opt, verbose=False)
    # a Dataset fit cannot search: the rows of the batch, said to be so
    with pytest.raises(cr.NonFiniteError, match=r"rows \[\d\] of the batch"):
        cr.fit(model, _Samples(X, y), nn.BCEWithLogitsLoss(), opt, batch_size=8, verbose=False)


def test_bad_validation_rows_are_named():
    X, y = _data()
    X[60, 0] = np.nan
    with pytest.raises(cr.NonFiniteError, match=r"validation loss is nan .*; X row 60 holds NaN"):
        _fit(nn.Sequential(nn.Linear(2, 1)), X, y, validation_split=0.25)
    Xv = X[:10].copy()
    Xv[[2, 4], 1] = np.inf
    with pytest.raises(cr.NonFiniteError, match=r"validation X rows \[2, 4\] hold inf"):
        _fit(nn.Sequential(nn.Linear(2, 1)), X[:48], y[:48], validation_data=(Xv, y[:10]))
