"""Keras habits that ``fit`` ignored silently: ``self.model.stop_training = True`` in a
callback (training went on to the last epoch) and ``verbose=2`` (a progress bar instead of
one line per epoch; any other value showed one too)."""

import io
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _run(callbacks=(), epochs=10, **options):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(np.float64)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    opt = optim.SGD(model.parameters(), lr=0.1)
    options.setdefault("verbose", False)
    history = cr.fit(
        model, (X, y), nn.BCEWithLogitsLoss(), opt, epochs=epochs, batch_size=16,
        callbacks=list(callbacks), **options,
    )  # fmt: skip
    return model, history


class StopModelAtEpoch(cr.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.model.stop_training = True


class StopModelAtBatch(cr.callbacks.Callback):
    def on_batch_end(self, batch, logs=None):
        if batch == 1:
            self.model.stop_training = True


def test_model_stop_training_ends_the_run_after_the_epoch():
    model, history = _run([StopModelAtEpoch()])
    assert history.epoch == [0, 1]
    assert history.stopped_early


def test_model_stop_training_from_a_batch_hook_ends_the_epoch_there():
    model, history = _run([StopModelAtBatch()])
    assert history.epoch == [0]  # the stopped epoch is recorded, as in Keras
    assert history.stopped_early


def test_a_stale_model_stop_training_does_not_stop_the_next_run():
    model, _ = _run([StopModelAtEpoch()])
    assert model.stop_training is True
    opt = optim.SGD(model.parameters(), lr=0.1)
    X = np.zeros((8, 3))
    history = cr.fit(model, (X, np.zeros(8)), nn.BCEWithLogitsLoss(), opt, epochs=3, verbose=False)
    assert history.epoch == [0, 1, 2]


def test_verbose_2_prints_one_line_per_epoch(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True  # "auto" would draw a bar here

    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    _run(epochs=3, verbose=2)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) == 3 and all(line.startswith("Epoch") for line in lines)
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


@pytest.mark.parametrize("verbose", ["quiet", "silent", 3, 0.5])
def test_an_unknown_verbose_value_is_refused(verbose):
    with pytest.raises(ValueError, match="verbose must be"):
        _run(epochs=1, verbose=verbose)
