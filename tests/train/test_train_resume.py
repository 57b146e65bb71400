"""BackupAndRestore: a run killed at any epoch and started again ends bit-identical."""

import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.callbacks import BackupAndRestore, Callback, EarlyStopping

EPOCHS = 6


class _Kill(Callback):
    """Simulates a crash in the middle of epoch ``epoch`` (after its second batch), or with
    ``stop``, a callback that stops training there."""

    def __init__(self, epoch, stop=False):
        super().__init__()
        self.epoch = epoch
        self.stop = stop
        self.current = None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            if self.stop:
                self.stop_training = True
            else:
                raise KeyboardInterrupt("killed")


def _data():
    X, y = cr.datasets.moons(n=200, noise=0.25, seed=1)
    return X, y


def _run(path, kill=None, data=None, seed_kw=None, graceful=False):
    """The same script, start to end: seed, build, fit with a backup file."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    stop = EarlyStopping(monitor="val_loss", patience=EPOCHS, restore_best_weights=True)
    callbacks = [stop, BackupAndRestore(path)]
    if kill is not None:
        callbacks.insert(0, _Kill(kill, graceful))
    X, y = data or _data()
    h = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        opt,
        epochs=EPOCHS,
        batch_size=16,
        validation_split=0.2,
        scheduler=sched,
        callbacks=callbacks,
        verbose=False,
        **(seed_kw or {}),
    )
    h.resumed_epoch = callbacks[-1].resumed_epoch
    return model, h


@pytest.mark.parametrize("seed_kw", [{}, {"seed": 5}])
def test_resume_after_a_crash_is_bit_identical(tmp_path, seed_kw):
    reference, h_ref = _run(tmp_path / "ref.safetensors", seed_kw=seed_kw)
    for kill in (0, 2, 5):
        path = tmp_path / f"run{kill}.safetensors"
        with pytest.raises(KeyboardInterrupt):
            _run(path, kill=kill, seed_kw=seed_kw)
        cr.manual_seed(99)  # the crash left the global generator elsewhere
        model, h = _run(path, seed_kw=seed_kw)
        assert h.epoch == list(range(EPOCHS))
        assert h.resumed_epoch == (kill or None)
        for key in ("loss", "val_loss", "accuracy", "lr"):
            assert h.history[key] == h_ref.history[key], (kill, key)
        for name, value in model.state_dict().items():
            assert value.tobytes() == reference.state_dict()[name].tobytes(), (kill, name)


def test_resume_with_other_data_is_refused(tmp_path):
    path = tmp_path / "b.safetensors"
    with pytest.raises(KeyboardInterrupt):
        _run(path, kill=2)
    X, y = _data()
    X = X.copy()
    X[0, 0] += 1.0
    with pytest.raises(ValueError, match="different data sha256"):
        _run(path, data=(X, y))
    # a finished run resumed again trains no further epochs and keeps its history
    _run(path)
    model, h = _run(path)
    assert len(h) == EPOCHS


def test_an_epoch_stopped_by_a_callback_is_recorded_but_not_backed_up(tmp_path):
    reference, h_ref = _run(tmp_path / "ref.safetensors")
    path = tmp_path / "run.safetensors"
    _, h = _run(path, kill=2, graceful=True)
    assert h.epoch == [0, 1, 2] and h.stopped_early  # the stopped epoch is in the history
    assert h.history["loss"][:2] == h_ref.history["loss"][:2]
    assert h.history["loss"][2] != h_ref.history["loss"][2]  # two batches of ten
    model, h = _run(path)  # resumes after epoch 1, the last complete one
    assert h.resumed_epoch == 2 and h.epoch == list(range(EPOCHS))
    assert h.history["val_loss"] == h_ref.history["val_loss"]
    for name, value in model.state_dict().items():
        assert value.tobytes() == reference.state_dict()[name].tobytes(), name
