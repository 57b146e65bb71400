"""Callbacks: hook order, early stopping, checkpoints, CSV logs, learning-rate schedules."""

import copy
import csv
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
)


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] - X[:, 1] > 0).astype(np.int64)


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))


def _fit(model, callbacks, epochs=8, lr=0.1, **kw):
    X, y = _data()
    return cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=lr),
        epochs=epochs,
        batch_size=16,
        callbacks=callbacks,
        verbose=False,
        **kw,
    )


def _scripted(values):
    """A metric whose value at epoch i is values[i] (to steer monitors exactly)."""
    calls = []

    def scripted(y_true, y_pred):
        calls.append(1)
        return values[len(calls) - 1]

    return scripted


class _Weights(Callback):
    def __init__(self):
        super().__init__()
        self.at = []

    def on_epoch_end(self, epoch, logs=None):
        self.at.append(copy.deepcopy(self.model.state_dict()))  # entries are live views


def test_hooks_run_in_order_with_logs():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.params["epochs"], self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_batch_begin(self, batch, logs=None):
            calls.append(("batch_begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, list(logs)))

        def on_train_end(self, logs=None):
            calls.append(("train_end",))

    model = _model()
    _fit(model, [Recorder()], epochs=2, metrics=())
    batch = [
        ("batch_begin", 0),
        ("batch_end", 0, ["loss", "size"]),
        ("batch_begin", 1),
        ("batch_end", 1, ["loss", "size"]),
        ("batch_begin", 2),
        ("batch_end", 2, ["loss", "size"]),
    ]
    assert calls == [
        ("train_begin", 2, 3),
        ("epoch_begin", 0),
        *batch,
        ("epoch_end", 0, ["loss", "lr", "time"]),
        ("epoch_begin", 1),
        *batch,
        ("epoch_end", 1, ["loss", "lr", "time"]),
        ("train_end",),
    ]


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    stop = EarlyStopping(monitor="loss", patience=2)
    h = _fit(_model(), [stop], lr=0.0)  # lr 0: the loss never improves after epoch 0
    assert len(h) == 3 and stop.stopped_epoch == 2 and h.stopped_early
    stop = EarlyStopping(monitor="loss", patience=0)
    assert len(_fit(_model(), [stop], lr=0.0)) == 2
    # improvements smaller than min_delta do not count
    values = [1.0, 0.95, 0.92, 0.5, 0.49, 0.48, 0.47, 0.46]
    stop = EarlyStopping(monitor="scripted", patience=3, min_delta=0.1)
    h = _fit(_model(), [stop], metrics=[_scripted(values)])
    assert stop.best_epoch == 3 and len(h) == 7
    # mode "auto" maximises accuracy-like quantities
    assert EarlyStopping(monitor="val_accuracy").higher_is_better
    assert not EarlyStopping(monitor="val_loss").higher_is_better


def test_early_stopping_restores_the_best_weights():
    values = [5.0, 3.0, 4.0, 2.5, 2.6, 2.7, 2.8, 2.9]
    weights = _Weights()
    stop = EarlyStopping(monitor="scripted", patience=2, restore_best_weights=True)
    model = _model()
    h = _fit(model, [weights, stop], metrics=[_scripted(values)])
    assert len(h) == 6 and stop.best_epoch == 3
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, weights.at[3][name])
    assert not np.array_equal(weights.at[3]["0.weight"], weights.at[5]["0.weight"])


def test_monitoring_a_key_the_run_does_not_log_is_refused():
    with pytest.raises(ValueError, match="no validation data"):
        _fit(_model(), [EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError, match="logs loss, accuracy"):
        _fit(_model(), [ModelCheckpoint("x.safetensors", monitor="f1", save_best_only=True)])


def test_model_checkpoint_best_only(tmp_path):
    values = [5.0, 3.0, 4.0, 2.5, 2.6]
    weights = _Weights()
    path = str(tmp_path / "m-{epoch}-{scripted:.1f}.safetensors")
    ckpt = ModelCheckpoint(path, monitor="scripted", save_best_only=True)
    _fit(_model(), [weights, ckpt], epochs=5, metrics=[_scripted(values)])
    assert sorted(os.listdir(tmp_path)) == [
        "m-1-5.0.safetensors",
        "m-2-3.0.safetensors",
        "m-4-2.5.safetensors",
    ]
    loaded = cr.load(tmp_path / "m-4-2.5.safetensors")
    for name, value in loaded.state_dict().items():
        np.testing.assert_array_equal(value, weights.at[3][name])
    assert loaded.metadata["epoch"] == 4 and loaded.metadata["logs"]["scripted"] == 2.5
    # every epoch, one file name: the last epoch's weights
    ckpt = ModelCheckpoint(tmp_path / "last.safetensors")
    model = _model()
    _fit(model, [ckpt], epochs=3, validation_split=0.25)
    for name, value in cr.load(tmp_path / "last.safetensors").state_dict().items():
        np.testing.assert_array_equal(value, model.state_dict()[name])


def test_csv_logger_writes_every_epoch_exactly(tmp_path):
    path = tmp_path / "log.csv"
    h = _fit(_model(), [CSVLogger(path)], epochs=4, validation_split=0.25)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", *h.history]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    for key, values in h.history.items():
        assert [float(r[key]) for r in rows] == values  # every digit kept
    assert os.listdir(tmp_path) == ["log.csv"]  # no temporary files left behind
    _fit(_model(), [CSVLogger(path, append=True)], epochs=2, validation_split=0.25)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 1, 2]


def test_learning_rate_scheduler_sets_every_epoch():
    h = _fit(_model(), [LearningRateScheduler(lambda epoch: 0.1 * 0.5**epoch)], epochs=4)
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    h = _fit(_model(), [LearningRateScheduler(lambda epoch, lr: lr + 1)], epochs=3)
    assert h.history["lr"] == pytest.approx([1.1, 2.1, 3.1])
    with pytest.raises(ValueError, match="schedule returned -1"):
        _fit(_model(), [LearningRateScheduler(lambda epoch: -1)])


def test_lambda_callback_and_bad_callbacks():
    seen = []
    _fit(_model(), [LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))], epochs=3)
    assert seen == [0, 1, 2]
    with pytest.raises(TypeError, match="unknown hook"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="Callback objects"):
        _fit(_model(), [print])


