"""``callbacks=[BackupAndRestore(path), EarlyStopping(...)]``: the backup, called first at the
end of an epoch, saved early stopping's state of the epoch before; a run interrupted and
resumed stopped at another epoch, with other weights, than the uninterrupted run. A resumed
``CSVLogger`` rewrote its file with the resumed epochs only. The backup now runs after every
other callback whatever the order given, and the logger's rows are part of its state."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


class InterruptAfter(cr.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _run(tmp_path, backup_first, extra=()):
    tmp_path.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.float64)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).double()
    stop = cr.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    backup = cr.callbacks.BackupAndRestore(tmp_path / "backup.safetensors")
    log = cr.callbacks.CSVLogger(tmp_path / "log.csv")
    callbacks = [backup, stop, log] if backup_first else [stop, log, backup]
    history = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=3.0),
                     epochs=40, seed=0, validation_split=0.25, verbose=False,
                     callbacks=[*callbacks, *extra])  # fmt: skip
    return history, [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("backup_first", [True, False])
def test_a_resumed_run_stops_where_the_uninterrupted_one_does(tmp_path, backup_first):
    whole, weights = _run(tmp_path / "whole", backup_first)
    assert whole.stopped_early and len(whole.epoch) > 4
    for at in range(1, len(whole.epoch) - 1):
        folder = tmp_path / f"at{at}"
        with pytest.raises(KeyboardInterrupt):
            _run(folder, backup_first, [InterruptAfter(at)])
        resumed, resumed_weights = _run(folder, backup_first)
        assert resumed.epoch == whole.epoch, at
        assert resumed.history["val_loss"] == whole.history["val_loss"], at
        for a, b in zip(resumed_weights, weights):
            np.testing.assert_array_equal(a, b)
        rows = (folder / "log.csv").read_text().splitlines()
        assert [r.split(",")[0] for r in rows[1:]] == [str(e + 1) for e in whole.epoch], at
