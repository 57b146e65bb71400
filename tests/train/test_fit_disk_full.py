"""A full disk while ``fit`` writes its checkpoints: the error was a bare ``[Errno 28] No space
left on device`` naming no file. It now names the file and says the one there is unchanged;
the previous checkpoint stays whole and loads, and a backup run resumes from it."""

import errno
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import atomic


def _data():
    X = np.random.default_rng(0).normal(size=(40, 3))
    return X, (X[:, 0] > 0).astype(np.float64)


class FullAt(cr.callbacks.Callback):
    """Makes every fsync fail from the start of epoch ``epoch`` on."""

    def __init__(self, epoch, patch):
        super().__init__()
        self.epoch, self.patch = epoch, patch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:

            def full(fd):
                raise OSError(errno.ENOSPC, "No space left on device")

            self.patch.setattr(atomic.os, "fsync", full)


def _fit(callbacks, epochs=4):
    cr.manual_seed(0)
    model = nn.Linear(3, 1).double()
    return model, cr.fit(model, _data(), nn.BCEWithLogitsLoss(),
                         optim.SGD(model.parameters(), lr=0.1), epochs=epochs, seed=0,
                         verbose=False, callbacks=callbacks)  # fmt: skip


def test_checkpoint_on_a_full_disk_names_the_file_and_keeps_the_last_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(OSError, match=r"cannot write '.*ckpt.safetensors': No space left") as e:
        _fit([FullAt(2, monkeypatch), cr.callbacks.ModelCheckpoint(path, monitor="loss")])
    assert e.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert cr.load(path).metadata["epoch"] == 2  # the last epoch written before the disk filled
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]  # no temporary file left


def test_backup_on_a_full_disk_resumes_from_the_last_complete_backup(tmp_path, monkeypatch):
    path = tmp_path / "backup.safetensors"
    with pytest.raises(OSError, match="backup.safetensors"):
        _fit([FullAt(3, monkeypatch), cr.callbacks.BackupAndRestore(path)])
    monkeypatch.undo()
    model, history = _fit([cr.callbacks.BackupAndRestore(path)])
    whole, expected = _fit([])
    assert history.history["loss"] == expected.history["loss"]
    np.testing.assert_array_equal(model.weight.detach().numpy(), whole.weight.detach().numpy())