class _StopAtBatch(Callback):
    """Stops training after batch ``batch`` of epoch ``epoch``; records what it is told."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.current = None
        self.batches, self.epoch_logs, self.train_end = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        self.batches.append((self.current, batch, logs["loss"], logs["size"]))
        if (self.current, batch) == self.at:
            self.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append((epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.train_end.append(dict(logs))


@pytest.mark.parametrize("epoch", [0, 1])
def test_stopping_from_on_batch_end_records_the_partial_epoch_as_keras(epoch):
    X, y = _data(50)  # batches of 16, 16, 16, 2
    stop = _StopAtBatch(epoch, 1)
    model = _model()
    h = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=5,
        batch_size=16,
        shuffle=False,
        validation_data=(X[:10], y[:10]),
        callbacks=[stop],
        verbose=False,
    )
    assert h.epoch == list(range(epoch + 1)) and h.stopped_early
    assert [e for e, _ in stop.epoch_logs] == h.epoch  # on_epoch_end ran for the stopped epoch
    logs = stop.epoch_logs[-1][1]
    assert logs == {k: v[-1] for k, v in h.history.items()} == stop.train_end[0]
    run = [(loss, n) for e, _, loss, n in stop.batches if e == epoch]
    assert len(run) == 2  # the epoch ended after the batch that asked
    assert logs["loss"] == pytest.approx(sum(loss * n for loss, n in run) / 32, rel=1e-12)
    # the metrics cover the 32 rows trained on; validation ran on the model as it stopped
    scores = cr.evaluate(model, (X[:10], y[:10]), nn.BCEWithLogitsLoss())
    assert logs["val_loss"] == pytest.approx(scores["loss"], rel=1e-6)
    assert set(logs) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}


def test_stopping_on_the_last_batch_of_the_last_epoch_is_not_early():
    X, y = _data()  # 48 rows: three batches
    h = _fit(_model(), [_StopAtBatch(1, 2)], epochs=2)
    assert h.epoch == [0, 1] and not h.stopped_early
