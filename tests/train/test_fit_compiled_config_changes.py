"""A callback that changes a module's mode or settings while ``fit`` trains with a compiled
step (the default, ``compile="auto"``): freezing a BatchNorm with ``.eval()``, a dropout
schedule, a LeakyReLU slope, a loss's ``pos_weight``. The traced step went on with the old
ones, and the weights silently differed from an eager run; it is now traced again (or the run
turns eager where the new setting does not compile), and both runs end with the same bits."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 3))
    return X, (X[:, 0] > 0).astype(np.float64)


class AtEpoch(cr.callbacks.Callback):
    def __init__(self, change):
        super().__init__()
        self.change = change

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.change(self.model, self.params["loss_fn"])


class AtBatch(AtEpoch):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.epoch == 0 and batch == 2:
            self.change(self.model, self.params["loss_fn"])


def _set(obj, name, value):
    setattr(obj, name, value)


CASES = {
    "dropout p": (lambda: nn.Dropout(0.5), lambda m, loss: _set(m[1], "p", 0.0)),
    "batchnorm eval": (lambda: nn.BatchNorm1d(8), lambda m, loss: m[1].eval()),
    "leaky slope": (lambda: nn.LeakyReLU(0.01), lambda m, loss: _set(m[1], "negative_slope", 0.3)),
    "pos_weight": (
        lambda: nn.Tanh(),
        lambda m, loss: _set(loss, "pos_weight", cr.tensor([3.0], dtype="float64")),
    ),
}


def _run(middle, callback, compile):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), middle(), nn.Linear(8, 1)).double()
    history = cr.fit(model, _data(), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
                     epochs=3, batch_size=16, seed=0, verbose=False, callbacks=[callback],
                     compile=compile)  # fmt: skip
    state = {k: np.asarray(v) for k, v in model.state_dict().items()}
    return state, history


@pytest.mark.parametrize("hook", [AtEpoch, AtBatch])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_run_follows_a_change_made_by_a_callback(case, hook):
    middle, change = CASES[case]
    eager, _ = _run(middle, hook(change), False)
    compiled, history = _run(middle, hook(change), "auto")
    assert history.compiled_steps > 0
    for name, value in eager.items():
        np.testing.assert_array_equal(compiled[name], value, err_msg=name)


def test_a_run_without_changes_stays_compiled_throughout():
    _, history = _run(lambda: nn.Dropout(0.5), AtEpoch(lambda m, loss: None), "auto")
    assert history.compiled_steps == 18 and history.eager_steps == 0
